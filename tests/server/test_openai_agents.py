"""The OpenAI Agents SDK, instrumented by ``opentelemetry-instrumentation-openai-agents-v2``,
exporting through the OpenTelemetry SDK's OTLP exporter to a live ``agentslo serve``.

The agents' model is a scripted OpenAI-compatible chat-completions server on localhost,
so the test runs offline. A triage agent hands the task to a billing agent, which calls
a tool; the run, its hand-off, its tool span, tokens and agent labels must come out of
the receiver as they went in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from tests.openai_server import ScriptedOpenAIServer, chat_response

from agentslo.store import open_store

from .conftest import ThreadServer

agents = pytest.importorskip("agents", reason="pip install -e '.[dev]' (openai-agents)")
instrumentation = pytest.importorskip(
    "opentelemetry.instrumentation.openai_agents",
    reason="pip install -e '.[dev]' (opentelemetry-instrumentation-openai-agents-v2)",
)


def _tool_call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    function = {"name": name, "arguments": json.dumps(arguments)}
    return {"id": call_id, "type": "function", "function": function}


def refund_policy(body: dict[str, Any]) -> dict[str, Any]:
    """Triage hands off to billing; billing refunds the order named by the user, then answers."""
    tools = {t["function"]["name"] for t in body.get("tools") or []}
    answered = {m.get("tool_call_id") for m in body["messages"] if m["role"] == "tool"}
    if "transfer_to_billing" in tools:
        calls = [_tool_call("call_handoff", "transfer_to_billing", {})]
    elif "call_refund" not in answered:
        calls = [_tool_call("call_refund", "refund", {"order_id": "42"})]
    else:
        return chat_response("Refunded order 42.", body["model"])
    return chat_response(None, body["model"], tool_calls=calls)


@pytest.fixture
def chat() -> Iterator[ScriptedOpenAIServer]:
    with ScriptedOpenAIServer(refund_policy).running() as server:
        yield server


def test_openai_agents_sdk_hand_off_and_tool(
    serve: Callable[..., ThreadServer], keys: dict[str, str], chat: ScriptedOpenAIServer
) -> None:
    from openai import AsyncOpenAI

    server = serve()
    tp = TracerProvider(resource=Resource.create({"service.name": "helpdesk"}))
    exporter = OTLPSpanExporter(
        endpoint=f"{server.url}/v1/traces", headers={"authorization": f"Bearer {keys['a']}"}
    )
    tp.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=50))
    # No spans to OpenAI's own trace backend: only the OpenTelemetry processor.
    agents.set_trace_processors([])
    instrumentor = instrumentation.OpenAIAgentsInstrumentor()
    instrumentor.instrument(tracer_provider=tp)
    try:
        model = agents.OpenAIChatCompletionsModel(
            model="gpt-4o-mini", openai_client=AsyncOpenAI(base_url=chat.url, api_key="test")
        )

        @agents.function_tool
        def refund(order_id: str) -> str:
            """Refund an order."""
            return f"refunded {order_id}"

        billing = agents.Agent(name="billing", instructions="Refund.", tools=[refund], model=model)
        triage = agents.Agent(name="triage", instructions="Route.", handoffs=[billing], model=model)
        # The run's agent is the root span's name: the SDK's workflow name.
        config = agents.RunConfig(workflow_name="helpdesk")
        for _ in range(2):
            result = agents.Runner.run_sync(triage, "Please refund order 42", run_config=config)
            assert result.final_output == "Refunded order 42."
        assert tp.force_flush(10_000)
    finally:
        instrumentor.uninstrument()
        tp.shutdown()
    assert len(chat.requests) == 6

    with server.client(keys["a"]) as client:
        report = client.get("/v1/report").json()
    (group,) = report["groups"]
    assert group["runs"] == 2
    assert group["total_tokens"] == 2 * 3 * (200 + 30)

    server.stop()
    with open_store(server.config.db, read_only=True) as store:
        kinds = dict(store.con.execute("SELECT kind, count(*) FROM spans GROUP BY 1").fetchall())
        handoffs = store.con.execute(
            "SELECT DISTINCT agent FROM spans WHERE kind = 'handoff'"
        ).fetchall()
        tools = store.con.execute("SELECT DISTINCT tool FROM spans WHERE kind = 'tool'").fetchall()
        agents_seen = store.con.execute(
            "SELECT DISTINCT agent FROM spans WHERE kind = 'agent' ORDER BY 1"
        ).fetchall()
        runs = store.con.execute(
            "SELECT agent, steps, tool_calls, handoffs, input_tokens, output_tokens, project "
            "FROM runs ORDER BY run_id"
        ).fetchall()
    assert kinds["llm"] == 6 and kinds["tool"] == 2 and kinds["handoff"] == 2
    assert handoffs == [("triage",)]  # the agent handing over, from gen_ai.handoff.from_agent
    assert tools == [("refund",)]
    assert agents_seen == [("billing",), ("helpdesk",), ("triage",)]
    # steps are model calls: triage's one, billing's two
    assert runs == [("helpdesk", 3, 1, 1, 600, 90, "a")] * 2
