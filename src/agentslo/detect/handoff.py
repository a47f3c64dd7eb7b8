"""Context lost at hand-offs: entities (numbers, ids, amounts, dates) and must/never
clauses of the instruction that a hand-off's payload does not carry and that the
receiving agent never mentions afterwards; and structured hand-offs that drop a
field they declare required.

A hand-off is a ``handoff`` span, or an ``agent`` span whose agent differs from the
agent of the span before it. Its payload is its input text and attributes. The
receiving agent is the span's ``handoff.to`` attribute when it has one (a hand-off
span is usually emitted by the sender, as the importers and the demo record it),
else the span's own agent.
"""

from __future__ import annotations

import json
from typing import Any, Final

from agentslo.detect._finding import finding
from agentslo.detect._text import constraints, entities, mentions, tokens
from agentslo.detect._trace import Trace
from agentslo.model import Finding, Span

__all__ = ["NAME", "REQUIRED_ATTRIBUTE", "detect", "handoff_steps"]

NAME: Final = "handoff"
#: Span attribute listing the fields a structured hand-off must carry.
REQUIRED_ATTRIBUTE: Final = "handoff.required_fields"


def handoff_steps(trace: Trace) -> list[int]:
    """Steps of ``trace`` that hand work to another agent."""
    out: list[int] = []
    previous: str | None = None
    for step, span in enumerate(trace.spans):
        if span.kind == "handoff" or (
            span.kind == "agent" and previous is not None and span.agent not in (None, previous)
        ):
            out.append(step)
        if span.agent:
            previous = span.agent
    return out


def detect(trace: Trace) -> list[Finding]:
    """Hand-off findings of ``trace``: ``lost_context`` and ``dropped_field``."""
    instruction = trace.instruction
    wanted = entities(instruction)
    rules = constraints(instruction)
    out: list[Finding] = []
    for step in handoff_steps(trace):
        span = trace.spans[step]
        receiver = _receiver(span)
        payload = f"{span.input_text or ''} {json.dumps(span.attributes, default=str)}"
        after = " ".join(
            f"{s.input_text or ''} {s.output_text or ''}"
            for s in trace.spans[step + 1 :]
            if receiver is None or s.agent in (None, receiver)
        )
        lost = [e for e in wanted if not mentions(payload, e) and not mentions(after, e)]
        payload_words = set(tokens(payload)) | set(tokens(after))
        lost_rules = [c.text for c in rules if len(set(c.words) & payload_words) < len(c.words) / 2]
        if lost or lost_rules:
            out.append(
                finding(
                    trace,
                    NAME,
                    "lost_context",
                    step,
                    "high" if lost_rules else "medium",
                    {
                        "to_agent": receiver,
                        "lost_entities": {e: wanted[e] for e in lost},
                        "lost_constraints": lost_rules,
                        "span_ids": [span.span_id],
                        "why": "in the instruction, not in the hand-off or what followed it",
                    },
                )
            )
        out += _dropped_fields(trace, step, span)
    return out


def _receiver(span: Span) -> str | None:
    """The agent a hand-off span hands to: ``handoff.to``, else the span's agent."""
    target = span.attributes.get("handoff.to")
    return target if isinstance(target, str) and target else span.agent


def _dropped_fields(trace: Trace, step: int, span: Span) -> list[Finding]:
    required = span.attributes.get(REQUIRED_ATTRIBUTE)
    if not isinstance(required, list) or not required:
        return []
    try:
        payload: Any = json.loads(span.input_text or "")
    except ValueError:
        payload = None
    present = payload if isinstance(payload, dict) else {}
    missing = [f for f in required if present.get(str(f)) in (None, "", [], {})]
    if not missing:
        return []
    return [
        finding(
            trace,
            NAME,
            "dropped_field",
            step,
            "high",
            {
                "to_agent": _receiver(span),
                "missing_fields": missing,
                "span_ids": [span.span_id],
                "why": f"declared required by {REQUIRED_ATTRIBUTE}, absent from the payload",
            },
        )
    ]
