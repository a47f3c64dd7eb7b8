"""Remember when each gate's boundary was first crossed (store table ``gate_decisions``).

A sequential gate's decision is taken the moment a boundary is crossed; the first
crossing per (gate, metric, decision) is written once and never overwritten, so
a dashboard, a server or an audit later sees when the rollout should have
stopped (``first_crossed_at``: start time of the run whose data crossed it, exact
for success and to within 1/256 of the stream for the ratio metrics; the
evaluation time if no crossing is found in the data).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agentslo.gate._evaluate import GateResult

__all__ = ["record_decisions", "recorded_decisions"]


def record_decisions(store: Any, result: GateResult) -> None:
    """Insert first crossings for ``regressed``/``safe`` metrics; fill in recorded instants."""
    key = result.spec.key
    project = _project(result)
    for m in result.metrics:
        if m.decision not in ("regressed", "safe"):
            continue
        store.con.execute(
            "INSERT OR IGNORE INTO gate_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                project,
                key,
                m.metric,
                m.decision,
                m.first_crossed_at or result.evaluated_at,
                result.evaluated_at,
                m.runs["baseline"],
                m.runs["candidate"],
                m.estimate,
                m.low,
                m.high,
                m.p_value,
            ],
        )
    recorded = recorded_decisions(store, key, project=project)
    for m in result.metrics:
        first = recorded.get((m.metric, m.decision))
        if first is not None:
            m.first_crossed_at = first


def _project(result: GateResult) -> str:
    """The project a gate's decisions belong to: its own, or '*' for all projects."""
    return result.spec.project or "*"


def recorded_decisions(
    store: Any, gate: str, *, project: str = "*"
) -> dict[tuple[str, str], datetime]:
    """(metric, decision) -> first crossing instant, for gate ``gate`` of ``project``."""
    rows = store.con.execute(
        "SELECT metric, decision, first_crossed_at FROM gate_decisions "
        "WHERE gate = ? AND project = ?",
        [gate, project],
    ).fetchall()
    return {(str(r[0]), str(r[1])): r[2] for r in rows}
