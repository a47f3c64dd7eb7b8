"""Premature termination and missing verification: the run ends while sub-goals named
in its instruction are still open, or changes the world and never checks the result.

A sub-goal is a list item of the instruction (``1.``, ``2)``, ``-``, ``*``); it is
open when fewer than half of its content words appear in anything the run did
after receiving it. A changing call is a tool whose name holds a
verb that changes the world (``create``, ``send``, ``refund``, ``deploy``...); a
verification is a later successful call whose name reads, checks or tests
(``get``, ``lookup``, ``verify``, ``test``...). Tools named by neither are ignored,
and so are notifications (``send_email``, ``post_slack``, ``send_receipt``): telling
someone about a change is not a change an agent can read back, so a run that checks
its refund and then emails the customer has verified what it did. A name that starts
with a reading verb reads, whatever it reads about (``get_refund_status``).
"""

from __future__ import annotations

import re
from typing import Final

from agentslo.detect._finding import finding
from agentslo.detect._text import quote, tokens
from agentslo.detect._trace import Trace, is_fault
from agentslo.model import Finding, Span

__all__ = ["NAME", "detect", "subgoals"]

NAME: Final = "termination"
_ITEM: Final = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+(?P<goal>.+)$", re.MULTILINE)
_CHANGE: Final = frozenset(
    [
        "create",
        "update",
        "delete",
        "remove",
        "edit",
        "write",
        "send",
        "post",
        "issue",
        "refund",
        "deploy",
        "cancel",
        "book",
        "transfer",
        "charge",
        "merge",
        "restart",
        "insert",
        "put",
        "patch",
        "apply",
        "commit",
        "push",
        "page",
        "submit",
        "reserve",
        "pay",
        "modify",
        "set",
        "upload",
        "publish",
        "release",
    ]
)
_CHECK: Final = frozenset(
    [
        "get",
        "read",
        "list",
        "fetch",
        "search",
        "find",
        "query",
        "lookup",
        "describe",
        "grep",
        "diff",
        "verify",
        "check",
        "test",
        "tests",
        "validate",
        "assert",
        "inspect",
        "status",
        "show",
        "count",
    ]
)
#: Words of a tool name that make it a notification, not a change to verify.
_NOTIFY: Final = frozenset(
    ["email", "mail", "notify", "notification", "slack", "message", "sms", "reply", "receipt"]
)
_WORDS: Final = re.compile(r"[a-z]+")


def _words(span: Span) -> list[str]:
    """The words of a tool's name, in order (``issue_refund`` -> issue, refund)."""
    name = re.sub(r"([a-z])([A-Z])", r"\1 \2", span.tool or span.name)
    return _WORDS.findall(name.lower())


def _verbs(span: Span) -> set[str]:
    return set(_words(span))


def _changes(span: Span) -> bool:
    """A changing call: a changing verb in its name, unless the name starts with a
    reading verb (``get_refund_status`` reads a refund) or it only notifies."""
    words = _words(span)
    if not words or words[0] in _CHECK or set(words) & _NOTIFY:
        return False
    return bool(set(words) & _CHANGE)


def subgoals(instruction: str) -> list[str]:
    """The list items of ``instruction``: the sub-goals a complete run addresses."""
    return [m.group("goal").strip() for m in _ITEM.finditer(instruction)]


def detect(trace: Trace) -> list[Finding]:
    """Termination findings of ``trace``: ``open_subgoal`` and ``no_verification``."""
    return [*_open_subgoals(trace), *_no_verification(trace)]


def _open_subgoals(trace: Trace) -> list[Finding]:
    goals = subgoals(trace.instruction)
    if not goals or not trace.spans:
        return []
    done_words = set()
    for span in trace.spans[1:]:
        done_words.update(tokens(span.output_text))
        if span.kind == "tool":
            done_words.update(tokens(f"{span.tool or span.name} {span.input_text or ''}"))
    out: list[Finding] = []
    last = len(trace.spans) - 1
    for goal in goals:
        words = set(tokens(goal))
        if words and len(words & done_words) < len(words) / 2:
            out.append(
                finding(
                    trace,
                    NAME,
                    "open_subgoal",
                    last,
                    "medium",
                    {
                        "subgoal": quote(goal),
                        "missing_words": sorted(words - done_words),
                        "span_ids": [trace.spans[last].span_id],
                        "why": "the run ended without any step addressing this sub-goal",
                    },
                )
            )
    return out


def _no_verification(trace: Trace) -> list[Finding]:
    changing = [
        step
        for step, span in enumerate(trace.spans)
        if span.kind == "tool" and not is_fault(span) and _changes(span)
    ]
    if not changing:
        return []
    last = changing[-1]
    checked = any(
        span.kind == "tool" and not is_fault(span) and bool(_verbs(span) & _CHECK)
        for span in trace.spans[last + 1 :]
    )
    if checked:
        return []
    span = trace.spans[last]
    return [
        finding(
            trace,
            NAME,
            "no_verification",
            last,
            "low",
            {
                "last_change": span.tool or span.name,
                "span_ids": [span.span_id],
                "why": "no reading or checking tool call after the last change",
            },
        )
    ]
