"""Metric definitions as Ibis expressions: one definition, DuckDB or Spark runs it."""

from agentslo.metrics.outcomes import (
    ALL_SOURCES,
    TRUSTED_SOURCES,
    check_sources,
    effective_outcomes,
    runs_with_outcome,
)

__all__ = [
    "ALL_SOURCES",
    "TRUSTED_SOURCES",
    "check_sources",
    "effective_outcomes",
    "runs_with_outcome",
]
