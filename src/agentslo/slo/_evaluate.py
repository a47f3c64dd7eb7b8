"""Evaluate an SLO over the store: SLI, error budget, burn rates and firing alerts.

Everything is one Ibis expression per SLO over the runs started in the SLO window
(``at - window < started_at <= at``), joined to their effective outcome as of
``at`` (``runs_with_outcome(..., as_of=at)``), so a verdict recorded after ``at``
does not change the answer and the same code runs on DuckDB or Spark:

- ``Occurrences``: one aggregate with conditional counts, good and total for the
  SLO window and for every burn-rate alert window at once;
- ``Timeslices``: good and total per slice of ``timeSliceWindow`` (slices end at
  ``at``), in one grouped aggregate; a slice is good when its ratio reaches
  ``timeSliceTarget``, and a slice without runs counts as good.

A finding-rate SLO (``bad: {query: loop_rate}``) reads each run's flag from
``runs_with_finding_flags`` and counts only the runs the detector analysed, so a
run ``agentslo detect`` has not seen yet is neither good nor bad.

Burn rate over a window = error ratio over that window / (1 - target); an alert
of the SRE Workbook's multiwindow, multi-burn-rate recipe (chapter "Alerting on
SLOs") fires when both its long and its short window burn at its threshold or
faster. See :mod:`agentslo.slo._alerts` for the windows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

import ibis

from agentslo.durations import format_duration
from agentslo.metrics import runs_with_finding_flags, runs_with_outcome
from agentslo.model import to_utc_naive
from agentslo.slo._alerts import AlertWindow, Severity, alert_windows
from agentslo.slo._spec import FINDING_QUERIES, MetricQuery, SLOSpec
from agentslo.store import Store

__all__ = ["BurnRateAlert", "SLOStatus", "evaluate_slo", "evaluate_slos"]

_OUTCOME_QUERIES = frozenset({"verified", "success", "failure"})
#: Run statuses the ``errored`` query counts: the run broke, whatever its verdict.
_ERROR_STATUSES: Final = ("error", "timeout")
_DIGITS = 9  # burn rates are rounded so that 0.144 / (1 - 0.99) compares equal to 14.4


@dataclass(frozen=True)
class BurnRateAlert:
    """One multiwindow burn-rate alert, evaluated: both burns at ``threshold`` -> firing.

    A burn is None when its window holds no counted runs (nothing to alert on).
    """

    severity: Severity
    long_window: timedelta
    short_window: timedelta
    threshold: float
    long_burn: float | None
    short_burn: float | None
    firing: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; windows as ``56m``-style text and in seconds."""
        return {
            "severity": self.severity,
            "long_window": format_duration(self.long_window),
            "short_window": format_duration(self.short_window),
            "long_window_seconds": int(self.long_window.total_seconds()),
            "short_window_seconds": int(self.short_window.total_seconds()),
            "threshold": self.threshold,
            "long_burn": self.long_burn,
            "short_burn": self.short_burn,
            "firing": self.firing,
        }


@dataclass(frozen=True)
class SLOStatus:
    """Where one SLO objective stands at ``at``.

    ``good``/``total`` are in the budgeting unit (``unit``): runs for
    ``Occurrences``, slices for ``Timeslices``; ``good_runs``/``total_runs`` always
    count runs. ``sli`` is None when no run was counted in the window.
    ``error_budget_total`` is the number of bad runs (or slices) the objective
    allows over the window, ``error_budget_remaining`` the fraction of it left (1
    untouched, 0 spent, negative overspent). ``burn_rates`` maps each alert window
    (``56m``-style text) to its burn rate (None without data).
    """

    name: str
    display_name: str
    objective: str
    target: float
    window: timedelta
    budgeting_method: str
    sli: float | None
    good: int
    total: int
    error_budget_total: float
    error_budget_remaining: float
    burn_rates: dict[str, float | None]
    alerts: list[BurnRateAlert]
    at: datetime
    unit: Literal["runs", "slices"] = "runs"
    good_runs: int = 0
    total_runs: int = 0
    time_slice_target: float | None = None
    time_slice_window: timedelta | None = None
    key: str = ""
    source: str = ""

    @property
    def firing(self) -> Severity | None:
        """The most severe firing alert: ``page``, ``ticket``, or None when healthy."""
        severities = {a.severity for a in self.alerts if a.firing}
        if "page" in severities:
            return "page"
        return "ticket" if "ticket" in severities else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the shape is documented in docs/slo.md)."""
        return {
            "name": self.name,
            "key": self.key,
            "display_name": self.display_name,
            "objective": self.objective,
            "source": self.source,
            "at": self.at.isoformat() + "Z",
            "target": self.target,
            "window": format_duration(self.window),
            "window_seconds": int(self.window.total_seconds()),
            "budgeting_method": self.budgeting_method,
            "time_slice_target": self.time_slice_target,
            "time_slice_window": (
                None if self.time_slice_window is None else format_duration(self.time_slice_window)
            ),
            "sli": self.sli,
            "unit": self.unit,
            "good": self.good,
            "total": self.total,
            "good_runs": self.good_runs,
            "total_runs": self.total_runs,
            "error_budget_total": self.error_budget_total,
            "error_budget_remaining": self.error_budget_remaining,
            "burn_rates": dict(self.burn_rates),
            "alerts": [a.to_dict() for a in self.alerts],
            "firing": self.firing,
        }


# -- the Ibis expressions -------------------------------------------------------------


def _filtered(column_source: Any, query: MetricQuery) -> Any:
    """The run-column filter of ``query`` as one boolean expression (True if none)."""
    cond: Any = ibis.literal(True)
    for column, values in query.filter.items():
        col = column_source[column]
        cond = cond & (col == values[0] if len(values) == 1 else col.isin(list(values)))
    return cond


def _compare(value: Any, op: str | None, threshold: float | None) -> Any:
    limit = ibis.literal(threshold, type="float64")
    if op == "lt":
        return value < limit
    if op == "gt":
        return value > limit
    if op == "gte":
        return value >= limit
    return value <= limit


def _condition(t: Any, q: MetricQuery) -> Any:
    """Which runs ``q`` selects, in ``t`` (with ``_finished``, ``_dur_s``, ``_age_s``).

    Durations are judged as of ``at``: a run that ended after ``at`` is still
    running then. A running run whose age already settles the comparison counts
    (it is over the threshold, or past a lower bound); one that does not is
    undecided and left out of the duration queries.
    """
    name = q.query
    if name == "runs":
        cond: Any = ibis.literal(True)
    elif name == "verified":
        cond = t.success.notnull()
    elif name == "success":
        cond = t.success == 1
    elif name == "failure":
        cond = t.success == 0
    elif name == "finished":
        cond = t._finished
    elif name == "ok":
        cond = t._finished & (t.status == "ok")
    elif name == "errored":
        cond = t._finished & t.status.isin(_ERROR_STATUSES)
    elif name == "duration":
        cond = t._finished & _compare(t._dur_s, q.op, q.threshold)
        if q.op in ("gt", "gte"):
            cond = cond | (~t._finished & (t._age_s >= q.threshold))
    elif name == "duration_known":
        cond = t._finished | (t._age_s >= q.threshold)
    elif name == "cost":
        cond = t.cost_usd.notnull() & _compare(t.cost_usd, q.op, q.threshold)
    elif name == "cost_known":
        cond = t.cost_usd.notnull()
    elif name in FINDING_QUERIES:
        cond = t[name] == 1
    else:
        raise ValueError(f"unknown query {name!r}")
    # Never null (a run without a verdict has a null `success`): `total & ~bad` must
    # count such a run as good when `bad` does not select it.
    return (cond & _filtered(t, q)).fill_null(False)


def _counted_runs(store: Store, slo: SLOSpec, at: datetime) -> tuple[Any, Any, Any]:
    """(runs in the window, total predicate, good predicate) as Ibis expressions."""
    ind = slo.indicator
    runs = store.table("runs")
    at_lit = ibis.literal(at, type="timestamp")
    runs = runs.filter(
        runs.started_at > ibis.literal(at - slo.window, type="timestamp"),
        runs.started_at <= at_lit,
        _filtered(runs, ind.total),
    )
    sides = [q for q in (ind.total, ind.good, ind.bad) if q is not None]
    if any(q.query in _OUTCOME_QUERIES for q in sides):
        runs = runs_with_outcome(runs, store.table("outcomes"), sources=ind.sources, as_of=at)
    rate = ind.finding_rate
    if rate is not None:
        runs = runs_with_finding_flags(
            runs, store.table("detect_runs"), store.table("findings"), [rate]
        )
    finished = runs.ended_at.notnull() & (runs.ended_at <= at_lit)
    t = runs.mutate(
        _finished=finished,
        _dur_s=ibis.ifelse(
            finished,
            runs.ended_at.delta(runs.started_at, unit="microsecond").cast("float64") / 1e6,
            ibis.null("float64"),
        ),
        _age_s=at_lit.delta(runs.started_at, unit="microsecond").cast("float64") / 1e6,
    )
    total = _condition(t, ind.total)
    if rate is not None:
        # Only runs the detector analysed are counted: an unanalysed run is unknown.
        total = total & t[rate].notnull()
    if ind.good is not None:
        return t, total, total & _condition(t, ind.good)
    if ind.bad is not None:
        return t, total, total & ~_condition(t, ind.bad)
    raise ValueError(f"SLO {slo.name!r}: the indicator has neither good nor bad runs")


def _occurrence_counts(
    t: Any, total: Any, good: Any, at: datetime, windows: Iterable[timedelta]
) -> dict[timedelta, tuple[int, int]]:
    """(good, total) per window, from one aggregate with conditional counts."""
    ordered = sorted(set(windows))
    aggregates: dict[str, Any] = {}
    for i, window in enumerate(ordered):
        inside = t.started_at > ibis.literal(at - window, type="timestamp")
        aggregates[f"t{i}"] = t.started_at.count(where=total & inside)
        aggregates[f"g{i}"] = t.started_at.count(where=good & inside)
    row = t.aggregate(**aggregates).to_pyarrow().to_pylist()[0]
    return {w: (int(row[f"g{i}"] or 0), int(row[f"t{i}"] or 0)) for i, w in enumerate(ordered)}


def _slice_counts(
    t: Any, total: Any, good: Any, at: datetime, slice_window: timedelta
) -> dict[int, tuple[int, int]]:
    """(good, total) per slice index (0 = the slice ending at ``at``), slices with runs."""
    at_lit = ibis.literal(at, type="timestamp")
    slice_us = round(slice_window / timedelta(microseconds=1))
    index = at_lit.delta(t.started_at, unit="microsecond") // slice_us
    grouped = (
        t.mutate(_slice=index)
        .group_by("_slice")
        .aggregate(
            _total=t.started_at.count(where=total),
            _good=t.started_at.count(where=good),
        )
    )
    counts: dict[int, tuple[int, int]] = {}
    for row in grouped.to_pyarrow().to_pylist():
        if row["_total"]:
            counts[int(row["_slice"])] = (int(row["_good"]), int(row["_total"]))
    return counts


# -- from counts to a status ----------------------------------------------------------


@dataclass(frozen=True)
class _Tally:
    """The numbers of a status, before they are dressed with the SLO's identity."""

    sli: float | None
    good: int
    total: int
    good_runs: int
    total_runs: int
    error_budget_total: float
    error_budget_remaining: float
    unit: Literal["runs", "slices"]
    burns: dict[timedelta, float | None]
    rules: tuple[AlertWindow, ...]


def _burn(bad_fraction: float | None, target: float) -> float | None:
    return None if bad_fraction is None else round(bad_fraction / (1 - target), _DIGITS)


def _alerts(
    rules: Sequence[AlertWindow], burns: dict[timedelta, float | None]
) -> list[BurnRateAlert]:
    out = []
    for rule in rules:
        long_burn, short_burn = burns[rule.long_window], burns[rule.short_window]
        firing = (
            long_burn is not None
            and short_burn is not None
            and long_burn >= rule.threshold
            and short_burn >= rule.threshold
        )
        out.append(
            BurnRateAlert(
                rule.severity,
                rule.long_window,
                rule.short_window,
                rule.threshold,
                long_burn,
                short_burn,
                firing,
            )
        )
    return out


def _alert_spans(rules: Sequence[AlertWindow]) -> list[timedelta]:
    return sorted({w for r in rules for w in (r.long_window, r.short_window)})


def _occurrences_tally(slo: SLOSpec, t: Any, total: Any, good: Any, at: datetime) -> _Tally:
    rules = alert_windows(slo.window)
    counts = _occurrence_counts(t, total, good, at, [slo.window, *_alert_spans(rules)])
    burns = {w: _burn(None if n == 0 else (n - g) / n, slo.target) for w, (g, n) in counts.items()}
    good_runs, total_runs = counts[slo.window]
    allowed = (1 - slo.target) * total_runs
    bad = total_runs - good_runs
    return _Tally(
        sli=good_runs / total_runs if total_runs else None,
        good=good_runs,
        total=total_runs,
        good_runs=good_runs,
        total_runs=total_runs,
        error_budget_total=allowed,
        error_budget_remaining=1 - bad / allowed if total_runs else 1.0,
        unit="runs",
        burns=burns,
        rules=rules,
    )


def _timeslices_tally(slo: SLOSpec, t: Any, total: Any, good: Any, at: datetime) -> _Tally:
    slice_window = slo.time_slice_window
    slice_target = slo.time_slice_target
    if slice_window is None or slice_target is None:
        raise ValueError(f"SLO {slo.name!r}: Timeslices needs timeSliceWindow and timeSliceTarget")
    rules = alert_windows(slo.window)
    counts = _slice_counts(t, total, good, at, slice_window)
    bad_slices = sorted(k for k, (g, n) in counts.items() if g / n < slice_target)
    n_slices = round(slo.window / slice_window)

    def bad_fraction(window: timedelta) -> float:
        # Slices that end inside the window (at least the latest one).
        covered = max(1, round(window / slice_window))
        return sum(1 for k in bad_slices if k < covered) / covered

    burns: dict[timedelta, float | None] = {
        w: _burn(bad_fraction(w), slo.target) for w in _alert_spans(rules)
    }
    good_runs = sum(g for g, _ in counts.values())
    total_runs = sum(n for _, n in counts.values())
    allowed = (1 - slo.target) * n_slices
    return _Tally(
        sli=(n_slices - len(bad_slices)) / n_slices if total_runs else None,
        good=n_slices - len(bad_slices),
        total=n_slices,
        good_runs=good_runs,
        total_runs=total_runs,
        error_budget_total=allowed,
        error_budget_remaining=1 - len(bad_slices) / allowed,
        unit="slices",
        burns=burns,
        rules=rules,
    )


def evaluate_slo(store: Store, slo: SLOSpec, *, at: datetime | None = None) -> SLOStatus:
    """Evaluate ``slo`` over ``store`` as of ``at`` (default: now, UTC).

    Runs are placed in windows by ``started_at``; outcomes recorded after ``at``
    are ignored, so the result for a past ``at`` does not move as verdicts arrive.
    """
    when = to_utc_naive(at if at is not None else datetime.now(UTC))
    t, total, good = _counted_runs(store, slo, when)
    if slo.budgeting_method == "Timeslices":
        tally = _timeslices_tally(slo, t, total, good, when)
    else:
        tally = _occurrences_tally(slo, t, total, good, when)
    return SLOStatus(
        name=slo.name,
        display_name=slo.display_name,
        objective=slo.objective,
        target=slo.target,
        window=slo.window,
        budgeting_method=slo.budgeting_method,
        sli=tally.sli,
        good=tally.good,
        total=tally.total,
        error_budget_total=tally.error_budget_total,
        error_budget_remaining=tally.error_budget_remaining,
        burn_rates={
            format_duration(w): b for w, b in sorted(tally.burns.items()) if w != slo.window
        },
        alerts=_alerts(tally.rules, tally.burns),
        at=when,
        unit=tally.unit,
        good_runs=tally.good_runs,
        total_runs=tally.total_runs,
        time_slice_target=slo.time_slice_target,
        time_slice_window=slo.time_slice_window,
        key=slo.key,
        source=slo.source,
    )


def evaluate_slos(
    store: Store, slos: Sequence[SLOSpec], *, at: datetime | None = None
) -> list[SLOStatus]:
    """Evaluate every SLO at the same instant ``at`` (default: now, UTC), in order."""
    when = to_utc_naive(at if at is not None else datetime.now(UTC))
    return [evaluate_slo(store, slo, at=when) for slo in slos]
