"""The runs of both arms, in time order, as numpy columns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import numpy.typing as npt

from agentslo.gate._spec import GateSpec, Selector
from agentslo.metrics import runs_with_finding_flags, runs_with_index
from agentslo.model import to_utc_naive

__all__ = ["ArmRuns", "load_arms"]

_COLUMNS = ("started_at", "success", "duration_s", "cost_usd", "steps", "total_tokens")


@dataclass(frozen=True)
class ArmRuns:
    """Both arms' runs merged in start order: ``arm`` 0 baseline, 1 candidate.

    ``success`` is 1/0 for runs with an effective outcome and nan without; the
    measures are nan where missing. Each finding rate the gate names (``loop_rate``)
    is a column too: 1/0 for runs its detector analysed (with / without the
    finding), nan for runs not analysed yet.
    """

    arm: npt.NDArray[np.int64]
    started_at: npt.NDArray[np.datetime64]
    columns: dict[str, npt.NDArray[np.float64]]

    def runs(self, arm: int) -> int:
        return int((self.arm == arm).sum())


def _matches(t: Any, selector: Selector) -> Any:
    condition = ibis.literal(True)
    for key, value in selector.values:
        condition = condition & (t[key] == value)
    return condition


def _seen_values(runs: Any, selector: Selector) -> str:
    key = selector.values[0][0]
    values = runs.select(v=runs[key]).distinct().order_by("v").limit(12).to_pyarrow()
    seen = [str(v) for v in values.column("v").to_pylist() if v is not None]
    return ", ".join(seen[:10]) + (", …" if len(seen) > 10 else "") if seen else "none"


def load_arms(store: Any, spec: GateSpec) -> ArmRuns:
    """Read both arms from ``store``; raise ``ValueError`` for an empty or shared arm."""
    runs = store.table("runs")
    if spec.project is not None:
        runs = runs.filter(runs.project == spec.project)
    if spec.since is not None:
        runs = runs.filter(runs.started_at >= ibis.literal(to_utc_naive(spec.since)))
    in_base = _matches(runs, spec.baseline)
    in_cand = _matches(runs, spec.candidate)
    selected = runs.filter(in_base | in_cand).mutate(
        arm=ibis.ifelse(in_base, 0, 1), _both=(in_base & in_cand).cast("int8")
    )
    t = runs_with_index(selected, store.table("run_outcomes"), sources=spec.sources)
    rates = [m.name for m in spec.metrics if m.kind == "finding_rate"]
    if rates:
        t = runs_with_finding_flags(t, store.table("detect_runs"), store.table("findings"), rates)
    t = t.select("arm", "_both", "run_id", *_COLUMNS, *rates).order_by(["started_at", "run_id"])
    table = t.to_pyarrow()
    both = int(np.asarray(table.column("_both").to_numpy(zero_copy_only=False)).sum())
    if both:
        raise ValueError(
            f"overlapping arms: {both} runs match both baseline ({spec.baseline}) and candidate "
            f"({spec.candidate}); make the selectors disjoint, e.g. name the same column "
            "with different values in both"
        )
    arm = np.asarray(table.column("arm").to_numpy(zero_copy_only=False), np.int64)
    since = f" since {spec.since.isoformat()}" if spec.since else ""
    for index, (label, selector) in enumerate(
        (("baseline", spec.baseline), ("candidate", spec.candidate))
    ):
        if not (arm == index).any():
            raise ValueError(
                f"{label} arm ({selector}) has no runs{since}; check the selector "
                f"({selector.values[0][0]} values seen: {_seen_values(runs, selector)})"
            )
    columns = {
        name: np.asarray(
            table.column(name).cast("double").fill_null(float("nan")).to_numpy(), np.float64
        )
        for name in (*_COLUMNS[1:], *rates)
    }
    started = np.asarray(table.column("started_at").to_numpy(zero_copy_only=False))
    return ArmRuns(arm, started, columns)
