"""The end-of-run summary, computed with the same metric code as ``agentslo report``.

The trial results are turned into ``runs`` and ``outcomes`` Arrow tables and fed
to :func:`agentslo.metrics.report_from_tables` once per fault profile, so pass^k,
pass@k, cost per success and the p95 of steps and duration are the store's own
definitions. On top: success per profile with its robustness ratio (faulted
success / clean success), the failure reasons, and the tasks whose outcomes
disagreed most across trials.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import ibis
import pyarrow as pa

from agentslo.metrics import GroupMetrics, ReportQuery, report_from_tables
from agentslo.model import OUTCOMES_SCHEMA, RUNS_SCHEMA
from agentslo.trials.runner import TrialResult

__all__ = ["ProfileSummary", "TrialSummary", "summarize"]


@dataclass
class ProfileSummary:
    """Headline numbers of one fault profile."""

    profile: str
    trials: int
    successes: int
    success_rate: float | None
    success_ci: tuple[float, float] | None
    robustness: float | None
    pass_k: dict[int, float]
    pass_at_k: dict[int, float]
    cost_per_success: float | None
    p95_steps: float | None
    p95_duration_s: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "trials": self.trials,
            "successes": self.successes,
            "success_rate": self.success_rate,
            "success_ci": list(self.success_ci) if self.success_ci else None,
            "robustness": self.robustness,
            "pass_k": {str(k): v for k, v in self.pass_k.items()},
            "pass_at_k": {str(k): v for k, v in self.pass_at_k.items()},
            "cost_per_success": self.cost_per_success,
            "p95_steps": self.p95_steps,
            "p95_duration_s": self.p95_duration_s,
        }


@dataclass
class TrialSummary:
    """Everything the end-of-run table shows; ``to_dict`` is the ``--json`` shape."""

    agent: str
    suite: str
    batch: str
    profiles: list[ProfileSummary]
    reasons: dict[str, int]
    inconsistent: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "suite": self.suite,
            "batch": self.batch,
            "profiles": [p.to_dict() for p in self.profiles],
            "failure_reasons": self.reasons,
            "most_inconsistent_tasks": self.inconsistent,
        }


def _tables(results: list[TrialResult]) -> tuple[Any, Any]:
    runs = pa.Table.from_pylist([r.run.to_row() for r in results], schema=RUNS_SCHEMA)
    outcomes = pa.Table.from_pylist([r.outcome.to_row() for r in results], schema=OUTCOMES_SCHEMA)
    return ibis.memtable(runs), ibis.memtable(outcomes)


def _profile(name: str, overall: GroupMetrics, clean_rate: float | None) -> ProfileSummary:
    rate = overall.success_rate
    robustness = None
    if clean_rate and rate is not None:
        robustness = rate / clean_rate
    return ProfileSummary(
        profile=name,
        trials=overall.runs,
        successes=overall.successes,
        success_rate=rate,
        success_ci=overall.success_ci,
        robustness=robustness,
        pass_k=overall.pass_k,
        pass_at_k=overall.pass_at_k,
        cost_per_success=overall.cost_per_success,
        p95_steps=overall.percentiles["steps"]["p95"],
        p95_duration_s=overall.percentiles["duration"]["p95"],
    )


def summarize(results: list[TrialResult], *, top: int = 5) -> TrialSummary:
    """Summarise a finished batch of trials (see the module docstring)."""
    if not results:
        raise ValueError("no trial results to summarise")
    by_profile: dict[str, list[TrialResult]] = {}
    for r in results:
        by_profile.setdefault(r.spec.profile.name, []).append(r)
    overall_by_profile: dict[str, GroupMetrics] = {}
    per_task: dict[str, list[float]] = {}
    for name, group in by_profile.items():
        runs, outcomes = _tables(group)
        report = report_from_tables(runs, outcomes, ReportQuery(by=("task_id",)))
        overall_by_profile[name] = report.overall
        for g in report.groups:
            if g.success_rate is not None:
                per_task.setdefault(str(g.keys["task_id"]), []).append(g.success_rate)
    clean = overall_by_profile.get("clean")
    clean_rate = clean.success_rate if clean is not None else None
    profiles = [_profile(n, m, clean_rate) for n, m in overall_by_profile.items()]
    reasons = Counter(r.reason or "passed" for r in results)
    inconsistent: list[dict[str, Any]] = []
    for task, rates in per_task.items():
        mixed = [x for x in rates if 0.0 < x < 1.0]
        if mixed:
            spread = sum(x * (1 - x) for x in mixed) / len(rates)
            inconsistent.append({"task_id": task, "inconsistency": spread, "success_rates": rates})
    inconsistent.sort(key=lambda d: (-float(d["inconsistency"]), str(d["task_id"])))
    first = results[0]
    return TrialSummary(
        agent=first.run.agent,
        suite=first.spec.task.suite,
        batch=str(first.run.attributes.get("batch")),
        profiles=profiles,
        reasons=dict(reasons.most_common()),
        inconsistent=inconsistent[:top],
    )
