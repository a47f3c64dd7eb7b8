"""Cascading errors and root cause: the earliest decisive step of a failed run, with
the agent to blame and the faults it led to.

The rule, in order:

1. If a tool (or any) step failed, the earliest fault is the first visible effect
   of the error. Its cause is the step that issued it: its parent when the
   parent is a model call (``llm``); when the parent is an ``agent`` span (the
   wrapper instrumented frameworks put around an agent's calls), the latest
   model call under that agent before the fault; else the nearest earlier
   non-tool step — the agent that wrote the failing call. Every later fault is
   reported as part of the cascade.
2. Otherwise (a run that failed without any fault) the decisive step is the first
   non-tool step after the one carrying the instruction: the first place an agent
   committed to a plan or an answer that everything after it built on.

No text of the log's answer is needed, so the rule applies to any failed run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from agentslo.detect._finding import finding
from agentslo.detect._text import quote
from agentslo.detect._trace import Trace, is_fault
from agentslo.model import Finding

__all__ = ["NAME", "Attribution", "attribute", "detect"]

NAME: Final = "root_cause"
_REASONING: Final = ("llm", "agent", "handoff", "chain", "other")


@dataclass(frozen=True)
class Attribution:
    """Where a failure started: a step, its agent, and the faults downstream of it."""

    step: int
    agent: str | None
    rule: str
    faults: tuple[int, ...]


def _issuer(trace: Trace, fault: int) -> int:
    spans = trace.spans
    parent = spans[fault].parent_span_id
    if parent:
        for step in range(fault - 1, -1, -1):
            if spans[step].span_id == parent and spans[step].kind in ("llm", "agent"):
                if spans[step].kind == "agent":  # a wrapper: its latest model call wrote it
                    for k in range(fault - 1, step, -1):
                        if spans[k].parent_span_id == parent and spans[k].kind == "llm":
                            return k
                return step
    if spans[fault].kind != "tool":
        return fault
    for step in range(fault - 1, -1, -1):
        if spans[step].kind in _REASONING:
            return step
    return fault


def attribute(trace: Trace) -> Attribution | None:
    """The root cause of ``trace`` (see the module docstring); None for an empty trace."""
    spans = trace.spans
    if not spans:
        return None
    faults = tuple(step for step, span in enumerate(spans) if is_fault(span))
    if faults:
        step = _issuer(trace, faults[0])
        return Attribution(step, spans[step].agent, "earliest_fault", faults)
    parents = {s.parent_span_id for s in spans if s.parent_span_id}
    candidates = [
        step
        for step, span in enumerate(spans)
        if step > 0 and span.kind in _REASONING and span.span_id not in parents
    ]
    step = candidates[0] if candidates else 0
    return Attribution(step, spans[step].agent, "first_decision", ())


def _retried_ok(trace: Trace, fault: int) -> bool:
    """Whether a later successful call of the same tool (same arguments, where both
    were recorded) made good the fault: a transient fault, not a spreading one."""
    failed = trace.spans[fault]
    args = " ".join((failed.input_text or "").split())
    for later in trace.spans[fault + 1 :]:
        if later.kind != "tool" or is_fault(later):
            continue
        if (later.tool or later.name) != (failed.tool or failed.name):
            continue
        again = " ".join((later.input_text or "").split())
        if not args or not again or again == args:
            return True
    return False


def detect(trace: Trace) -> list[Finding]:
    """A ``root_cause`` finding for a failed run (outcome ``failure``), and a
    ``cascade`` finding when one error led to two or more faults that no retry of
    the same call made good, in any run."""
    found = attribute(trace)
    if found is None:
        return []
    out: list[Finding] = []
    cause = trace.spans[found.step]
    evidence = {
        "rule": found.rule,
        "quote": quote(cause.output_text or cause.input_text),
        "fault_steps": list(found.faults),
        "span_ids": [cause.span_id, *(trace.spans[s].span_id for s in found.faults)],
    }
    if trace.outcome == "failure":
        out.append(finding(trace, NAME, "root_cause", found.step, "high", evidence))
    if sum(not _retried_ok(trace, f) for f in found.faults) >= 2:
        out.append(finding(trace, NAME, "cascade", found.step, "medium", evidence))
    return out
