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
    """The first stretch without a change of state: one state repeated ``STUCK_STEPS``
    times in a row, or a pair of states alternating until the first of them has come
    ``STUCK_STEPS`` times (the same status polled with "checking again" between).

    A step's state is its output; a tool call's is also what it was called with, so a
    run that tries new queries and gets nothing back is not stuck (it is looping,
    and ``loops`` or a step limit says so) — it is changing what it does."""
    states = [_state(s) for s in trace.spans]
    for period in (1, 2):
        need = period * (STUCK_STEPS - 1) + 1
        step = period
        while step < len(states):
            if not _repeats(states, step, period):
                step += 1
                continue
            last = step
            while last + 1 < len(states) and _repeats(states, last + 1, period):
                last += 1
            first = step - period
            if last - first + 1 >= need:
                return [_stuck_finding(trace, list(range(first, last + 1)), period)]
            step = last + 1
    return []


def _state(span: Span) -> str | None:
    output = " ".join((span.output_text or "").split())
    if not output:
        return None
    if span.kind != "tool":
        return output
    return "\x1f".join([span.tool or span.name, " ".join((span.input_text or "").split()), output])


def _repeats(states: list[str | None], step: int, period: int) -> bool:
    """Whether the state at ``step`` is the one ``period`` steps before (and, for a
    pair, not also the one just before: that is the single-state case)."""
    state = states[step]
    if state is None or state != states[step - period]:
        return False
    return period == 1 or state != states[step - 1]


def _stuck_finding(trace: Trace, steps: list[int], period: int) -> Finding:
    outputs = list(dict.fromkeys(trace.spans[s].output_text or "" for s in steps))[:period]
    return finding(
        trace,
        NAME,
        "stuck",
        steps[0],
        "medium",
        {
            "steps": steps,
            "span_ids": [trace.spans[s].span_id for s in steps],
            "repeated_output": quote(" | ".join(outputs)),
        },
    )
