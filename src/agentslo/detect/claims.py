"""Claim-execution gap: actions an agent says it performed ("refunded order 1234",
"deployed v2") that no successful tool call did, and runs whose claimed success was
verified (or judged by a person) to be a failure.

A claim is a first-person or passive past-tense action verb in a reasoning step's
output. It is backed when a successful tool span that had finished by the time the
claiming span did names the action (its tool name holds the verb's stem) or
carries the claim's object (an entity such as ``1234`` in the call's arguments).
Finished, not earlier in step order: an agent span that wraps the run reports the
run's final answer as its output, and the calls inside it back that answer. A call
whose name starts with a reading verb (``lookup_order``, ``get_refund``) backs no
claim by its object: reading order 1234 refunds nothing.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from agentslo.detect._finding import finding
from agentslo.detect._text import entities, mentions, quote
from agentslo.detect._trace import Trace, is_fault
from agentslo.model import Finding, Span

__all__ = ["ACTIONS", "NAME", "detect"]

NAME: Final = "claims"
#: Action verb stem -> past-tense forms a claim uses.
ACTIONS: Final[dict[str, tuple[str, ...]]] = {
    "refund": ("refunded",),
    "deploy": ("deployed",),
    "cancel": ("cancelled", "canceled"),
    "book": ("booked",),
    "send": ("sent",),
    "email": ("emailed",),
    "creat": ("created",),
    "delet": ("deleted", "removed"),
    "updat": ("updated", "changed", "modified"),
    "transfer": ("transferred",),
    "schedul": ("scheduled",),
    "charg": ("charged",),
    "merg": ("merged",),
    "restart": ("restarted", "rebooted"),
    "reserv": ("reserved",),
    "submit": ("submitted",),
    "exchang": ("exchanged",),
    "return": ("returned",),
    "publish": ("published",),
    "post": ("posted",),
    "issu": ("issued",),
}
_VERB: Final = re.compile(
    r"\b(?:i|we|i've|we've|i have|we have|has been|have been|was|were|successfully)\s+"
    r"(?:\w+\s+)?(?P<verb>" + "|".join(v for forms in ACTIONS.values() for v in forms) + r")\b"
    r"(?P<object>[^.;\n]{0,80})",
    re.IGNORECASE,
)
_STEM: Final = {form: stem for stem, forms in ACTIONS.items() for form in forms}
#: First words of a tool name that only read (its object backs no claimed action).
_READS: Final = frozenset(
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
        "show",
        "check",
        "verify",
        "view",
        "count",
        "inspect",
        "status",
        "grep",
        "diff",
        "look",
    ]
)
_FIRST_WORD: Final = re.compile(r"[a-z]+")


def _reads(span: Span) -> bool:
    name = re.sub(r"([a-z])([A-Z])", r"\1 \2", span.tool or span.name).lower()
    first = _FIRST_WORD.search(name)
    return first is not None and first.group(0) in _READS


def detect(trace: Trace) -> list[Finding]:
    """Claim findings of ``trace``: ``unbacked_claim`` and ``claimed_success_failed``."""
    return [*_unbacked(trace), *_claimed_but_failed(trace)]


def _finished(span: Span) -> datetime:
    return span.ended_at or span.started_at


def _unbacked(trace: Trace) -> list[Finding]:
    out: list[Finding] = []
    for step, span in enumerate(trace.spans):
        if span.kind == "tool" or not span.output_text:
            continue
        said_at = _finished(span)
        done = [
            s
            for i, s in enumerate(trace.spans)
            if s.kind == "tool" and not is_fault(s) and (i <= step or _finished(s) <= said_at)
        ]
        for match in _VERB.finditer(span.output_text):
            stem = _STEM[match.group("verb").lower()]
            objects = list(entities(match.group("object")))
            backed = any(
                stem in (s.tool or s.name).lower()
                or (not _reads(s) and any(mentions(s.input_text, o) for o in objects))
                for s in done
            )
            if not backed:
                out.append(
                    finding(
                        trace,
                        NAME,
                        "unbacked_claim",
                        step,
                        "high",
                        {
                            "claim": quote(match.group(0)),
                            "action": stem,
                            "objects": objects,
                            "span_ids": [span.span_id],
                            "why": "no successful tool call did this action",
                        },
                    )
                )
                break
    return out


def _claimed_but_failed(trace: Trace) -> list[Finding]:
    claimed = trace.attributes.get("claimed_outcome")
    if claimed != "success" or trace.outcome != "failure":
        return []
    if trace.outcome_source not in ("verified", "human"):
        return []
    last = len(trace.spans) - 1 if trace.spans else None
    return [
        finding(
            trace,
            NAME,
            "claimed_success_failed",
            last,
            "critical",
            {
                "claimed": "success",
                "effective": trace.outcome,
                "source": trace.outcome_source,
                "span_ids": [trace.spans[last].span_id] if last is not None else [],
            },
        )
    ]
