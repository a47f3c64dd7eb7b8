"""Agent adapters: pydantic-ai (offline FunctionModel/TestModel) and the OpenAI loop
against a local scripted OpenAI-compatible server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.openai_server import ScriptedOpenAIServer
from typer.testing import CliRunner

from agentslo.cli.app import app
from agentslo.trials import TrialResult

from .scripted_model import next_action

Run = Callable[..., list[TrialResult]]


def test_pydantic_ai_agent_solves_a_task_through_bridged_tools(run: Run) -> None:
    pytest.importorskip("pydantic_ai")
    (result,) = run("pydantic_ai_rollback", "rollback-2")
    assert result.passed, (result.reason, result.outcome.evidence, result.spans[0].events)
    llm = [s for s in result.spans if s.kind == "llm"]
    assert llm and all((s.model or "").startswith("function:") for s in llm)
    assert result.run.input_tokens == sum(s.input_tokens or 0 for s in llm)
    # the first call violated the schema: a recoverable error, recorded
    first_tool = next(s for s in result.spans if s.kind == "tool")
    assert first_tool.error_type == "invalid_arguments"


def test_pydantic_ai_test_model_calls_every_tool_with_its_schema(run: Run) -> None:
    pytest.importorskip("pydantic_ai")
    (result,) = run("pydantic_ai_test_model", "triage-1")
    called = {s.tool for s in result.spans if s.kind == "tool"}
    assert {"read_policy", "list_tickets", "get_oncall", "deploy"} <= called
    assert not result.passed  # calling every tool is not solving the task


class _Server(ScriptedOpenAIServer):
    """The shared scripted server playing the rollback policy of ``scripted_model``."""

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        instruction = next(m["content"] for m in messages if m["role"] == "user")
        calls: dict[str, tuple[str, dict[str, Any]]] = {}
        steps = []
        for m in messages:
            for call in m.get("tool_calls") or []:
                calls[call["id"]] = (
                    call["function"]["name"],
                    json.loads(call["function"]["arguments"]),
                )
            if m["role"] == "tool":
                name, args = calls[m["tool_call_id"]]
                steps.append((name, args, json.loads(m["content"])))
        action = next_action(instruction, steps)
        if isinstance(action, str):
            message: dict[str, Any] = {"role": "assistant", "content": action}
        else:
            name, args = action
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{len(steps)}",
                        "type": "function",
                        "function": {"name": name, "arguments": json.dumps(args)},
                    }
                ],
            }
        return {
            "id": "x",
            "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 200, "completion_tokens": 30, "cost": 0.001},
        }


@pytest.fixture
def server() -> Iterator[_Server]:
    with _Server().running() as s:
        yield s


def test_openai_loop_against_a_local_server(
    run: Run, server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    (result,) = run(
        "agentslo.agents.openai_chat:agent",
        "rollback-3",
        model="local-model",
        options={"base_url": server.url},
    )
    assert result.passed, (result.reason, result.outcome.evidence, result.spans[0].events)
    assert {r["path"] for r in server.requests} == {"/v1/chat/completions"}
    assert {r["auth"] for r in server.requests} == {"Bearer sk-test"}
    first = server.requests[0]["body"]
    assert first["model"] == "local-model"
    assert {t["function"]["name"] for t in first["tools"]} >= {"deploy", "ask_user"}
    llm = [s for s in result.spans if s.kind == "llm"]
    assert len(llm) == len(server.requests)
    assert result.run.cost_usd == pytest.approx(0.001 * len(llm))
    assert result.run.model == "local-model"


def test_cli_model_and_base_url_run_the_openai_loop(
    server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-cli")
    args = ["trial", "run", "opsdesk", "--model", "local-model", "--base-url", server.url]
    args += ["--tasks", "rollback-1,rollback-4", "--k", "2", "--json"]
    args += ["--db", str(tmp_path / "t.duckdb")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["agent"] == "local-model"
    (clean,) = summary["profiles"]
    assert clean["success_rate"] == 1.0 and clean["cost_per_success"] > 0
    assert {r["auth"] for r in server.requests} == {"Bearer sk-cli"}


def test_openai_loop_without_a_model_fails_the_trial(run: Run) -> None:
    (result,) = run("agentslo.agents.openai_chat:agent", "rollback-3")
    assert result.reason == "agent_error"
    assert "--model" in result.spans[0].events[-1]["detail"]
