"""A compact way to write traces by hand: one tuple of fields per step."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from agentslo.detect import Trace
from agentslo.model import Span

T0 = datetime(2026, 1, 1, 12, 0, 0)


def span(step: int, kind: str = "llm", run_id: str = "r1", **fields: Any) -> Span:
    """Span number ``step`` of run ``run_id`` (a second after the previous one)."""
    fields.setdefault("name", fields.get("tool") or kind)
    return Span(
        trace_id=f"t-{run_id}",
        span_id=f"{run_id}-s{step}",
        run_id=run_id,
        kind=kind,  # type: ignore[arg-type]
        started_at=T0 + timedelta(seconds=step),
        **fields,
    )


def trace(*steps: dict[str, Any], run_id: str = "r1", **fields: Any) -> Trace:
    """A trace whose step *i* is ``span(i, **steps[i])``."""
    return Trace.of(run_id, [span(i, run_id=run_id, **s) for i, s in enumerate(steps)], **fields)


def modes(findings: list[Any]) -> list[tuple[str, int | None]]:
    """(mode, step) of each finding, for compact assertions."""
    return [(f.mode, f.step) for f in findings]
