"""Bad input: each is a clear, recorded failure of its trial, and the run continues."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agentslo.trials import Budget, SuiteNotFound, TrialResult, load_suite

Run = Callable[..., list[TrialResult]]


def _reason(results: list[TrialResult]) -> set[str | None]:
    return {r.reason for r in results}


def test_agent_reference_that_does_not_import(run: Run) -> None:
    results = run("no_such_module_xyz:agent", "refund-damage-1,restock-1")
    assert _reason(results) == {"agent_import"}
    assert all(r.run.status == "error" and r.outcome.label == "failure" for r in results)
    assert "no_such_module_xyz" in results[0].spans[0].events[-1]["detail"]
    (bad_attr,) = run("trial_agents:missing_attribute")
    assert bad_attr.reason == "agent_import"
    (malformed,) = run("trial_agents")  # no attribute part at all
    assert malformed.reason == "agent_import"


def test_suite_that_does_not_exist() -> None:
    with pytest.raises(SuiteNotFound, match=r"no suite 'nope'; known suites: .*opsdesk"):
        load_suite("nope")


def test_schema_violations_are_recoverable_tool_errors(run: Run) -> None:
    (result,) = run("schema_violator")
    assert result.passed, result.outcome.evidence
    errors = [s.error_type for s in result.spans if s.status == "error"]
    assert errors == ["invalid_arguments"] * 3 + ["unknown_tool"]
    assert result.run.tool_errors == 4
    bad = next(s for s in result.spans if s.error_type == "invalid_arguments")
    assert "name" in (bad.output_text or "")


@pytest.mark.parametrize(
    ("agent", "reason", "status"),
    [
        ("crash", "agent_error", "error"),
        ("exits", "agent_died", "error"),
        ("sys_exit", "agent_exit", "error"),
        ("channel_garbage", "protocol_error", "error"),
    ],
)
def test_broken_agents_fail_with_their_reason(
    run: Run, agent: str, reason: str, status: str
) -> None:
    results = run(agent, "refund-damage-1,restock-1", concurrency=1)
    assert _reason(results) == {reason}
    assert {r.run.status for r in results} == {status}
    assert all(not r.passed and r.outcome.source == "verified" for r in results)
    event = results[0].spans[0].events[-1]
    assert event["name"] == "trial_failed" and event["reason"] == reason


def test_hung_and_flooding_agents_are_stopped(run: Run) -> None:
    budget = Budget(timeout_s=1.0, max_output_bytes=200_000)
    hung = run("hang", "refund-damage-1,restock-1", budget=budget)
    assert _reason(hung) == {"timeout"} and {r.run.status for r in hung} == {"timeout"}
    assert all(r.duration_s < 5 for r in hung)
    (flooded,) = run("flood", budget=budget)
    assert flooded.reason == "output_flood"
    assert flooded.run.attributes["output_bytes"] > 200_000


def test_garbage_printed_by_the_agent_is_kept_out_of_the_channel(run: Run) -> None:
    (result,) = run("chatty")
    assert result.passed
    assert result.run.attributes["output_bytes"] > 0


def test_budgets_stop_the_agent(run: Run) -> None:
    (steps,) = run("spender", budget=Budget(max_steps=15))
    assert steps.reason == "budget_exceeded:steps"
    assert steps.run.steps == 16
    (tokens,) = run("token_burner", budget=Budget(max_tokens=120_000, max_cost_usd=100))
    assert tokens.reason == "budget_exceeded:tokens"
    (cost,) = run("token_burner", budget=Budget(max_cost_usd=1.0))
    assert cost.reason == "budget_exceeded:cost"
    assert cost.run.cost_usd is not None and cost.run.cost_usd > 1.0


def test_a_bad_trial_does_not_stop_the_run(run: Run) -> None:
    results = run("picky", "rollback-1,recall-1,triage-1", k=2, concurrency=1)
    by_task = {(r.spec.task.id, r.spec.trial): r for r in results}
    assert len(results) == 6
    assert {r.reason for (t, _), r in by_task.items() if t == "rollback-1"} == {"agent_error"}
    assert all(r.passed for (t, _), r in by_task.items() if t != "rollback-1")


def test_coroutine_agents_run(run: Run) -> None:
    (result,) = run("async_oracle")
    assert result.passed


def test_messages_not_from_this_trial_are_refused(run: Run) -> None:
    results = run("forger", "refund-damage-1,restock-1", concurrency=1)
    assert _reason(results) == {"protocol_error"}
    assert "not from this trial" in results[0].spans[0].events[-1]["detail"]
