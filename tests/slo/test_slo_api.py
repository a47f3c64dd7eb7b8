"""Lock the public surface of agentslo.slo: other packages depend on exactly this."""

from __future__ import annotations

import dataclasses
import inspect

import agentslo.slo
from agentslo.slo import SLOStatus, evaluate_slo, evaluate_slos, load_slos


def test_surface() -> None:
    assert sorted(agentslo.slo.__all__) == sorted(
        [
            "BASE_WINDOW",
            "BUDGETING_METHODS",
            "COST_BUCKETS",
            "DURATION_BUCKETS",
            "FILTER_FIELDS",
            "FINDING_QUERIES",
            "METRICS",
            "RATIO_QUERIES",
            "THRESHOLD_OPS",
            "THRESHOLD_QUERIES",
            "WORKBOOK_ALERTS",
            "AlertWindow",
            "BurnRateAlert",
            "Indicator",
            "MetricQuery",
            "SLOSpec",
            "SLOSpecError",
            "SLOStatus",
            "Severity",
            "alert_windows",
            "evaluate_slo",
            "evaluate_slos",
            "histogram_buckets",
            "le_label",
            "load_slos",
            "prometheus_rules",
            "prometheus_rules_yaml",
        ]
    )
    for name in agentslo.slo.__all__:
        assert hasattr(agentslo.slo, name), name
    assert issubclass(agentslo.slo.SLOSpecError, ValueError)


def test_signatures() -> None:
    assert list(inspect.signature(load_slos).parameters) == ["paths"]
    assert str(inspect.signature(evaluate_slo)) == (
        "(store: 'Store', slo: 'SLOSpec', *, at: 'datetime | None' = None) -> 'SLOStatus'"
    )
    assert list(inspect.signature(evaluate_slos).parameters) == ["store", "slos", "at"]
    fields = {f.name for f in dataclasses.fields(SLOStatus)}
    assert {
        "name",
        "display_name",
        "objective",
        "target",
        "window",
        "budgeting_method",
        "sli",
        "good",
        "total",
        "error_budget_total",
        "error_budget_remaining",
        "burn_rates",
        "alerts",
    } <= fields
    assert isinstance(SLOStatus.firing, property) and callable(SLOStatus.to_dict)
