"""Hand-offs: entities and must/never clauses lost on the way, and dropped fields."""

from __future__ import annotations

import json

from tests.detect.builders import modes, trace

from agentslo.detect import handoff

TASK = "Refund $120.50 on order ORD-7731 placed 2026-01-03. Never refund the shipping fee."


def test_entity_and_clause_lost_at_a_handoff() -> None:
    t = trace(
        {"kind": "agent", "agent": "triage", "input_text": TASK},
        {
            "kind": "handoff",
            "agent": "billing",
            "input_text": "Customer wants a refund for ORD-7731.",
        },
        {"kind": "llm", "agent": "billing", "output_text": "Refunding order ORD-7731 now."},
    )
    found = handoff.detect(t)
    assert modes(found) == [("lost_context", 1)]
    evidence = found[0].evidence
    assert evidence["lost_entities"] == {"$120.50": "amount", "2026-01-03": "date"}  # type: ignore[index]
    assert evidence["lost_constraints"] == ["Never refund the shipping fee"]  # type: ignore[index]
    assert found[0].severity == "high" and found[0].agent == "billing"


def test_context_carried_later_by_the_receiver_is_not_lost() -> None:
    t = trace(
        {"kind": "agent", "agent": "triage", "input_text": "Refund order ORD-7731 by 2026-01-03."},
        {"kind": "agent", "agent": "billing", "input_text": "refund ORD-7731"},
        {
            "kind": "tool",
            "agent": "billing",
            "tool": "refund",
            "input_text": '{"order": "ORD-7731", "by": "2026-01-03"}',
        },
    )
    assert handoff.handoff_steps(t) == [1]
    assert handoff.detect(t) == []


def test_structured_handoff_missing_a_required_field() -> None:
    t = trace(
        {"kind": "agent", "agent": "a", "input_text": "book it"},
        {
            "kind": "handoff",
            "agent": "b",
            "input_text": json.dumps({"city": "Oslo", "date": ""}),
            "attributes": {handoff.REQUIRED_ATTRIBUTE: ["city", "date"]},
        },
    )
    assert modes(handoff.detect(t)) == [("dropped_field", 1)]


def test_the_receiver_is_named_by_handoff_to_when_the_sender_emits_the_span() -> None:
    t = trace(
        {"kind": "agent", "agent": "triage", "input_text": TASK},
        {
            "kind": "handoff",
            "agent": "triage",
            "input_text": "Refund order ORD-7731; never refund the shipping fee.",
            "attributes": {"handoff.to": "billing"},
        },
        {
            "kind": "agent",
            "agent": "billing",
            "input_text": "Refund order ORD-7731; never refund the shipping fee.",
        },
        {
            "kind": "tool",
            "agent": "billing",
            "tool": "refund",
            "input_text": '{"order": "ORD-7731", "amount": "$120.50", "placed": "2026-01-03"}',
        },
        {"kind": "llm", "agent": "triage", "output_text": "Handed over."},
    )
    # what the receiver did afterwards counts (it carried the amount and the date on)
    assert handoff.detect(t) == []
    dropped = trace(
        {"kind": "agent", "agent": "triage", "input_text": TASK},
        {
            "kind": "handoff",
            "agent": "triage",
            "input_text": "Refund order ORD-7731; never refund the shipping fee.",
            "attributes": {"handoff.to": "billing"},
        },
        {"kind": "llm", "agent": "triage", "output_text": "Refund $120.50, placed 2026-01-03."},
    )
    found = handoff.detect(dropped)  # the sender knowing it later does not help the receiver
    assert modes(found) == [("lost_context", 1)] and found[0].evidence["to_agent"] == "billing"
