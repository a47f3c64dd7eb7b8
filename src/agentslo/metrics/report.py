"""The fleet report: every SLO-relevant number per group, defined once in Ibis.

``fleet_expressions`` builds backend-agnostic Ibis expressions from a ``runs`` and an
``outcomes`` table; DuckDB runs them by default and Spark runs the very same
expressions (see ``tests/metrics/test_spark_parity.py``). Intervals are computed
from the aggregated counts by ``agentslo.stats``.

Definitions (per group, over runs that started in the selected time range):

- ``runs``: all runs; ``with_outcome``: runs with an effective outcome from the
  counted sources (by default verified or human: attested, not claimed);
- ``success_rate`` = successes / with_outcome, with a Wilson interval;
- ``claimed_success_rate`` = runs whose agent claimed success / runs with a claim;
- ``claim_gap`` = claimed_success_rate - success_rate (the intent-execution gap);
- ``false_claim_rate`` = among runs that claimed success and have an attested
  outcome, the share attested as not successful;
- ``cost_per_success`` = total cost of *all* runs / successes, so that spend on
  failed and unverified runs is charged to the successes it did not produce;
  ``tokens_per_success`` likewise;
- p50/p95/p99 of duration (s), steps, total tokens and cost per run (continuous
  quantiles with linear interpolation, exact on both backends; nulls ignored);
- ``pass_k`` (pass^k) and ``pass_at_k`` over runs with a trial index: per task,
  n trials with c successes, the unbiased C(c,k)/C(n,k) and 1 - C(n-c,k)/C(n,k)
  averaged over tasks, for k = 1 .. the smallest n among the group's tasks (so
  every k averages the same tasks).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import ibis

from agentslo.metrics.outcomes import (
    TRUSTED_SOURCES,
    check_sources,
    outcome_index,
    runs_with_index,
)
from agentslo.model import to_utc_naive
from agentslo.stats import wilson_interval

__all__ = [
    "GROUP_COLUMNS",
    "MEASURES",
    "QUANTILES",
    "GroupMetrics",
    "Report",
    "ReportQuery",
    "check_group_by",
    "fleet_report",
    "report_from_tables",
]

#: Columns a report may be grouped by.
GROUP_COLUMNS: Final = (
    "project",
    "agent",
    "version",
    "model",
    "task_id",
    "team",
    "user",
    "environment",
    "suite",
)
#: Measure name -> column of ``runs_with_index``.
MEASURES: Final = {
    "duration": "duration_s",
    "steps": "steps",
    "tokens": "total_tokens",
    "cost": "cost_usd",
}
QUANTILES: Final = (0.5, 0.95, 0.99)
_BUCKET_COLUMN: Final = "bucket_start"


def check_group_by(by: Sequence[str]) -> tuple[str, ...]:
    """Validate grouping columns; raise ``ValueError`` naming the bad one and the choices."""
    out = tuple(dict.fromkeys(b.strip() for b in by if b.strip()))
    for column in out:
        if column not in GROUP_COLUMNS:
            raise ValueError(f"cannot group by {column!r}; choose from: {', '.join(GROUP_COLUMNS)}")
    return out


@dataclass(frozen=True)
class ReportQuery:
    """What to report: grouping, time range, bucketing, and which outcomes count."""

    by: tuple[str, ...] = ("agent",)
    since: datetime | None = None
    until: datetime | None = None
    bucket: timedelta | None = None
    sources: tuple[str, ...] = TRUSTED_SOURCES
    project: str | None = None
    as_of: datetime | None = None
    confidence: float = 0.95

    def __post_init__(self) -> None:
        object.__setattr__(self, "by", check_group_by(self.by))
        object.__setattr__(self, "sources", check_sources(self.sources))
        if self.bucket is not None and self.bucket.total_seconds() < 1:
            raise ValueError(f"bucket must be at least 1 second, got {self.bucket}")
        if self.since and self.until and self.since >= self.until:
            raise ValueError(
                f"since ({self.since.isoformat()}) must be before until ({self.until.isoformat()})"
            )

    @property
    def keys(self) -> tuple[str, ...]:
        return self.by + ((_BUCKET_COLUMN,) if self.bucket is not None else ())


#: The run columns every report reads besides its grouping columns; the rest
#: (attributes, texts, unused labels) never leave the store.
_RUN_COLUMNS: Final = (
    "project",
    "run_id",
    "task_id",
    "trial",
    "started_at",
    "ended_at",
    "total_tokens",
    "cost_usd",
    "steps",
)


def _filtered(runs: Any, index: Any, q: ReportQuery) -> Any:
    if q.project is not None:
        runs = runs.filter(runs.project == q.project)
        index = index.filter(index.project == q.project)
    if q.since is not None:
        runs = runs.filter(runs.started_at >= ibis.literal(to_utc_naive(q.since)))
    if q.until is not None:
        runs = runs.filter(runs.started_at < ibis.literal(to_utc_naive(q.until)))
    columns = list(dict.fromkeys([*_RUN_COLUMNS, *q.by]))
    t = runs_with_index(runs.select(*columns), index, sources=q.sources).drop(
        "outcome_label", "outcome_source", "ended_at", "run_id"
    )
    if q.bucket is not None:
        seconds = int(q.bucket.total_seconds())
        epoch = t.started_at.epoch_seconds().cast("int64")
        t = t.mutate(**{_BUCKET_COLUMN: (epoch - epoch % seconds)})
    return t


def _aggregates(t: Any) -> dict[str, Any]:
    claimed_and_attested = (t.claimed == 1) & t.success.notnull()
    aggs: dict[str, Any] = {
        "runs": t.count(),
        "with_outcome": t.success.count(),
        "successes": t.success.sum().coalesce(0),
        "claims": t.claimed.count(),
        "claimed_successes": t.claimed.sum().coalesce(0),
        "claimed_attested": claimed_and_attested.cast("int64").sum().coalesce(0),
        "false_claims": (claimed_and_attested & (t.success == 0)).cast("int64").sum().coalesce(0),
        "total_cost": t.cost_usd.sum(),
        "costed_runs": t.cost_usd.count(),
        "total_tokens": t.total_tokens.sum(),
        "first_started": t.started_at.min(),
        "last_started": t.started_at.max(),
    }
    for measure, column in MEASURES.items():
        # One multi-quantile per measure: the backend sorts each group's values once.
        aggs[f"{measure}_q"] = t[column].cast("float64").quantile(list(QUANTILES))
    return aggs


def _pass_k_expression(t: Any, keys: Sequence[str], max_k: int) -> Any:
    """Per group: task count, smallest trial count, and mean pass^k / pass@k per k."""
    trials = t.filter(t.trial.notnull() & t.success.notnull() & t.task_id.notnull())
    per_task = trials.group_by(list(dict.fromkeys([*keys, "task_id"]))).aggregate(
        n=trials.count(), c=trials.success.sum()
    )
    n = per_task.n.cast("float64")
    c = per_task.c.cast("float64")
    columns: dict[str, Any] = {}
    for k in range(1, max_k + 1):
        all_pass = ibis.literal(1.0)
        none_pass = ibis.literal(1.0)
        for i in range(k):
            # Denominators are floored at 1 so that no backend evaluates x/0 on the
            # branch that the guard below discards (Spark's ANSI mode would raise).
            denominator = ibis.greatest(n - i, 1.0)
            all_pass = all_pass * (c - i) / denominator
            none_pass = none_pass * (n - c - i) / denominator
        enough = per_task.n >= k
        columns[f"pass_hat_{k}"] = ibis.ifelse(enough, ibis.greatest(all_pass, 0.0), None)
        columns[f"pass_at_{k}"] = ibis.ifelse(enough, 1.0 - ibis.greatest(none_pass, 0.0), None)
    per_task = per_task.mutate(**columns)
    aggs: dict[str, Any] = {"tasks": per_task.count(), "min_trials": per_task.n.min()}
    for name in columns:
        aggs[name] = per_task[name].mean()
    if keys:
        return per_task.group_by(list(keys)).aggregate(**aggs)
    return per_task.aggregate(**aggs)


def _max_trials(t: Any) -> int:
    trials = t.filter(t.trial.notnull() & t.success.notnull() & t.task_id.notnull())
    counts = trials.group_by(["task_id"]).aggregate(n=trials.count())
    value = counts.aggregate(m=counts.n.max()).to_pyarrow().column("m")[0].as_py()
    return 0 if value is None else int(value)


@dataclass
class GroupMetrics:
    """Every report number for one group (or for the whole selection)."""

    keys: dict[str, Any]
    runs: int
    with_outcome: int
    successes: int
    success_rate: float | None
    success_ci: tuple[float, float] | None
    claims: int
    claimed_success_rate: float | None
    claim_gap: float | None
    false_claim_rate: float | None
    total_cost: float | None
    costed_runs: int
    cost_per_success: float | None
    total_tokens: int | None
    tokens_per_success: float | None
    percentiles: dict[str, dict[str, float | None]]
    first_started: datetime | None
    last_started: datetime | None
    pass_k: dict[int, float] = field(default_factory=dict)
    pass_at_k: dict[int, float] = field(default_factory=dict)
    pass_k_tasks: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (documented in docs/cli.md)."""
        out: dict[str, Any] = {
            "keys": self.keys,
            "runs": self.runs,
            "with_outcome": self.with_outcome,
            "successes": self.successes,
            "success_rate": self.success_rate,
            "success_ci": list(self.success_ci) if self.success_ci else None,
            "claims": self.claims,
            "claimed_success_rate": self.claimed_success_rate,
            "claim_gap": self.claim_gap,
            "false_claim_rate": self.false_claim_rate,
            "total_cost": self.total_cost,
            "costed_runs": self.costed_runs,
            "cost_per_success": self.cost_per_success,
            "total_tokens": self.total_tokens,
            "tokens_per_success": self.tokens_per_success,
            "first_started": _iso(self.first_started),
            "last_started": _iso(self.last_started),
        }
        for measure, values in self.percentiles.items():
            out[measure] = values
        if self.pass_k:
            out["pass_k"] = {str(k): v for k, v in self.pass_k.items()}
            out["pass_at_k"] = {str(k): v for k, v in self.pass_at_k.items()}
            out["pass_k_tasks"] = self.pass_k_tasks
        return out


@dataclass
class Report:
    """The fleet report: one ``GroupMetrics`` per group, plus the overall row."""

    query: ReportQuery
    groups: list[GroupMetrics]
    overall: GroupMetrics
    generated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        q = self.query
        return {
            "generated_at": _iso(self.generated_at),
            "by": list(q.by),
            "bucket_seconds": int(q.bucket.total_seconds()) if q.bucket else None,
            "since": _iso(q.since),
            "until": _iso(q.until),
            "sources": list(q.sources),
            "confidence": q.confidence,
            "overall": self.overall.to_dict(),
            "groups": [g.to_dict() for g in self.groups],
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else to_utc_naive(value).isoformat() + "Z"


def _num(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _ratio(numerator: float | None, denominator: float) -> float | None:
    if numerator is None or denominator == 0:
        return None
    return numerator / denominator


def _quantiles(values: Sequence[Any] | None) -> dict[str, float | None]:
    if values is None:
        values = [None] * len(QUANTILES)
    return {f"p{round(q * 100)}": _num(v) for q, v in zip(QUANTILES, values, strict=True)}


def _to_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    return value if isinstance(value, datetime) else None


def _group_metrics(row: dict[str, Any], keys: Sequence[str], confidence: float) -> GroupMetrics:
    with_outcome = int(row["with_outcome"] or 0)
    successes = int(row["successes"] or 0)
    claims = int(row["claims"] or 0)
    total_cost = _num(row["total_cost"])
    total_tokens = None if row["total_tokens"] is None else int(row["total_tokens"])
    success_rate = _ratio(successes, with_outcome)
    claimed_rate = _ratio(float(row["claimed_successes"] or 0), claims)
    group_keys = {k: row[k] for k in keys}
    if _BUCKET_COLUMN in group_keys and group_keys[_BUCKET_COLUMN] is not None:
        start = datetime.fromtimestamp(int(group_keys[_BUCKET_COLUMN]), UTC)
        group_keys[_BUCKET_COLUMN] = start.replace(tzinfo=None).isoformat() + "Z"
    return GroupMetrics(
        keys=group_keys,
        runs=int(row["runs"]),
        with_outcome=with_outcome,
        successes=successes,
        success_rate=success_rate,
        success_ci=wilson_interval(successes, with_outcome, confidence) if with_outcome else None,
        claims=claims,
        claimed_success_rate=claimed_rate,
        claim_gap=(
            None if claimed_rate is None or success_rate is None else claimed_rate - success_rate
        ),
        false_claim_rate=_ratio(float(row["false_claims"] or 0), int(row["claimed_attested"] or 0)),
        total_cost=total_cost,
        costed_runs=int(row["costed_runs"] or 0),
        cost_per_success=_ratio(total_cost, successes),
        total_tokens=total_tokens,
        tokens_per_success=_ratio(total_tokens, successes),
        percentiles={measure: _quantiles(row[f"{measure}_q"]) for measure in MEASURES},
        first_started=_to_datetime(row["first_started"]),
        last_started=_to_datetime(row["last_started"]),
    )


def _attach_pass_k(
    groups: dict[tuple[Any, ...], GroupMetrics],
    rows: list[dict[str, Any]],
    keys: Sequence[str],
    max_k: int,
) -> None:
    for row in rows:
        metrics = groups.get(tuple(row[k] for k in keys))
        if metrics is None or not row["tasks"]:
            continue
        upto = min(int(row["min_trials"]), max_k)
        metrics.pass_k_tasks = int(row["tasks"])
        metrics.pass_k = {k: float(row[f"pass_hat_{k}"]) for k in range(1, upto + 1)}
        metrics.pass_at_k = {k: float(row[f"pass_at_{k}"]) for k in range(1, upto + 1)}


def report_from_tables(runs: Any, outcomes: Any, query: ReportQuery | None = None) -> Report:
    """Compute the report from raw ``runs`` and ``outcomes`` tables on any backend."""
    q = query or ReportQuery()
    return _report_over(runs, outcome_index(outcomes, as_of=q.as_of), q)


def fleet_report(store: Any, query: ReportQuery | None = None, **kwargs: Any) -> Report:
    """The fleet report over a store (``agentslo.store.Store``).

    Pass a ``ReportQuery`` or its fields as keyword arguments
    (``fleet_report(store, by=("agent", "version"), bucket=timedelta(hours=1))``).
    Reads the store's per-run outcome index; a report ``as_of`` a past instant
    recomputes it from the outcomes recorded by then.
    """
    q = query or ReportQuery(**kwargs)
    if q.as_of is None:
        index = store.table("run_outcomes")
    else:
        index = outcome_index(store.table("outcomes"), as_of=q.as_of)
    return _report_over(store.table("runs"), index, q)


def _report_over(runs: Any, index: Any, q: ReportQuery) -> Report:
    """Materialise the per-run rows once (a temporary table on DuckDB, a cached
    DataFrame on Spark); every aggregation then reads them."""
    with _filtered(runs, index, q).cache() as t:
        return _report(t, q)


def _report(t: Any, q: ReportQuery) -> Report:
    keys = list(q.keys)
    overall_row = t.aggregate(**_aggregates(t)).to_pyarrow().to_pylist()[0]
    overall = _group_metrics(overall_row, [], q.confidence)
    groups: list[GroupMetrics] = []
    by_key: dict[tuple[Any, ...], GroupMetrics] = {}
    if keys:
        grouped = t.group_by(keys).aggregate(**_aggregates(t)).order_by(keys)
        for row in grouped.to_pyarrow().to_pylist():
            metrics = _group_metrics(row, keys, q.confidence)
            groups.append(metrics)
            by_key[tuple(row[k] for k in keys)] = metrics
    max_k = _max_trials(t)
    if max_k:
        overall_pk = _pass_k_expression(t, [], max_k).to_pyarrow().to_pylist()
        _attach_pass_k({(): overall}, overall_pk, [], max_k)
        if keys:
            rows = _pass_k_expression(t, keys, max_k).to_pyarrow().to_pylist()
            _attach_pass_k(by_key, rows, keys, max_k)
    return Report(query=q, groups=groups, overall=overall, generated_at=datetime.now(UTC))
