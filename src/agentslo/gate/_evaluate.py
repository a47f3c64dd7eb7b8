"""Evaluate a gate: each metric's always-valid test, Bonferroni across metrics.

Per metric the answer is one of

- ``regressed``: the candidate is worse than the baseline (the always-valid
  interval excludes "no change" on the bad side) — stop the rollout;
- ``safe``: the candidate is no worse than the margin (the always-valid evidence
  has excluded a loss beyond the margin, at some look so far) and each arm has at least
  ``MIN_RUNS_FOR_SAFE`` runs with data — ship;
- ``continue``: neither yet.

The gate is ``regressed`` if any metric is, ``safe`` if all are, else
``continue``. Each metric runs at alpha / K (K metrics), so the chance of any
false ``regressed`` (and of any false ``safe``) is at most alpha, whatever the
dependence between metrics and however often the gate is evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from agentslo.gate._data import ArmRuns, load_arms
from agentslo.gate._spec import MIN_RUNS_FOR_SAFE, GateSpec, Metric
from agentslo.metrics import FINDING_RATES, MEASURES
from agentslo.stats import (
    Pairing,
    RatioSums,
    betting_cs,
    bonferroni_alpha,
    pair_arms,
    projected_runs,
    quantile_ratio_cs,
    ratio_of_ratios_cs,
    update_betting_cs,
)

__all__ = ["EXIT_CODES", "GateResult", "MetricResult", "evaluate_arms", "evaluate_gate"]

#: Process exit code per overall decision (``agentslo gate``).
EXIT_CODES: Final = {"safe": 0, "regressed": 1, "continue": 3}


@dataclass
class MetricResult:
    """One metric's verdict with the numbers behind it.

    ``estimate``, ``low``, ``high``: for ``success`` and the finding rates
    (``loop_rate``...) the difference candidate - baseline in the rate (``kind``
    ``difference``; a finding rate that rose is positive); for the others the ratio
    candidate / baseline.
    The interval is always-valid at the metric's alpha on each side. ``p_value``
    is the always-valid p-value of "no regression". ``runs`` counts runs with
    data for the metric per arm; ``projected_runs`` (``continue`` only) is a rough
    number of further runs per arm likely needed (None when no decision is in sight).
    """

    metric: str
    decision: str
    estimate: float
    low: float
    high: float
    p_value: float
    alpha: float
    margin: float
    kind: str
    runs: dict[str, int]
    projected_runs: int | None = None
    first_crossed_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["first_crossed_at"] = _iso(self.first_crossed_at)
        return out


@dataclass
class GateResult:
    """The gate's overall decision and one result per metric."""

    spec: GateSpec
    decision: str
    metrics: list[MetricResult]
    runs: dict[str, int]
    evaluated_at: datetime
    minimum_runs_for_safe: int = MIN_RUNS_FOR_SAFE
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.decision]

    def to_dict(self) -> dict[str, Any]:
        s = self.spec
        return {
            "gate": s.key,
            "baseline": str(s.baseline),
            "candidate": str(s.candidate),
            "alpha": s.alpha,
            "since": _iso(s.since),
            "decision": self.decision,
            "runs": self.runs,
            "minimum_runs_for_safe": self.minimum_runs_for_safe,
            "evaluated_at": _iso(self.evaluated_at),
            "metrics": [m.to_dict() for m in self.metrics],
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=None).isoformat() + "Z"


def _when(data: ArmRuns, index: int) -> datetime:
    value = data.started_at[index]
    return datetime.fromisoformat(str(np.datetime_as_string(value, unit="us")))


def _projection(half: float, distances: list[float], n: int, alpha: float) -> int | None:
    found = [projected_runs(half, d, n, alpha) for d in distances if d > 0]
    known = [f for f in found if f is not None]
    return min(known) if known else None


def _decide(regressed: bool, safe: bool, runs: dict[str, int]) -> str:
    if regressed:
        return "regressed"
    if safe and min(runs.values()) >= MIN_RUNS_FOR_SAFE:
        return "safe"
    return "continue"


def _success(data: ArmRuns, metric: Metric, alpha: float, margin: float) -> MetricResult:
    y = data.columns["success"]
    has = ~np.isnan(y)
    empty = _empty_arm(data.arm[has])
    if empty is not None:
        raise ValueError(
            f"metric success has no data in the {empty} arm: none of its runs has an "
            "attested outcome from the counted sources; wait for verdicts, or count "
            "judge verdicts too"
        )
    return _paired_rate(data, metric, y, alpha, margin, higher_is_worse=False)


def _finding_rate(data: ArmRuns, metric: Metric, alpha: float, margin: float) -> MetricResult:
    y = data.columns[metric.name]
    has = ~np.isnan(y)
    empty = _empty_arm(data.arm[has])
    if empty is not None:
        detector = FINDING_RATES[metric.name][0]
        raise ValueError(
            f"metric {metric.name} has no data in the {empty} arm: the {detector} detector "
            f"has analysed none of its runs; run `agentslo detect --detector {detector}` "
            "first (runs not analysed yet are left out, not counted as clean)"
        )
    return _paired_rate(data, metric, y, alpha, margin, higher_is_worse=True)


def _empty_arm(arm: npt.NDArray[np.int64]) -> str | None:
    """The first arm with no run in ``arm`` (``baseline``/``candidate``), or None."""
    for index, label in enumerate(("baseline", "candidate")):
        if not (arm == index).any():
            return label
    return None


def _paired_rate(
    data: ArmRuns,
    metric: Metric,
    y: npt.NDArray[np.float64],
    alpha: float,
    margin: float,
    *,
    higher_is_worse: bool,
) -> MetricResult:
    """The always-valid one-sided test on a 0/1 column (nan: no data yet), paired by
    arrival rank (Waudby-Smith & Ramdas 2023; see :mod:`agentslo.stats.betting`).

    The test is run on the good side of the column: success as it is, a finding
    rate as 1 - flag (the share of runs *without* the finding), so a regression is
    always the good share falling and ``safe`` its drop staying under the margin.
    The estimate and interval are reported for the column itself (a finding rate's
    rise is positive).
    """
    has = ~np.isnan(y)
    arm = data.arm[has]
    x = 1.0 - y[has] if higher_is_worse else y[has]
    runs = {"baseline": int((arm == 0).sum()), "candidate": int((arm == 1).sum())}
    _, diffs = pair_arms(Pairing(), arm, x)
    watch = (0.0, -margin) if margin > 0 else (0.0,)
    state = update_betting_cs(betting_cs(watch=watch), diffs)
    threshold = math.log(1.0 / alpha)
    evidence_worse = state.log_evidence(0.0, "below")
    evidence_safe = state.log_evidence(-margin, "above")
    low, high = state.bounds(alpha)
    estimate = float(x[arm == 1].mean()) - float(x[arm == 0].mean())
    decision = _decide(evidence_worse >= threshold, evidence_safe >= threshold, runs)
    sign = -1.0 if higher_is_worse else 1.0  # (+ 0.0 turns a flipped -0.0 into 0.0)
    result = MetricResult(
        metric=metric.name,
        decision=decision,
        estimate=sign * estimate + 0.0,
        low=min(sign * low, sign * high) + 0.0,
        high=max(sign * low, sign * high) + 0.0,
        p_value=min(1.0, math.exp(-evidence_worse)),
        alpha=alpha,
        margin=margin,
        kind="difference",
        runs=runs,
    )
    if decision == "continue":
        result.projected_runs = _projection(
            (high - low) / 2, [-estimate, estimate + margin], diffs.size, alpha
        )
    else:
        result.first_crossed_at = _first_success_crossing(
            data, has, diffs, -margin if decision == "safe" else 0.0, decision, threshold
        )
    return result


def _first_success_crossing(
    data: ArmRuns,
    has: npt.NDArray[np.bool_],
    diffs: npt.NDArray[np.float64],
    mu: float,
    decision: str,
    threshold: float,
) -> datetime | None:
    """Start time of the run that completed the pair at which the boundary was first crossed."""
    state = betting_cs(watch=(mu,))
    side = "below" if decision == "regressed" else "above"
    low, high = 0, diffs.size
    while low < high:  # the running maximum is monotone in the number of pairs
        mid = (low + high) // 2
        seen = update_betting_cs(state, diffs[: mid + 1]).log_evidence(mu, side)
        if seen >= threshold:
            high = mid
        else:
            low = mid + 1
    if low >= diffs.size:
        return None
    rows = np.flatnonzero(has)
    arm = data.arm[has]
    k = low  # pair k (0-based) completes at the later of the k-th run of each arm
    later = max(int(np.flatnonzero(arm == 0)[k]), int(np.flatnonzero(arm == 1)[k]))
    return _when(data, int(rows[later]))


#: Prefixes of the run stream at which a ratio metric's first crossing is searched.
_CHECKPOINTS: Final = 256
#: An interval at level alpha over the first k runs of the merged stream:
#: (estimate, low, high, runs per arm).
PrefixInterval = Callable[[int, float], tuple[float, float, float, dict[str, int]]]


def _crossed(decision: str, low: float, high: float, margin: float, runs: dict[str, int]) -> bool:
    if decision == "regressed":
        return low > 1.0
    return high < 1.0 + margin and min(runs.values()) >= MIN_RUNS_FOR_SAFE


def _first_ratio_crossing(
    data: ArmRuns, interval_at: PrefixInterval, decision: str, alpha: float, margin: float
) -> datetime | None:
    """Start time of the last run of the first checkpoint (every n/256 runs) at which
    ``decision`` already held: the first crossing, to within n/256 runs."""
    n = data.arm.size
    for k in np.unique(np.linspace(1, n, num=min(n, _CHECKPOINTS)).astype(np.int64)):
        _, low, high, runs = interval_at(int(k), alpha)
        if min(runs.values()) > 0 and _crossed(decision, low, high, margin, runs):
            return _when(data, int(k) - 1)
    return None


def _ratio_result(
    data: ArmRuns, metric: Metric, alpha: float, margin: float, interval_at: PrefixInterval
) -> MetricResult:
    n = data.arm.size
    estimate, low, high, runs = interval_at(n, alpha)
    decision = _decide(low > 1.0, high < 1.0 + margin, runs)
    p_value = _invert(lambda a: interval_at(n, a)[1] > 1.0)
    result = MetricResult(
        metric=metric.name,
        decision=decision,
        estimate=estimate,
        low=low,
        high=high,
        p_value=p_value,
        alpha=alpha,
        margin=margin,
        kind="ratio",
        runs=runs,
    )
    if decision != "continue":
        result.first_crossed_at = _first_ratio_crossing(data, interval_at, decision, alpha, margin)
    elif estimate > 0 and math.isfinite(estimate):
        half = (math.log(high) - math.log(low)) / 2 if low > 0 and math.isfinite(high) else math.inf
        center = math.log(estimate)
        result.projected_runs = _projection(
            half, [center, math.log(1 + margin) - center], min(runs.values()), alpha
        )
    return result


def _invert(rejects: Callable[[float], bool]) -> float:
    """The smallest alpha at which ``rejects(alpha)`` holds (monotone): the p-value."""
    if not rejects(0.999):
        return 1.0
    low, high = -30.0, math.log(0.999)  # search log alpha
    if rejects(math.exp(low)):
        return math.exp(low)
    for _ in range(40):
        mid = (low + high) / 2
        if rejects(math.exp(mid)):
            high = mid
        else:
            low = mid
    return math.exp(high)


def _no_data(metric: Metric, arm: str, column: str) -> ValueError:
    return ValueError(
        f"metric {metric.name} has no data in the {arm} arm (no run has {column}); "
        "drop the metric or record it on the runs"
    )


def _quantile(data: ArmRuns, metric: Metric, alpha: float, margin: float) -> MetricResult:
    assert metric.measure is not None and metric.quantile is not None
    column = MEASURES[metric.measure]
    y = data.columns[column]
    has = ~np.isnan(y)
    for index, label in enumerate(("baseline", "candidate")):
        if not has[data.arm == index].any():
            raise _no_data(metric, label, column)
    q = metric.quantile

    def interval_at(k: int, a: float) -> tuple[float, float, float, dict[str, int]]:
        arm, values, ok = data.arm[:k], y[:k], has[:k]
        base, cand = values[ok & (arm == 0)], values[ok & (arm == 1)]
        runs = {"baseline": int(base.size), "candidate": int(cand.size)}
        if not (base.size and cand.size):
            return math.nan, 0.0, math.inf, runs
        qa, qb = float(np.quantile(base, q)), float(np.quantile(cand, q))
        low, high = quantile_ratio_cs(base, cand, q, a)
        return (qb / qa if qa > 0 else math.inf), low, high, runs

    return _ratio_result(data, metric, alpha, margin, interval_at)


def _cost_per_success(data: ArmRuns, metric: Metric, alpha: float, margin: float) -> MetricResult:
    cost = data.columns["cost_usd"]
    success = np.nan_to_num(data.columns["success"], nan=0.0)
    for index, label in enumerate(("baseline", "candidate")):
        mine = data.arm == index
        if not (~np.isnan(cost[mine])).any():
            raise _no_data(metric, label, "cost_usd")
        if success[mine].sum() == 0:
            raise ValueError(
                f"metric cost_per_success has no data in the {label} arm: no attested success "
                "yet, so cost per success is undefined; wait for verdicts or gate on success"
            )
    c = np.nan_to_num(cost)
    # running sufficient statistics per arm, so any prefix of the stream is O(1)
    cums = {
        index: np.cumsum(
            np.where(
                data.arm == index,
                np.stack([np.ones_like(c), c, success, c * c, success * success, c * success]),
                0.0,
            ),
            axis=1,
        )
        for index in (0, 1)
    }

    def sums_at(index: int, k: int) -> RatioSums:
        n, cost_sum, succ, cost2, succ2, cross = (float(v) for v in cums[index][:, k - 1])
        return RatioSums(int(n), cost_sum, succ, cost2, succ2, cross)

    def interval_at(k: int, a: float) -> tuple[float, float, float, dict[str, int]]:
        base, cand = sums_at(0, k), sums_at(1, k)
        runs = {"baseline": base.n, "candidate": cand.n}
        estimate, low, high = ratio_of_ratios_cs(base, cand, a)
        return estimate, low, high, runs

    return _ratio_result(data, metric, alpha, margin, interval_at)


_EVALUATORS: Final = {
    "success": _success,
    "finding_rate": _finding_rate,
    "quantile": _quantile,
    "cost_per_success": _cost_per_success,
}


def evaluate_arms(spec: GateSpec, data: ArmRuns) -> GateResult:
    """Evaluate ``spec`` on already-loaded arms (the store-free core of the gate)."""
    alpha = bonferroni_alpha(spec.alpha, len(spec.metrics))
    results = [_EVALUATORS[m.kind](data, m, alpha, spec.margin(m)) for m in spec.metrics]
    decisions = {r.decision for r in results}
    overall = (
        "regressed" if "regressed" in decisions else "safe" if decisions == {"safe"} else "continue"
    )
    return GateResult(
        spec=spec,
        decision=overall,
        metrics=results,
        runs={"baseline": data.runs(0), "candidate": data.runs(1)},
        evaluated_at=datetime.now(UTC).replace(tzinfo=None),
    )


def evaluate_gate(store: Any, spec: GateSpec, *, record: bool = True) -> GateResult:
    """Evaluate ``spec`` over ``store`` (runs in start order).

    With ``record``, each metric's first ``regressed``/``safe`` decision is written
    to the store's ``gate_decisions`` table (see :mod:`agentslo.gate._record`) and
    kept: a later evaluation reports the recorded instant.
    """
    from agentslo.gate._record import record_decisions

    result = evaluate_arms(spec, load_arms(store, spec))
    if record and not getattr(store, "read_only", True):
        record_decisions(store, result)
    return result
