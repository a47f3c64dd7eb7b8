"""Failure to recover: a tool error, timeout or rate limit after which the run neither
retried, nor fell back to another tool, nor asked for clarification; and runs stuck
for several steps without any change of state.

A fault that is followed by any of the three reactions is a handled fault and not
a finding: transient faults are normal, ignoring them is not.
"""

from __future__ import annotations

import re
from typing import Final

from agentslo.detect._finding import finding
from agentslo.detect._text import quote
from agentslo.detect._trace import Trace, is_fault
from agentslo.model import Finding, Span

__all__ = ["NAME", "STUCK_STEPS", "detect"]

NAME: Final = "recovery"
#: Consecutive steps with the same output that make a run stuck.
STUCK_STEPS: Final = 4
_CLARIFY: Final = re.compile(
    r"\b(could you|can you (?:clarify|confirm|provide)|please (?:clarify|confirm|provide)|"
    r"which (?:one|of)|do you (?:mean|want)|clarif\w*)\b[^?]*\?",
    re.IGNORECASE,
)
_RATE: Final = re.compile(r"rate.?limit|429|too many requests|quota", re.IGNORECASE)


def detect(trace: Trace) -> list[Finding]:
    """Recovery findings of ``trace``: ``unrecovered_fault`` and ``stuck``."""
    return [*_unrecovered(trace), *_stuck(trace)]


def _fault_kind(span: Span) -> str:
    text = f"{span.error_type or ''} {span.output_text or ''}"
    if span.status == "timeout" or "timeout" in text.lower():
        return "timeout"
    if _RATE.search(text):
        return "rate_limit"
    return "error"


def _reaction(trace: Trace, step: int) -> str | None:
    """How the run reacted to the fault at ``step``: retry, fallback, clarify or None."""
    failed = trace.spans[step]
    for later in trace.spans[step + 1 :]:
        if later.kind == "tool":
            if (later.tool or later.name) == (failed.tool or failed.name):
                return "retry"
            if not is_fault(later):
                return "fallback"
        elif _CLARIFY.search(later.output_text or ""):
            return "clarify"
    return None


def _unrecovered(trace: Trace) -> list[Finding]:
    out: list[Finding] = []
    for step, span in enumerate(trace.spans):
        if span.kind != "tool" or not is_fault(span) or _reaction(trace, step) is not None:
            continue
        failed_run = trace.outcome == "failure"
        out.append(
            finding(
                trace,
                NAME,
                "unrecovered_fault",
                step,
                "high" if failed_run else "medium",
                {
                    "fault": _fault_kind(span),
                    "tool": span.tool or span.name,
                    "status": span.status,
                    "error_type": span.error_type,
                    "output": quote(span.output_text),
                    "span_ids": [span.span_id],
                    "why": "no retry, no fallback tool and no clarification request after it",
                },
            )
        )
    return out


def _stuck(trace: Trace) -> list[Finding]:
    run_start, previous = 0, None
    for step, span in enumerate([*trace.spans, None]):
        state = None if span is None else " ".join((span.output_text or "").split()) or None
        if state is not None and state == previous:
            continue
        if previous is not None and step - run_start >= STUCK_STEPS:
            steps = list(range(run_start, step))
            return [
                finding(
                    trace,
                    NAME,
                    "stuck",
                    run_start,
                    "medium",
                    {
                        "steps": steps,
                        "span_ids": [trace.spans[s].span_id for s in steps],
                        "repeated_output": quote(previous),
                    },
                )
            ]
        run_start, previous = step, state
    return []
