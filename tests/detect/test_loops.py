"""Loops: repeated successful calls, agent cycles, step limits — and what is not a loop."""

from __future__ import annotations

from tests.detect.builders import modes, trace

from agentslo.detect import loops


def _call(args: str, status: str = "ok") -> dict[str, object]:
    return {"kind": "tool", "tool": "search", "input_text": args, "status": status}


def test_third_identical_successful_call_is_a_loop() -> None:
    t = trace(
        {"input_text": "find x"}, _call('{"q": "x"}'), _call('{"q":  "x"}'), _call('{"q": "x"}')
    )
    found = loops.detect(t)
    assert modes(found) == [("repeated_call", 3)]
    assert found[0].evidence["steps"] == [1, 2, 3]  # type: ignore[index]
    assert found[0].span_id == "r1-s3"


def test_retries_after_errors_and_different_arguments_are_not_loops() -> None:
    t = trace(
        {"input_text": "find x"},
        _call('{"q": "x"}', "error"),
        _call('{"q": "x"}', "error"),
        _call('{"q": "x"}'),
        _call('{"q": "y"}'),
        _call('{"q": "z"}'),
    )
    assert loops.detect(t) == []


def test_calls_without_recorded_arguments_are_not_compared() -> None:
    assert loops.detect(trace({}, _call(""), _call(""), _call(""))) == []


def test_agent_ping_pong_is_a_cycle() -> None:
    turns = [{"kind": "agent", "agent": a} for a in "ABABAB"]
    found = loops.detect(trace(*turns))
    assert modes(found) == [("agent_cycle", 5)]
    assert found[0].evidence["cycle"] == ["A", "B"]  # type: ignore[index]
    assert loops.detect(trace(*turns[:5])) == []  # two and a half rounds: not yet


def test_step_limit_from_error_type() -> None:
    t = trace(
        {"kind": "agent"},
        {"kind": "agent", "status": "error", "error_type": "MaxTurnsExceeded max_turns"},
    )
    assert modes(loops.detect(t)) == [("step_limit", 1)]


def test_step_limit_from_framework_exception_names() -> None:
    for error in ("MaxTurnsExceeded", "AgentMaxStepsError", "GraphRecursionError"):
        t = trace({"kind": "llm"}, {"kind": "agent", "status": "error", "error_type": error})
        assert modes(loops.detect(t)) == [("step_limit", 1)], error
    assert loops.detect(trace({"kind": "agent", "error_type": "MaxRetryError"})) == []


def test_polling_until_the_answer_changes_is_not_a_loop() -> None:
    def poll(answer: str) -> dict[str, object]:
        return {**_call('{"id": 7}'), "output_text": answer}

    assert loops.detect(trace({}, poll("pending"), poll("pending"), poll("done"))) == []
    same = trace({}, poll("pending"), poll("pending"), poll(" pending "))
    assert modes(loops.detect(same)) == [("repeated_call", 3)]
