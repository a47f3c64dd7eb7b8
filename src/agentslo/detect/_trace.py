"""``Trace``: one run's spans in step order, the unit every detector reads.

Detectors are pure functions of a trace, so they run the same on spans loaded from
the store, on spans an importer has just built, and on spans a test writes by hand.
A step is a span's position in the run, ordered by start time (then span id), and
is the ``step`` every finding reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentslo.model import Span

__all__ = ["Trace", "instruction_of"]

#: Span statuses that count as a fault a run should recover from.
FAULT_STATUSES = frozenset({"error", "timeout", "cancelled"})


@dataclass(frozen=True)
class Trace:
    """A run's spans in step order, with what the detectors need about the run."""

    run_id: str
    spans: tuple[Span, ...]
    project: str = "default"
    agent: str | None = None
    version: str | None = None
    #: The run's effective outcome label (``success``/``failure``/``partial``), if any.
    outcome: str | None = None
    #: Where the effective outcome came from (``verified``, ``human``, ...).
    outcome_source: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, run_id: str, spans: Iterable[Span], **fields: Any) -> Trace:
        """A trace of ``spans`` sorted into step order."""
        ordered = sorted(spans, key=lambda s: (s.started_at, s.span_id))
        return cls(run_id=run_id, spans=tuple(ordered), **fields)

    @property
    def instruction(self) -> str:
        """The task as given to the run (see :func:`instruction_of`)."""
        return instruction_of(self.spans, self.attributes)

    def children(self) -> dict[str, list[int]]:
        """Parent span id -> steps of its children."""
        out: dict[str, list[int]] = {}
        for step, span in enumerate(self.spans):
            if span.parent_span_id:
                out.setdefault(span.parent_span_id, []).append(step)
        return out


def instruction_of(spans: Sequence[Span], attributes: dict[str, Any] | None = None) -> str:
    """The run's instruction: its ``instruction`` attribute, else the input of the
    first span that has one (the root agent span's input in instrumented traces)."""
    given = (attributes or {}).get("instruction")
    if isinstance(given, str) and given.strip():
        return given
    for span in spans:
        if span.input_text:
            return span.input_text
    return ""


def is_fault(span: Span) -> bool:
    """Whether ``span`` failed: an error, timeout or cancellation, or an error type."""
    return span.status in FAULT_STATUSES or bool(span.error_type)
