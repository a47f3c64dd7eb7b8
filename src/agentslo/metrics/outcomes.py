"""The effective outcome of each run, as a backend-agnostic Ibis expression.

A run may collect several outcomes (the agent's claim at the end, a judge an hour
later, a human review next week, an environment check). The effective outcome is
the one from the most trusted source among those counted (verified > human >
judge > claimed); among outcomes of that source, the latest recorded wins; and if
two of them were recorded at the same instant, the more pessimistic label wins
(failure, then partial, then success), so a tie can never flatter the agent. With
``as_of`` set, outcomes recorded after that instant are ignored, so a report or an
SLO evaluated "as of" a moment is reproducible even when late verdicts arrive.

The rule is the ordering key of :mod:`agentslo.store.outcome_index`: per run and
source the smallest key, then the smallest over the counted sources. Over a store,
the per-run keys are read from the ``run_outcomes`` index the writer maintains; on
raw tables (Spark, Parquet, or ``as_of`` in the past) they are computed from the
outcomes with the same expression.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import ibis

from agentslo.model import OUTCOME_SOURCES, SOURCE_TRUST, to_utc_naive
from agentslo.store.outcome_index import (
    INDEX_COLUMNS,
    LABEL_RANK,
    SOURCE_UNIT,
    index_rows,
    ordering_key,
)

__all__ = [
    "ALL_SOURCES",
    "TRUSTED_SOURCES",
    "check_sources",
    "effective_outcomes",
    "outcome_index",
    "runs_with_index",
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


def outcome_index(outcomes: Any, *, as_of: datetime | None = None) -> Any:
    """Per-run best key per source, computed from raw outcomes (like ``run_outcomes``)."""
    if as_of is not None:
        outcomes = outcomes.filter(outcomes.recorded_at <= ibis.literal(to_utc_naive(as_of)))
    return index_rows(outcomes)


def effective_outcomes(
    outcomes: Any, *, sources: Sequence[str] = TRUSTED_SOURCES, as_of: datetime | None = None
) -> Any:
    """One row per (project, run_id): the whole effective outcome row among ``sources``.

    Columns: project, run_id, label, score, source, evaluator, recorded_at, evidence.
    Use it where the outcome's score or evidence is needed; metrics that need only
    the label use the per-run keys.
    """
    sources = check_sources(sources)
    o = outcomes.filter(outcomes.source.isin(sources))
    if as_of is not None:
        o = o.filter(o.recorded_at <= ibis.literal(to_utc_naive(as_of)))
    o = o.mutate(_key=ordering_key(o))
    window = ibis.window(group_by=[o.project, o.run_id], order_by=[o._key, o.outcome_id])
    ranked = o.mutate(_n=ibis.row_number().over(window))
    return ranked.filter(ranked._n == 0).select(
        "project", "run_id", "label", "score", "source", "evaluator", "recorded_at", "evidence"
    )


def _decode_label(key: Any) -> Any:
    rank = key % 4
    return rank.cases(*((r, label) for label, r in LABEL_RANK.items()), else_=None)


def _decode_source(key: Any) -> Any:
    rank = (key // SOURCE_UNIT).cast("int64")
    return rank.cases(*((r, source) for source, r in SOURCE_TRUST.items()), else_=None)


def _success_flag(key: Any) -> Any:
    return ibis.ifelse(
        key.isnull(), ibis.null("int64"), (key % 4 == LABEL_RANK["success"]).cast("int64")
    )


def _least(columns: Sequence[Any]) -> Any:
    return columns[0] if len(columns) == 1 else ibis.least(*columns)


def runs_with_index(runs: Any, index: Any, *, sources: Sequence[str] = TRUSTED_SOURCES) -> Any:
    """Runs joined to a per-run key index (the ``run_outcomes`` table or
    :func:`outcome_index`), one row per run.

    Adds to every column of ``runs``:

    - ``outcome_label``, ``outcome_source``: the effective outcome among ``sources``
      (null when none has arrived yet);
    - ``success``: 1 / 0 when there is an effective outcome (``partial`` is not a
      success), null otherwise;
    - ``claimed``: 1 / 0 from the agent's latest ``claimed`` outcome, null if none;
    - ``duration_s``: ``ended_at - started_at`` in seconds (null while unfinished).
    """
    sources = check_sources(sources)
    keys = index.select(
        _kp=index.project,
        _kr=index.run_id,
        _eff=_least([index[INDEX_COLUMNS[s]] for s in sources]),
        _claim=index[INDEX_COLUMNS["claimed"]],
    )
    joined = runs.left_join(keys, [runs.project == keys._kp, runs.run_id == keys._kr])
    duration_us = joined.ended_at.delta(joined.started_at, unit="microsecond")
    return joined.mutate(
        outcome_label=_decode_label(joined._eff),
        outcome_source=_decode_source(joined._eff),
        success=_success_flag(joined._eff),
        claimed=_success_flag(joined._claim),
        duration_s=duration_us.cast("float64") / 1e6,
    ).drop("_kp", "_kr", "_eff", "_claim")


def runs_with_outcome(
    runs: Any,
    outcomes: Any,
    *,
    sources: Sequence[str] = TRUSTED_SOURCES,
    as_of: datetime | None = None,
) -> Any:
    """Runs with their effective outcome computed from raw ``outcomes``.

    The same columns as :func:`runs_with_index`; works on any backend.
    """
    return runs_with_index(runs, outcome_index(outcomes, as_of=as_of), sources=sources)
