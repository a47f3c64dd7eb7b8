"""Gate state as Prometheus samples, for a server's ``/metrics``.

Each gate of a file yields, labelled by ``gate`` (and ``metric``):

- ``agentslo_gate_decision{gate, metric, decision}``: 1 for the current decision
  of each metric and of the gate (``metric="overall"``), 0 for the others;
  decision ``error`` when the gate could not be evaluated;
- ``agentslo_gate_p_value{gate, metric}``: the always-valid p-value of "no regression";
- ``agentslo_gate_runs{gate, metric, arm}``: runs with data per arm.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentslo.gate._config import GateOutcome

__all__ = ["DECISIONS", "Sample", "prometheus_samples"]

DECISIONS = ("regressed", "safe", "continue", "error")
#: (metric name, labels, value)
Sample = tuple[str, dict[str, str], float]


def _decision(gate: str, metric: str, decision: str) -> list[Sample]:
    return [
        (
            "agentslo_gate_decision",
            {"gate": gate, "metric": metric, "decision": d},
            float(d == decision),
        )
        for d in DECISIONS
    ]


def prometheus_samples(outcomes: Sequence[GateOutcome]) -> list[Sample]:
    """Samples for every gate in ``outcomes`` (see the module docstring)."""
    samples: list[Sample] = []
    for outcome in outcomes:
        gate = outcome.spec.key
        result = outcome.result
        if result is None:
            samples += _decision(gate, "overall", "error")
            continue
        samples += _decision(gate, "overall", result.decision)
        for m in result.metrics:
            samples += _decision(gate, m.metric, m.decision)
            samples.append(("agentslo_gate_p_value", {"gate": gate, "metric": m.metric}, m.p_value))
            for arm, runs in m.runs.items():
                labels = {"gate": gate, "metric": m.metric, "arm": arm}
                samples.append(("agentslo_gate_runs", labels, float(runs)))
    return samples
