"""Finding rates as metric definitions: which runs a failure-mode detector flagged.

A finding rate (``loop_rate``, ``unrecovered_fault_rate``, ...) is the share of the
runs a detector analysed that got at least one finding of the rate's mode. The same
names are used by ``agentslo report --findings``, the ``agentslo`` metric source of
SLO specs and ``agentslo gate --metric``, so a rate means one thing everywhere.

The denominator is the runs the mode's detector analysed (the ``detect_runs``
table ``agentslo detect`` keeps), never all runs: a run no detector has looked at
yet is unknown, not clean, exactly as a run without a verdict is neither a success
nor a failure. :func:`runs_with_finding_flags` gives each run a 1 / 0 / null flag
per rate, like the ``success`` column of :func:`agentslo.metrics.runs_with_index`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import ibis

__all__ = ["FINDING_RATES", "check_finding_rate", "runs_with_finding_flags"]

#: Rate name -> (detector, mode or None for any mode of the detector).
FINDING_RATES: Final[dict[str, tuple[str, str | None]]] = {
    "loop_rate": ("loops", None),
    "unrecovered_fault_rate": ("recovery", "unrecovered_fault"),
    "handoff_loss_rate": ("handoff", None),
    "claim_gap_rate": ("claims", None),
    "drift_rate": ("drift", None),
    "premature_end_rate": ("termination", "open_subgoal"),
}


def check_finding_rate(name: str) -> str:
    """``name`` if it is a finding rate; else ``ValueError`` listing the allowed names."""
    if name not in FINDING_RATES:
        raise ValueError(f"unknown finding rate {name!r}; allowed: {', '.join(FINDING_RATES)}")
    return name


def _flag(detect_runs: Any, findings: Any, rate: str) -> Any:
    """(project, run_id, flag) for the runs the rate's detector analysed."""
    detector, mode = FINDING_RATES[rate]
    analysed = (
        detect_runs.filter(detect_runs.detector == detector)
        .select(_ap=detect_runs.project, _ar=detect_runs.run_id)
        .distinct()
    )
    flagged = findings.filter(findings.detector == detector)
    if mode is not None:
        flagged = flagged.filter(flagged.mode == mode)
    hits = flagged.select(_fp=flagged.project, _fr=flagged.run_id, _hit=ibis.literal(1)).distinct()
    joined = analysed.left_join(hits, [analysed._ap == hits._fp, analysed._ar == hits._fr])
    return joined.select(
        _ap=joined._ap, _ar=joined._ar, **{rate: joined._hit.fill_null(0).cast("int64")}
    )


def runs_with_finding_flags(
    runs: Any, detect_runs: Any, findings: Any, rates: Sequence[str]
) -> Any:
    """``runs`` with one int column per rate of ``rates``, named as the rate: 1 when
    the rate's detector analysed the run and found its mode, 0 when it analysed the
    run and found nothing of it, null when it has not analysed the run yet.

    ``detect_runs`` and ``findings`` are the store's tables of those names; one row
    per run, whatever the number of findings (works on any Ibis backend).
    """
    out = runs
    for rate in dict.fromkeys(rates):
        flags = _flag(detect_runs, findings, check_finding_rate(rate))
        out = out.left_join(flags, [out.project == flags._ap, out.run_id == flags._ar]).drop(
            "_ap", "_ar"
        )
    return out
