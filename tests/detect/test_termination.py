"""Premature termination (open sub-goals) and missing verification."""

from __future__ import annotations

from tests.detect.builders import modes, trace

from agentslo.detect import termination

TASK = "Please do the following:\n1. cancel the booking\n2. email the customer a receipt\n"


def test_subgoals_are_list_items() -> None:
    assert termination.subgoals(TASK) == ["cancel the booking", "email the customer a receipt"]


def test_unaddressed_subgoal_is_open() -> None:
    t = trace(
        {"kind": "agent", "input_text": TASK},
        {"kind": "tool", "tool": "cancel_booking", "input_text": '{"booking": 7}'},
        {"kind": "tool", "tool": "get_booking"},
        {"output_text": "The booking is cancelled."},
    )
    found = termination.detect(t)
    assert modes(found) == [("open_subgoal", 3)]
    assert found[0].evidence["subgoal"] == "email the customer a receipt"  # type: ignore[index]


def test_change_without_a_later_check_is_unverified() -> None:
    t = trace(
        {"kind": "agent", "input_text": "deploy v2"},
        {"kind": "tool", "tool": "get_status"},
        {"kind": "tool", "tool": "deploy"},
        {"output_text": "Deployed."},
    )
    assert modes(termination.detect(t)) == [("no_verification", 2)]
    checked = trace(
        {"kind": "agent", "input_text": "deploy v2"},
        {"kind": "tool", "tool": "deploy"},
        {"kind": "tool", "tool": "verify_deployment"},
    )
    assert termination.detect(checked) == []


def test_tools_named_by_neither_verb_list_are_ignored_and_camel_case_is_split() -> None:
    assert termination.detect(trace({"kind": "tool", "tool": "code_execution"})) == []
    t = trace({"kind": "tool", "tool": "issueRefund"}, {"kind": "tool", "tool": "lookupOrder"})
    assert termination.detect(t) == []
    assert modes(termination.detect(trace({"kind": "tool", "tool": "issueRefund"}))) == [
        ("no_verification", 0)
    ]


def test_a_notification_after_the_verified_change_needs_no_check() -> None:
    t = trace(
        {"kind": "tool", "tool": "issue_refund"},
        {"kind": "tool", "tool": "get_refund_status"},
        {"kind": "tool", "tool": "send_email"},
        {"kind": "tool", "tool": "post_slack"},
    )
    assert termination.detect(t) == []
    unchecked = trace(
        {"kind": "tool", "tool": "issue_refund"}, {"kind": "tool", "tool": "send_email"}
    )
    assert modes(termination.detect(unchecked)) == [("no_verification", 0)]
