"""Shared test material: sample records of each kind, file writers and readers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"
TAU_FIXTURE = DATA / "gpt-4o-airline.json"

RUN: dict[str, Any] = {
    "record": "run",
    "run_id": "r1",
    "task_id": "refund-42",
    "agent": "support-bot",
    "version": "v2",
    "model": "gpt-4o",
    "environment": "production",
    "started_at": "2025-03-01T10:00:00+01:00",
    "ended_at": "2025-03-01T09:00:42.5Z",
    "status": "ok",
    "input_tokens": 1200,
    "output_tokens": 300,
    "cost_usd": 0.012,
    "steps": 4,
    "tool_calls": 2,
    "tool_errors": 0,
    "attributes": {"region": "eu", "tier": 2},
}
SPAN: dict[str, Any] = {
    "record": "span",
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "span_id": "00f067aa0ba902b7",
    "parent_span_id": "00f067aa0ba902b6",
    "run_id": "r1",
    "name": "execute_tool search_orders",
    "kind": "tool",
    "tool": "search_orders",
    "started_at": "2025-03-01T09:00:01Z",
    "ended_at": "2025-03-01T09:00:01.250Z",
    "status": "error",
    "error_type": "timeout",
    "input_text": '{"order": 42}',
    "attributes": {"retry": 1},
    "events": [{"name": "exception", "attributes": {"message": "read timed out"}}],
}
OUTCOME: dict[str, Any] = {
    "record": "outcome",
    "run_id": "r1",
    "label": "success",
    "score": 1.0,
    "source": "verified",
    "evaluator": "ticket-state",
    "recorded_at": "2025-03-01T12:00:00Z",
    "evidence": {"ticket": "T-1", "state": "resolved"},
}
FINDING: dict[str, Any] = {
    "record": "finding",
    "finding_id": "f1",
    "run_id": "r1",
    "span_id": "00f067aa0ba902b7",
    "detector": "loops",
    "mode": "repeated_tool_call",
    "severity": "low",
    "agent": "support-bot",
    "step": 3,
    "evidence": ["search_orders", "search_orders"],
    "created_at": "2025-03-01T12:30:00Z",
}


def write_jsonl(path: Path, records: list[dict[str, Any] | str]) -> Path:
    """Write records (dicts as JSON, strings verbatim) one per line."""
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_rejects(path: str | None) -> list[dict[str, Any]]:
    """The lines of a reject file, parsed."""
    assert path is not None, "expected a reject file"
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]
