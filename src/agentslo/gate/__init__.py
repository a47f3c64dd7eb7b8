"""Regression gates: always-valid sequential tests that decide whether a change may ship.

``evaluate_gate(store, GateSpec(...))`` compares a candidate arm of runs with a
baseline arm on success, finding rates (``loop_rate``...), percentiles and cost per
success and answers
``regressed``, ``safe`` or ``continue`` per metric and overall, with an
always-valid interval and p-value that stay honest however often it is looked at
(see docs/gates.md). ``evaluate_gates(store, "gates.yaml")`` does it for every
gate listed in a file, and ``prometheus_samples`` turns that into samples for
``/metrics``.
"""

from agentslo.gate._config import GateOutcome, evaluate_gates, load_gates
from agentslo.gate._data import ArmRuns, load_arms
from agentslo.gate._evaluate import (
    EXIT_CODES,
    GateResult,
    MetricResult,
    evaluate_arms,
    evaluate_gate,
)
from agentslo.gate._prometheus import prometheus_samples
from agentslo.gate._record import recorded_decisions
from agentslo.gate._spec import (
    DEFAULT_MARGINS,
    MIN_RUNS_FOR_SAFE,
    GateSpec,
    Metric,
    Selector,
    parse_margins,
    parse_metric,
    parse_selector,
)

__all__ = [
    "DEFAULT_MARGINS",
    "EXIT_CODES",
    "MIN_RUNS_FOR_SAFE",
    "ArmRuns",
    "GateOutcome",
    "GateResult",
    "GateSpec",
    "Metric",
    "MetricResult",
    "Selector",
    "evaluate_arms",
    "evaluate_gate",
    "evaluate_gates",
    "load_arms",
    "load_gates",
    "parse_margins",
    "parse_metric",
    "parse_selector",
    "prometheus_samples",
    "recorded_decisions",
]
