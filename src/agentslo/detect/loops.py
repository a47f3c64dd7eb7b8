"""Step repetition and loops: the same tool called with the same arguments again and
again, agents handing work back and forth in a cycle, and runs stopped by a step
limit rather than by finishing.

Repeating a call is sometimes right (a retry after a fault, polling), so a repeat
counts only when the earlier identical calls *succeeded* and, where results were
recorded, *answered the same*: asking again for what was already answered is the
loop, while polling a status until it changes is not. Calls whose arguments were
not recorded are never counted: they cannot be shown to be the same call.
"""

from __future__ import annotations

import re
from typing import Final

from agentslo.detect._finding import finding
from agentslo.detect._text import quote
from agentslo.detect._trace import Trace, is_fault
from agentslo.model import Finding

__all__ = ["CYCLE_REPEATS", "NAME", "REPEATS", "detect"]

NAME: Final = "loops"
#: Successful identical calls that make a loop (the third asks for the answer twice over).
REPEATS: Final = 3
#: Consecutive repetitions of an agent cycle (A→B→A→B→A→B is 3 of length 2).
CYCLE_REPEATS: Final = 3
_LIMIT_WORDS: Final = (
    "max_turns",
    "max_steps",
    "step_limit",
    "recursion_limit",
    "max_iterations",
    "recursion_error",  # LangGraph's GraphRecursionError
)
_CAMEL: Final = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def detect(trace: Trace) -> list[Finding]:
    """Loop findings of ``trace``: ``repeated_call``, ``agent_cycle``, ``step_limit``."""
    return [*_repeated_calls(trace), *_agent_cycles(trace), *_step_limit(trace)]


def _repeated_calls(trace: Trace) -> list[Finding]:
    seen: dict[tuple[str, str, str | None], list[int]] = {}
    out: list[Finding] = []
    for step, span in enumerate(trace.spans):
        arguments = " ".join((span.input_text or "").split())
        if span.kind != "tool" or is_fault(span) or not arguments:
            continue  # unrecorded arguments cannot be shown to be the same
        answer = None if span.output_text is None else " ".join(span.output_text.split())
        key = (span.tool or span.name, arguments, answer)
        steps = seen.setdefault(key, [])
        steps.append(step)
        if len(steps) == REPEATS:
            out.append(
                finding(
                    trace,
                    NAME,
                    "repeated_call",
                    step,
                    "medium",
                    {
                        "tool": key[0],
                        "arguments": quote(key[1]),
                        "span_ids": [trace.spans[s].span_id for s in steps],
                        "steps": list(steps),
                        "why": f"{REPEATS} successful calls with the same arguments",
                    },
                )
            )
    return out


def _agent_cycles(trace: Trace) -> list[Finding]:
    """A cycle of 2 or 3 agents repeated at least ``CYCLE_REPEATS`` times in a row."""
    turns: list[tuple[int, str]] = []
    for step, span in enumerate(trace.spans):
        new_turn = not turns or turns[-1][1] != span.agent
        if span.agent and span.kind in ("agent", "handoff", "llm") and new_turn:
            turns.append((step, span.agent))
    names = [name for _, name in turns]
    for length in (2, 3):
        need = length * CYCLE_REPEATS
        for start in range(len(names) - need + 1):
            window = names[start : start + need]
            pattern = window[:length]
            if len(set(pattern)) == length and window == pattern * CYCLE_REPEATS:
                steps = [step for step, _ in turns[start : start + need]]
                return [
                    finding(
                        trace,
                        NAME,
                        "agent_cycle",
                        steps[-1],
                        "medium",
                        {
                            "cycle": pattern,
                            "repeats": CYCLE_REPEATS,
                            "steps": steps,
                            "span_ids": [trace.spans[s].span_id for s in steps],
                        },
                    )
                ]
    return []


def _step_limit(trace: Trace) -> list[Finding]:
    """Signals in snake case or as exception class names (``MaxTurnsExceeded`` of the
    OpenAI Agents SDK, ``AgentMaxStepsError`` of smolagents, ``GraphRecursionError``)."""
    for step, span in enumerate(trace.spans):
        marks = " ".join(
            _CAMEL.sub("_", str(v))
            for v in (span.error_type, span.attributes.get("stop_reason"), span.name)
            if v
        ).lower()
        hit = next((w for w in _LIMIT_WORDS if w in marks), None)
        if hit is not None:
            return [
                finding(
                    trace,
                    NAME,
                    "step_limit",
                    step,
                    "high",
                    {"signal": hit, "span_ids": [span.span_id], "steps_taken": len(trace.spans)},
                )
            ]
    return []
