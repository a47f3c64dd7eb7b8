"""Prometheus alerting rules for SLOs: the Workbook's multiwindow burn-rate recipe.

The rules read the metrics agentslo's ``/metrics`` endpoint exposes (``METRICS``
below, documented in ``docs/slo.md``), so the alerts ``agentslo slo check``
computes from the store can also run continuously in Prometheus/Alertmanager.
For each SLO objective the export holds one recording rule per window (the error
ratio, or for ``Timeslices`` the share of bad slices) and one alert per pair of
windows of the SRE Workbook's recipe (chapter "Alerting on SLOs", multiwindow,
multi-burn-rate alerts), scaled to the SLO window like the evaluator does.

Prometheus sees the runs as they happen, not as of a later verdict, and its
histograms only hold finished runs; docs/slo.md lists where its numbers can
differ from ``slo check``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Final

import yaml

from agentslo.durations import format_duration
from agentslo.model import OUTCOME_SOURCES
from agentslo.slo._alerts import alert_windows
from agentslo.slo._spec import MetricQuery, SLOSpec

__all__ = [
    "COST_BUCKETS",
    "DURATION_BUCKETS",
    "METRICS",
    "histogram_buckets",
    "le_label",
    "prometheus_rules",
    "prometheus_rules_yaml",
]

#: The metrics the ``/metrics`` endpoint exposes for SLOs: name -> (type, help).
#: Every one carries the labels ``FILTER_FIELDS`` (project, agent, version, model,
#: team, environment, suite; empty string when unknown).
METRICS: Final[dict[str, tuple[str, str]]] = {
    "agentslo_runs_total": ("counter", "Runs started."),
    "agentslo_run_outcomes_total": (
        "counter",
        "Runs by effective outcome: label outcome (success, failure, partial) and source "
        "(verified, human, judge, claimed), the most trusted source that has a verdict.",
    ),
    "agentslo_run_duration_seconds": (
        "histogram",
        "Wall-clock duration of finished runs, in seconds (ended_at - started_at).",
    ),
    "agentslo_run_cost_usd": ("histogram", "Cost of runs with a recorded cost, in US dollars."),
}

#: Default histogram boundaries; the endpoint adds every SLO threshold it is given.
DURATION_BUCKETS: Final = (1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
COST_BUCKETS: Final = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)

_RATIO: Final = "agentslo:slo_error_ratio:rate"
_SLICES: Final = "agentslo:slo_bad_slices:ratio"


def le_label(bound: float) -> str:
    """The ``le`` label value of a bucket bound: ``30.0``, ``0.5`` (Python client style).

    This is the form ``prometheus_client`` writes and Prometheus 3 normalises to.
    """
    return repr(float(bound))


def histogram_buckets(slos: Sequence[SLOSpec]) -> dict[str, tuple[float, ...]]:
    """Bucket bounds the endpoint must expose so that every SLO threshold is a bound."""
    duration, cost = set(DURATION_BUCKETS), set(COST_BUCKETS)
    for slo in slos:
        ind = slo.indicator
        for q in (ind.total, ind.good, ind.bad):
            if q is not None and q.threshold is not None:
                (cost if q.query.startswith("cost") else duration).add(q.threshold)
    return {
        "agentslo_run_duration_seconds": tuple(sorted(duration)),
        "agentslo_run_cost_usd": tuple(sorted(cost)),
    }


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _matchers(filters: Sequence[Mapping[str, tuple[str, ...]]]) -> list[str]:
    """Label matchers for all ``filters`` at once (PromQL ANDs repeated labels)."""
    out: dict[str, None] = {}
    for flt in filters:
        for label, values in flt.items():
            if len(values) == 1:
                out[f"{label}={_quote(values[0])}"] = None
            else:
                out[f"{label}=~{_quote('|'.join(re.escape(v) for v in values))}"] = None
    return list(out)


def _sources_matcher(slo: SLOSpec) -> str:
    """The ``source`` matcher: only a most-trusted-first prefix maps onto the metric."""
    wanted = set(slo.indicator.sources)
    for n in range(1, len(OUTCOME_SOURCES) + 1):
        if wanted == set(OUTCOME_SOURCES[:n]):
            return f"source=~{_quote('|'.join(OUTCOME_SOURCES[:n]))}"
    prefixes = ["[" + ", ".join(OUTCOME_SOURCES[:n]) + "]" for n in range(1, 5)]
    raise ValueError(
        f"SLO {slo.key!r} ({slo.source}): sources {list(slo.indicator.sources)} cannot be "
        "expressed over agentslo_run_outcomes_total, whose source label is the most trusted "
        f"verdict; allowed: {', '.join(prefixes)}"
    )


def _rate(metric: str, matchers: Sequence[str], window: str) -> str:
    selector = f"{metric}{{{', '.join(matchers)}}}" if matchers else metric
    return f"sum(rate({selector}[{window}]))"


def _count_rate(slo: SLOSpec, q: MetricQuery, extra: Sequence[str], window: str) -> str:
    """PromQL for the per-second rate of runs ``q`` selects (with extra matchers)."""
    labels = [*extra]
    name = q.query
    if name == "runs":
        return _rate("agentslo_runs_total", labels, window)
    if name == "ok":
        return _rate("agentslo_runs_total", [*labels, 'status="ok"'], window)
    if name == "errored":
        return _rate("agentslo_runs_total", [*labels, 'status=~"error|timeout"'], window)
    if name in ("verified", "success", "failure"):
        labels.append(_sources_matcher(slo))
        if name == "success":
            labels.append('outcome="success"')
        elif name == "failure":
            labels.append('outcome=~"failure|partial"')
        return _rate("agentslo_run_outcomes_total", labels, window)
    base = "agentslo_run_cost_usd" if name.startswith("cost") else "agentslo_run_duration_seconds"
    if name in ("finished", "duration_known", "cost_known"):
        return _rate(f"{base}_count", labels, window)
    below = _rate(f"{base}_bucket", [*labels, f"le={_quote(le_label(q.threshold or 0.0))}"], window)
    if q.op in ("gt", "gte"):
        return f"({_rate(f'{base}_count', labels, window)} - {below})"
    return below


def _error_ratio(slo: SLOSpec, window: str) -> str:
    """PromQL for the error ratio (bad / total runs) of ``slo`` over ``window``."""
    ind = slo.indicator
    total_labels = _matchers([ind.total.filter])
    total = _count_rate(slo, ind.total, total_labels, window)
    # `or vector(0)`: a series that never existed (no success yet, no failure yet) is
    # zero, not absent; otherwise a total outage would produce no ratio and no page.
    if ind.bad is not None:
        bad = _count_rate(slo, ind.bad, _matchers([ind.total.filter, ind.bad.filter]), window)
        return f"(\n  {bad}\n  or vector(0)\n)\n/\n{total}"
    if ind.good is None:
        raise ValueError(f"SLO {slo.key!r}: the indicator has neither good nor bad runs")
    good = _count_rate(slo, ind.good, _matchers([ind.total.filter, ind.good.filter]), window)
    return f"1 - (\n  ({good} or vector(0))\n  /\n  {total}\n)"


def _number(value: float) -> str:
    return f"{round(value, 12):g}" if abs(value) >= 1e-4 else repr(value)


def _rules_for(slo: SLOSpec) -> dict[str, Any]:
    ident = {"slo": slo.name, "objective": str(slo.objective_index)}
    selector = "{" + ", ".join(f"{k}={_quote(v)}" for k, v in ident.items()) + "}"
    alerts = alert_windows(slo.window)
    windows = sorted({w for a in alerts for w in (a.long_window, a.short_window)})
    budget = _number(1 - slo.target)
    rules: list[dict[str, Any]] = []
    if slo.budgeting_method == "Timeslices" and slo.time_slice_window and slo.time_slice_target:
        step = format_duration(slo.time_slice_window)
        rules.append(
            {"record": f"{_RATIO}{step}", "expr": _error_ratio(slo, step), "labels": ident}
        )
        bad_slice = _number(1 - slo.time_slice_target)
        for window in windows:
            span = _slice_span(window, slo.time_slice_window)
            rules.append(
                {
                    "record": f"{_SLICES}{format_duration(window)}",
                    "expr": f"avg_over_time(({_RATIO}{step}{selector} > bool {bad_slice})"
                    f"[{span}:{step}])",
                    "labels": ident,
                }
            )
        series = _SLICES
    else:
        for window in windows:
            text = format_duration(window)
            rules.append(
                {"record": f"{_RATIO}{text}", "expr": _error_ratio(slo, text), "labels": ident}
            )
        series = _RATIO
    for alert in alerts:
        long_text, short_text = (
            format_duration(alert.long_window),
            format_duration(alert.short_window),
        )
        limit = f"({_number(alert.threshold)} * {budget})"
        rules.append(
            {
                "alert": "AgentSLOErrorBudgetBurn",
                "expr": f"{series}{long_text}{selector} >= {limit}\n"
                f"and\n{series}{short_text}{selector} >= {limit}",
                "labels": {
                    **ident,
                    "severity": alert.severity,
                    "long_window": long_text,
                    "short_window": short_text,
                    "burn_rate": _number(alert.threshold),
                },
                "annotations": {
                    "summary": f"{slo.display_name} ({slo.objective}) is burning its error "
                    f"budget {_number(alert.threshold)}x too fast",
                    "description": f"Over the last {long_text} and {short_text} the error "
                    f"budget of {slo.display_name} (target {_number(slo.target)} over "
                    f"{format_duration(slo.window)}) burned at {_number(alert.threshold)}x "
                    f"or faster: {alert.budget_spent:.0%} of the budget in {long_text}. "
                    "Check with: agentslo slo check.",
                },
            }
        )
    return {"name": f"agentslo-slo-{slo.key}", "rules": rules}


def _slice_span(window: timedelta, slice_window: timedelta) -> str:
    """The subquery range that covers the same slices as the evaluator (at least one)."""
    covered = max(1, round(window / slice_window))
    return format_duration(slice_window * covered)


def prometheus_rules(slos: Sequence[SLOSpec]) -> dict[str, Any]:
    """A Prometheus rule file (as a mapping): one group per SLO objective.

    Raises ``ValueError`` when an SLO cannot be expressed over the exported metrics:
    outcome sources that are not a most-trusted-first prefix, or a finding-rate SLO
    (``/metrics`` exports no per-run finding counters; it is evaluated from the store).
    """
    _refuse_finding_rates(slos)
    return {"groups": [_rules_for(slo) for slo in slos]}


def _refuse_finding_rates(slos: Sequence[SLOSpec]) -> None:
    """Raise ``ValueError`` naming every finding-rate SLO: they have no PromQL form."""
    found = [s for s in slos if s.indicator.finding_rate is not None]
    if not found:
        return
    named = ", ".join(f"{s.key!r} ({s.source}: {s.indicator.finding_rate})" for s in found)
    raise ValueError(
        f"cannot export finding-rate SLOs as Prometheus rules: {named}. Findings come "
        "from `agentslo detect` over stored traces, and /metrics exports no counter of "
        "them, so Prometheus cannot compute these error ratios. Evaluate them with "
        "`agentslo slo check` after `agentslo detect` (on a schedule: it exits 1 when "
        "an alert pages), and give `slo rules` the other SLO files only"
    )


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (PromQL) as literal blocks, and never YAML aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def prometheus_rules_yaml(slos: Sequence[SLOSpec]) -> str:
    """The rule file of :func:`prometheus_rules` as YAML text (``promtool``-checkable)."""
    header = (
        "# Prometheus rules generated by `agentslo slo rules`: multiwindow, multi-burn-rate\n"
        "# alerts (SRE Workbook, 'Alerting on SLOs'). Metrics: see docs/slo.md.\n"
    )
    body = yaml.dump(
        prometheus_rules(slos), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
    )
    return header + body
