"""SLOs from OpenSLO v1 specs: SLI, error budget, and multiwindow burn-rate alerts.

Load specs with :func:`load_slos`, evaluate them over a store with
:func:`evaluate_slo` / :func:`evaluate_slos`, and export the same alerts as
Prometheus rules with :func:`prometheus_rules`. The spec format, the queries and
the alert windows are documented in ``docs/slo.md``.
"""

from agentslo.slo._alerts import BASE_WINDOW, WORKBOOK_ALERTS, AlertWindow, Severity, alert_windows
from agentslo.slo._evaluate import BurnRateAlert, SLOStatus, evaluate_slo, evaluate_slos
from agentslo.slo._rules import (
    COST_BUCKETS,
    DURATION_BUCKETS,
    METRICS,
    histogram_buckets,
    le_label,
    prometheus_rules,
    prometheus_rules_yaml,
)
from agentslo.slo._spec import (
    BUDGETING_METHODS,
    FILTER_FIELDS,
    FINDING_QUERIES,
    RATIO_QUERIES,
    THRESHOLD_OPS,
    THRESHOLD_QUERIES,
    Indicator,
    MetricQuery,
    SLOSpec,
    SLOSpecError,
    load_slos,
)

__all__ = [
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
