"""Root cause: the step that issued the earliest fault, else the first decision."""

from __future__ import annotations

from tests.detect.builders import modes, trace

from agentslo.detect import attribute, root_cause


def test_earliest_fault_is_blamed_on_the_step_that_issued_it() -> None:
    t = trace(
        {"kind": "llm", "agent": "planner", "input_text": "task"},
        {"kind": "llm", "agent": "coder", "output_text": "```python\nimport foo\n```"},
        {
            "kind": "tool",
            "agent": "terminal",
            "status": "error",
            "output_text": "ModuleNotFoundError",
        },
        {"kind": "llm", "agent": "coder", "output_text": "retry"},
        {"kind": "tool", "agent": "terminal", "status": "error"},
        outcome="failure",
    )
    found = attribute(t)
    assert found is not None
    assert (found.step, found.agent, found.rule, found.faults) == (
        1,
        "coder",
        "earliest_fault",
        (2, 4),
    )
    assert modes(root_cause.detect(t)) == [("root_cause", 1), ("cascade", 1)]


def test_parent_link_wins_over_position() -> None:
    t = trace(
        {"kind": "llm", "agent": "a", "input_text": "task"},
        {"kind": "llm", "agent": "b"},
        {"kind": "llm", "agent": "c"},
        {"kind": "tool", "status": "error", "parent_span_id": "r1-s1"},
    )
    found = attribute(t)
    assert found is not None and (found.step, found.agent) == (1, "b")


def test_failure_without_faults_blames_the_first_decision() -> None:
    t = trace(
        {"kind": "agent", "agent": "root", "input_text": "task"},
        {"kind": "tool", "tool": "search"},
        {"kind": "llm", "agent": "solver", "output_text": "The answer is 12"},
        {"kind": "llm", "agent": "checker", "output_text": "Looks right"},
        outcome="failure",
    )
    found = attribute(t)
    assert found is not None and (found.step, found.agent, found.rule) == (
        2,
        "solver",
        "first_decision",
    )


def test_successful_run_without_faults_has_no_findings() -> None:
    t = trace({"input_text": "task"}, {"output_text": "done"}, outcome="success")
    assert root_cause.detect(t) == []
    assert attribute(trace()) is None


def test_a_fault_under_an_agent_span_is_blamed_on_its_latest_model_call() -> None:
    t = trace(
        {"kind": "agent", "agent": "bot", "input_text": "task"},
        {"kind": "llm", "agent": "bot", "parent_span_id": "r1-s0"},
        {"kind": "llm", "agent": "bot", "parent_span_id": "r1-s0", "output_text": "call x"},
        {"kind": "tool", "status": "error", "parent_span_id": "r1-s0"},
    )
    found = attribute(t)
    assert found is not None and (found.step, found.agent) == (2, "bot")
    bare = trace(
        {"kind": "agent", "agent": "bot", "input_text": "task"},
        {"kind": "tool", "status": "error", "parent_span_id": "r1-s0"},
    )
    found = attribute(bare)
    assert found is not None and found.step == 0


def test_faults_a_retry_made_good_are_no_cascade() -> None:
    def call(status: str, args: str = '{"id": 1}') -> dict[str, object]:
        return {"kind": "tool", "tool": "pay", "status": status, "input_text": args}

    retried = trace({"kind": "llm", "agent": "a"}, call("error"), call("error"), call("ok"))
    assert modes(root_cause.detect(retried)) == []
    spread = trace(
        {"kind": "llm", "agent": "a"},
        call("error"),
        call("error", '{"id": 2}'),
        call("ok", '{"id": 3}'),
    )
    assert modes(root_cause.detect(spread)) == [("cascade", 0)]
