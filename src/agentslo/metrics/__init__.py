"""Metric definitions as Ibis expressions: one definition, DuckDB or Spark runs it."""

from agentslo.metrics.findings import FINDING_RATES, check_finding_rate, runs_with_finding_flags
from agentslo.metrics.outcomes import (
    ALL_SOURCES,
    TRUSTED_SOURCES,
    check_sources,
    effective_outcomes,
    outcome_index,
    runs_with_index,
    runs_with_outcome,
)
from agentslo.metrics.report import (
    GROUP_COLUMNS,
    MEASURES,
    QUANTILES,
    GroupMetrics,
    Report,
    ReportQuery,
    check_group_by,
    fleet_report,
    report_from_tables,
)

__all__ = [
    "ALL_SOURCES",
    "FINDING_RATES",
    "GROUP_COLUMNS",
    "MEASURES",
    "QUANTILES",
    "TRUSTED_SOURCES",
    "GroupMetrics",
    "Report",
    "ReportQuery",
    "check_finding_rate",
    "check_group_by",
    "check_sources",
    "effective_outcomes",
    "fleet_report",
    "outcome_index",
    "report_from_tables",
    "runs_with_finding_flags",
    "runs_with_index",
    "runs_with_outcome",
]
