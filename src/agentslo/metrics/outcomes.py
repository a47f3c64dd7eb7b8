"""The effective outcome of each run, as a backend-agnostic Ibis expression.

A run may collect several outcomes (the agent's claim at the end, a judge an hour
later, a human review next week, an environment check). The effective outcome is
the one from the most trusted source among those counted (verified > human >
judge > claimed); among outcomes of that source, the latest recorded wins. With
``as_of`` set, outcomes recorded after that instant are ignored, so a report or an
SLO evaluated "as of" a moment is reproducible even when late verdicts arrive.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import ibis

from agentslo.model import OUTCOME_SOURCES, SOURCE_TRUST, to_utc_naive

__all__ = [
    "ALL_SOURCES",
    "TRUSTED_SOURCES",
    "check_sources",
    "effective_outcomes",
    "runs_with_outcome",
]

#: Sources an SLO counts by default: someone other than the agent checked the result.
TRUSTED_SOURCES: Final = ("verified", "human")
ALL_SOURCES: Final = OUTCOME_SOURCES


def check_sources(sources: Sequence[str]) -> tuple[str, ...]:
    """Validate a list of outcome sources; raise ``ValueError`` naming the bad one."""
    out = tuple(dict.fromkeys(sources))
    for source in out:
        if source not in SOURCE_TRUST:
            raise ValueError(
                f"unknown outcome source {source!r}; allowed: {', '.join(OUTCOME_SOURCES)}"
            )
    if not out:
        raise ValueError(f"no outcome source given; allowed: {', '.join(OUTCOME_SOURCES)}")
    return out


def _trust_rank(source: Any) -> Any:
    return source.cases(*SOURCE_TRUST.items(), else_=99)


def effective_outcomes(
    outcomes: Any, *, sources: Sequence[str] = TRUSTED_SOURCES, as_of: datetime | None = None
) -> Any:
    """One row per (project, run_id): the effective outcome among ``sources``.

    Columns: project, run_id, label, score, source, recorded_at.
    """
    sources = check_sources(sources)
    o = outcomes.filter(outcomes.source.isin(sources))
    if as_of is not None:
        o = o.filter(o.recorded_at <= ibis.literal(to_utc_naive(as_of)))
    o = o.mutate(_rank=_trust_rank(o.source))
    window = ibis.window(
        group_by=[o.project, o.run_id],
        order_by=[o._rank, ibis.desc(o.recorded_at), ibis.desc(o.outcome_id)],
    )
    ranked = o.mutate(_n=ibis.row_number().over(window))
    return ranked.filter(ranked._n == 0).select(
        "project", "run_id", "label", "score", "source", "recorded_at"
    )


def runs_with_outcome(
    runs: Any,
    outcomes: Any,
    *,
    sources: Sequence[str] = TRUSTED_SOURCES,
    as_of: datetime | None = None,
) -> Any:
    """Runs with their effective outcome and the agent's own claim, one row per run.

    Adds to every column of ``runs``:

    - ``outcome_label``, ``outcome_source``: the effective outcome among ``sources``
      (null when none has arrived yet);
    - ``success``: 1 / 0 when there is an effective outcome (``partial`` is not a
      success), null otherwise;
    - ``claimed``: 1 / 0 from the agent's latest ``claimed`` outcome, null if none;
    - ``duration_s``: ``ended_at - started_at`` in seconds (null while unfinished).
    """
    eff = effective_outcomes(outcomes, sources=sources, as_of=as_of)
    claims = effective_outcomes(outcomes, sources=("claimed",), as_of=as_of)
    eff = eff.select(
        _ep=eff.project,
        _er=eff.run_id,
        outcome_label=eff.label,
        outcome_source=eff.source,
    )
    claims = claims.select(_cp=claims.project, _cr=claims.run_id, _claim_label=claims.label)
    joined = runs.left_join(eff, [runs.project == eff._ep, runs.run_id == eff._er])
    joined = joined.left_join(claims, [joined.project == claims._cp, joined.run_id == claims._cr])
    duration_us = joined.ended_at.delta(joined.started_at, unit="microsecond")
    return joined.mutate(
        success=ibis.ifelse(
            joined.outcome_label.isnull(),
            ibis.null("int64"),
            (joined.outcome_label == "success").cast("int64"),
        ),
        claimed=ibis.ifelse(
            joined._claim_label.isnull(),
            ibis.null("int64"),
            (joined._claim_label == "success").cast("int64"),
        ),
        duration_s=duration_us.cast("float64") / 1e6,
    ).drop("_ep", "_er", "_cp", "_cr", "_claim_label")
