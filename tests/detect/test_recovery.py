"""Recovery: a fault with no retry, fallback or clarification is a finding; one with
any of them is not; a run repeating the same output is stuck."""

from __future__ import annotations

import pytest
from tests.detect.builders import modes, trace

from agentslo.detect import recovery

FAULT = {
    "kind": "tool",
    "tool": "payments",
    "status": "error",
    "error_type": "RateLimitError",
    "output_text": "429 Too Many Requests",
}


def test_fault_then_giving_up_is_unrecovered() -> None:
    t = trace({"input_text": "refund"}, FAULT, {"output_text": "Sorry, done."}, outcome="failure")
    found = recovery.detect(t)
    assert modes(found) == [("unrecovered_fault", 1)]
    assert found[0].severity == "high"
    assert found[0].evidence["fault"] == "rate_limit"  # type: ignore[index]


@pytest.mark.parametrize(
    "reaction",
    [
        {"kind": "tool", "tool": "payments", "status": "ok"},  # retry
        {"kind": "tool", "tool": "payments_backup", "status": "ok"},  # fallback
        {"kind": "llm", "output_text": "Could you confirm the order number?"},  # clarification
    ],
)
def test_handled_faults_are_not_findings(reaction: dict[str, object]) -> None:
    assert recovery.detect(trace({"input_text": "refund"}, FAULT, reaction)) == []


def test_timeout_kind_and_medium_severity_without_a_failed_outcome() -> None:
    t = trace({}, {"kind": "tool", "tool": "db", "status": "timeout"})
    found = recovery.detect(t)
    assert found[0].evidence["fault"] == "timeout" and found[0].severity == "medium"  # type: ignore[index]


def test_same_output_four_times_is_stuck() -> None:
    same = {"output_text": "Checking the status..."}
    assert modes(recovery.detect(trace({}, same, same, same, same, {"output_text": "x"}))) == [
        ("stuck", 1)
    ]
    assert recovery.detect(trace({}, same, same, same, {"output_text": "x"})) == []


def test_the_same_status_polled_with_the_same_words_between_is_stuck() -> None:
    poll = {"kind": "tool", "tool": "status", "output_text": '{"status": "pending"}'}
    say = {"output_text": "Still pending; checking again."}
    stuck = trace({}, poll, say, poll, say, poll, say, poll, {"output_text": "giving up"})
    found = recovery.detect(stuck)
    assert modes(found) == [("stuck", 1)]
    assert found[0].evidence["steps"] == [1, 2, 3, 4, 5, 6, 7]  # type: ignore[index]
    settles = trace({}, poll, say, poll, say, poll, {"kind": "tool", "output_text": "done"})
    assert recovery.detect(settles) == []
