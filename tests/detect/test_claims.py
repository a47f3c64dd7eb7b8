"""Claim-execution gap: claimed actions without a successful call, and claimed
success that the verifier refuted."""

from __future__ import annotations

from datetime import timedelta

from tests.detect.builders import T0, modes, trace

from agentslo.detect import claims


def test_claimed_refund_without_a_refund_call() -> None:
    t = trace(
        {"kind": "agent", "input_text": "refund order 1234"},
        {
            "kind": "tool",
            "tool": "refund_order",
            "status": "error",
            "input_text": '{"order": 1234}',
        },
        {"output_text": "I have refunded order 1234 for you."},
    )
    found = claims.detect(t)
    assert modes(found) == [("unbacked_claim", 2)]
    assert found[0].evidence["objects"] == ["1234"]  # type: ignore[index]


def test_claim_backed_by_tool_name_or_object() -> None:
    by_name = trace({"kind": "tool", "tool": "refund_order"}, {"output_text": "I refunded it."})
    by_object = trace(
        {"kind": "tool", "tool": "payments", "input_text": '{"order": "1234"}'},
        {"output_text": "We successfully refunded order 1234."},
    )
    assert claims.detect(by_name) == [] and claims.detect(by_object) == []


def test_claimed_success_verified_as_failure() -> None:
    t = trace(
        {"output_text": "All done"},
        outcome="failure",
        outcome_source="verified",
        attributes={"claimed_outcome": "success"},
    )
    found = claims.detect(t)
    assert modes(found) == [("claimed_success_failed", 0)] and found[0].severity == "critical"
    judged = trace(
        {}, outcome="failure", outcome_source="judge", attributes={"claimed_outcome": "success"}
    )
    assert claims.detect(judged) == []


def test_the_final_answer_on_the_wrapping_agent_span_is_backed_by_the_calls_inside() -> None:
    t = trace(
        {
            "kind": "agent",
            "output_text": "I refunded $20 on order A-1234.",
            "ended_at": T0 + timedelta(seconds=9),
        },
        {"kind": "tool", "tool": "issue_refund", "input_text": '{"order_id": "A-1234"}'},
        {"output_text": "I refunded $20 on order A-1234."},
    )
    assert claims.detect(t) == []
    unbacked = trace(
        {"kind": "agent", "output_text": "I refunded order A-1234.", "ended_at": T0},
        {"kind": "tool", "tool": "issue_refund", "input_text": '{"order_id": "A-1234"}'},
    )
    assert modes(claims.detect(unbacked)) == [("unbacked_claim", 0)]


def test_reading_the_object_does_not_back_a_claimed_action_on_it() -> None:
    looked_up = trace(
        {"kind": "tool", "tool": "lookup_order", "input_text": '{"order_id": "A-1234"}'},
        {"output_text": "I refunded order A-1234."},
    )
    assert modes(claims.detect(looked_up)) == [("unbacked_claim", 1)]
    paid = trace(
        {"kind": "tool", "tool": "payments", "input_text": '{"order_id": "A-1234"}'},
        {"output_text": "I refunded order A-1234."},
    )
    assert claims.detect(paid) == []


def test_published_posted_and_issued_are_claims_too() -> None:
    for said in ("I published brief B-12.", "We posted notice 7781.", "I've issued refund R-9."):
        assert modes(claims.detect(trace({"output_text": said}))) == [("unbacked_claim", 0)], said
    backed = trace({"kind": "tool", "tool": "issue_refund"}, {"output_text": "I issued it."})
    assert claims.detect(backed) == []
