"""Semantic-convention mapping, table-driven: one row per convention form."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from agentslo.ingest.otlp import OtlpSpan
from agentslo.ingest.prices import ModelPrice, load_prices
from agentslo.ingest.redact import Redactor
from agentslo.ingest.semconv import MappingOptions, map_spans, outcome_label

NOW = time.time_ns() - 10**9
PRICES = load_prices()
OPTIONS = MappingOptions(prices=PRICES)


def otel(
    name: str,
    attrs: dict[str, Any],
    *,
    status: int = 0,
    message: str = "",
    start: int = NOW,
    events: list[tuple[str, int, dict[str, Any]]] | None = None,
    resource: dict[str, Any] | None = None,
) -> OtlpSpan:
    return OtlpSpan(
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
        None,
        name,
        1,
        start,
        start + 10**8,
        attrs,
        resource or {},
        "scope",
        status,
        message,
        events or [],
    )


def row(span: OtlpSpan, options: MappingOptions = OPTIONS) -> dict[str, Any]:
    batch = map_spans([span], options)
    assert batch.rejects == [], batch.rejects
    return {k: v[0] for k, v in batch.spans.items()}


CASES: list[tuple[str, OtlpSpan, dict[str, Any]]] = [
    (
        "genai 1.37 chat",
        otel(
            "chat gpt-4o-mini",
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 500,
            },
        ),
        {
            "kind": "llm",
            "model": "gpt-4o-mini",
            "input_tokens": 1000,
            "output_tokens": 500,
            "cost_usd": pytest.approx((1000 * 0.15 + 500 * 0.6) / 1e6),
            "status": "unset",
        },
    ),
    (
        "genai older form (gen_ai.system, prompt/completion tokens)",
        otel(
            "chat",
            {
                "gen_ai.system": "openai",
                "gen_ai.operation.name": "chat",
                "gen_ai.response.model": "gpt-4o-2024-08-06",
                "gen_ai.usage.prompt_tokens": 10,
                "gen_ai.usage.completion_tokens": 20,
            },
        ),
        {
            "kind": "llm",
            "model": "gpt-4o-2024-08-06",
            "input_tokens": 10,
            "output_tokens": 20,
            "cost_usd": pytest.approx((10 * 2.5 + 20 * 10.0) / 1e6),
        },
    ),
    (
        "genai latest: cache reads priced as cache reads",
        otel(
            "generate_content gemini-2.5-flash",
            {
                "gen_ai.operation.name": "generate_content",
                "gen_ai.provider.name": "gcp.gemini",
                "gen_ai.request.model": "gemini-2.5-flash",
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.cache_read.input_tokens": 800,
                "gen_ai.usage.output_tokens": 100,
                "gen_ai.usage.reasoning.output_tokens": 40,
            },
        ),
        {
            "kind": "llm",
            "input_tokens": 1000,
            "cost_usd": pytest.approx((200 * 0.3 + 800 * 0.075 + 100 * 2.5) / 1e6),
        },
    ),
    (
        "invoke_agent names the agent",
        otel(
            "invoke_agent triage",
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "triage"},
        ),
        {"kind": "agent", "agent": "triage", "tool": None},
    ),
    (
        "invoke_agent without a name attribute: from the span name",
        otel("invoke_agent billing", {"gen_ai.operation.name": "invoke_agent"}),
        {"kind": "agent", "agent": "billing"},
    ),
    (
        "invoke_workflow is an agent-level span",
        otel(
            "invoke_workflow refunds",
            {"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "refunds"},
        ),
        {"kind": "agent", "agent": "refunds"},
    ),
    (
        "create_agent is not a step",
        otel("create_agent x", {"gen_ai.operation.name": "create_agent", "gen_ai.agent.name": "x"}),
        {"kind": "other", "agent": "x"},
    ),
    (
        "execute_tool with error.type",
        otel(
            "execute_tool refund",
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "refund",
                "gen_ai.tool.call.id": "c1",
                "error.type": "PermissionError",
            },
            status=2,
        ),
        {"kind": "tool", "tool": "refund", "status": "error", "error_type": "PermissionError"},
    ),
    (
        "timeouts are their own status",
        otel(
            "execute_tool slow",
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "slow",
                "error.type": "TimeoutError",
            },
            status=2,
        ),
        {"kind": "tool", "status": "timeout"},
    ),
    (
        "an exception event names the error when error.type is missing",
        otel(
            "execute_tool x",
            {"gen_ai.operation.name": "execute_tool"},
            status=2,
            events=[("exception", NOW, {"exception.type": "KeyError"})],
        ),
        {"status": "error", "error_type": "KeyError"},
    ),
    (
        "a transfer_to_* tool is a hand-off",
        otel(
            "execute_tool transfer_to_billing",
            {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "transfer_to_billing"},
        ),
        {"kind": "handoff", "tool": "transfer_to_billing"},
    ),
    (
        "the OpenAI Agents SDK's agent_handoff belongs to the agent handing over",
        otel(
            "agent_handoff OpenAI Agent",
            {
                "gen_ai.operation.name": "agent_handoff",
                "gen_ai.agent.name": "OpenAI Agent",
                "gen_ai.handoff.from_agent": "triage",
                "gen_ai.handoff.to_agent": "billing",
            },
        ),
        {"kind": "handoff", "agent": "triage"},
    ),
    (
        "a span named handoff is a hand-off",
        otel("Handoff", {"gen_ai.agent.name": "triage"}),
        {"kind": "handoff"},
    ),
    (
        "openinference LLM with its own cost",
        otel(
            "ChatCompletion",
            {
                "openinference.span.kind": "LLM",
                "llm.model_name": "claude-sonnet-4",
                "llm.token_count.prompt": 300,
                "llm.token_count.completion": 30,
                "llm.cost.total": 0.0123,
            },
        ),
        {
            "kind": "llm",
            "model": "claude-sonnet-4",
            "input_tokens": 300,
            "output_tokens": 30,
            "cost_usd": 0.0123,
        },
    ),
    (
        "openinference prompt + completion cost",
        otel(
            "llm",
            {
                "openinference.span.kind": "LLM",
                "llm.model_name": "m",
                "llm.cost.prompt": 0.01,
                "llm.cost.completion": 0.02,
            },
        ),
        {"cost_usd": pytest.approx(0.03)},
    ),
    (
        "openinference AGENT",
        otel("planner", {"openinference.span.kind": "AGENT", "agent.name": "planner"}),
        {"kind": "agent", "agent": "planner"},
    ),
    (
        "openinference TOOL",
        otel("search", {"openinference.span.kind": "TOOL", "tool.name": "search"}),
        {"kind": "tool", "tool": "search"},
    ),
    (
        "openinference CHAIN",
        otel("LangGraph", {"openinference.span.kind": "CHAIN"}),
        {"kind": "chain"},
    ),
    (
        "an unknown model has no cost",
        otel(
            "chat",
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "my-private-llm",
                "gen_ai.usage.input_tokens": 5,
            },
        ),
        {"kind": "llm", "cost_usd": None},
    ),
    (
        "a tool's own cost is kept, its tokens are not priced",
        otel(
            "execute_tool search",
            {
                "gen_ai.operation.name": "execute_tool",
                "agentslo.cost_usd": 0.002,
                "gen_ai.usage.input_tokens": 10_000,
                "gen_ai.request.model": "gpt-4o",
            },
        ),
        {"kind": "tool", "cost_usd": 0.002},
    ),
    (
        "a tool's tokens alone have no cost",
        otel(
            "execute_tool embed",
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.usage.input_tokens": 10_000,
                "gen_ai.request.model": "gpt-4o",
            },
        ),
        {"kind": "tool", "cost_usd": None},
    ),
    (
        "an HTTP span is other",
        otel("GET /orders", {"http.request.method": "GET"}),
        {"kind": "other", "status": "unset"},
    ),
    (
        "OK status",
        otel("x", {}, status=1),
        {"status": "ok"},
    ),
]


@pytest.mark.parametrize(("case", "span", "expected"), CASES, ids=[c[0] for c in CASES])
def test_mapping(case: str, span: OtlpSpan, expected: dict[str, Any]) -> None:
    mapped = row(span)
    assert {k: mapped[k] for k in expected} == expected
    assert mapped["run_id"] == span.trace_id and mapped["project"] == "default"
    assert mapped["started_at"] == span.start_ns // 1000


def test_contents_are_dropped_unless_captured() -> None:
    span = otel(
        "chat",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.input.messages": '[{"role":"user","content":"mail bob@example.com"}]',
            "input.value": "hello",
            "llm.input_messages.0.message.content": "hi",
            "gen_ai.request.model": "m",
        },
        events=[("gen_ai.user.message", NOW, {"content": "secret plan"})],
    )
    mapped = row(span)
    attrs = json.loads(mapped["attributes"])
    assert set(attrs) == {"gen_ai.operation.name", "gen_ai.request.model", "otel.scope.name"}
    assert mapped["input_text"] is None and json.loads(mapped["events"]) == []


def test_captured_contents_are_redacted() -> None:
    span = otel(
        "execute_tool send",
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.call.arguments": (
                '{"to": "bob@example.com", "key": "sk-abcdefghijklmnopqrstuv"}'
            ),
            "gen_ai.tool.call.result": "sent with password: hunter22",
        },
    )
    options = MappingOptions(capture_content=True, redactor=Redactor.build(["hunter\\d+"]))
    mapped = row(span, options)
    assert "bob@example.com" not in mapped["input_text"]
    assert "[REDACTED:email]" in mapped["input_text"]
    assert "[REDACTED:api_key]" in mapped["input_text"]
    assert "hunter22" not in mapped["output_text"]
    assert "hunter22" not in mapped["attributes"]


def test_outcomes_from_the_attribute_pair_and_evaluation_events() -> None:
    span = otel(
        "invoke_agent a",
        {
            "gen_ai.operation.name": "invoke_agent",
            "agentslo.outcome": "success",
            "agentslo.outcome.source": "verified",
            "agentslo.outcome.evaluator": "db-check",
        },
        events=[
            (
                "gen_ai.evaluation.result",
                NOW + 5,
                {
                    "gen_ai.evaluation.name": "helpfulness",
                    "gen_ai.evaluation.score.value": 0.2,
                    "gen_ai.evaluation.score.label": "fail",
                    "gen_ai.evaluation.explanation": "did not answer",
                },
            ),
        ],
    )
    batch = map_spans([span], OPTIONS)
    first, second = batch.outcomes
    assert (first["label"], first["source"], first["evaluator"]) == (
        "success",
        "verified",
        "db-check",
    )
    assert first["run_id"] == span.trace_id
    assert (second["label"], second["source"], second["score"]) == ("failure", "judge", 0.2)
    assert second["evaluator"] == "helpfulness"
    assert json.loads(second["evidence"])["explanation"] == "did not answer"
    # Mapping again gives the same ids: a retried export is idempotent.
    assert [o["outcome_id"] for o in map_spans([span], OPTIONS).outcomes] == [
        first["outcome_id"],
        second["outcome_id"],
    ]


def test_the_outcome_source_defaults_to_claimed() -> None:
    batch = map_spans([otel("a", {"agentslo.outcome": "failure"})], OPTIONS)
    assert batch.outcomes[0]["source"] == "claimed"


@pytest.mark.parametrize(
    ("attrs", "warning"),
    [
        (
            {"gen_ai.usage.input_tokens": "many"},
            "'gen_ai.usage.input_tokens' must be a non-negative",
        ),
        ({"gen_ai.usage.input_tokens": -5}, "out of range"),
        ({"llm.cost.total": "free"}, "'llm.cost.total' must be a number"),
        ({"agentslo.outcome": "great"}, "must be success, failure or partial"),
        ({"agentslo.outcome": "success", "agentslo.outcome.source": "me"}, "outcome ignored"),
        # Values that once raised and failed the whole request:
        (
            {"gen_ai.usage.input_tokens": "²"},
            "must be a non-negative integer",
        ),  # a digit int() refuses
        ({"agentslo.outcome": "success", "agentslo.outcome.source": ["x"]}, "outcome ignored"),
    ],
)
def test_wrong_attribute_types_keep_the_span_and_warn(attrs: dict[str, Any], warning: str) -> None:
    batch = map_spans([otel("chat", {"gen_ai.operation.name": "chat", **attrs})], OPTIONS)
    assert batch.span_count == 1 and batch.outcomes == []
    assert any(warning in w for w in batch.warnings), batch.warnings


def test_unhashable_environment_and_event_source_keep_the_span() -> None:
    """A list where a word is expected once raised TypeError (unhashable) and failed
    the whole request: now the span is kept, with a warning or the default."""
    agent = otel(
        "invoke_agent a",
        {"gen_ai.operation.name": "invoke_agent", "agentslo.environment": ["trial"]},
        events=[
            (
                "gen_ai.evaluation.result",
                NOW,
                {"gen_ai.evaluation.score.label": "pass", "agentslo.outcome.source": ["x"]},
            )
        ],
    )
    batch = map_spans([agent], OPTIONS)
    assert batch.span_count == 1 and batch.hints[0].environment == "production"
    assert any("agentslo.environment" in w for w in batch.warnings), batch.warnings
    assert [o["source"] for o in batch.outcomes] == ["judge"]


@pytest.mark.parametrize(
    ("start", "problem"),
    [
        (0, "startTimeUnixNano is missing"),
        (10**9, "before 2000-01-01"),
        (time.time_ns() + 2 * 3600 * 10**9, "in the future"),
    ],
    ids=["missing", "1970", "future"],
)
def test_spans_with_impossible_times_are_rejected(start: int, problem: str) -> None:
    batch = map_spans([otel("x", {}, start=start)], OPTIONS)
    assert batch.span_count == 0
    assert problem in str(batch.rejects[0])


def test_run_hints_of_agent_spans() -> None:
    span = otel(
        "invoke_agent a",
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.version": "7",
            "user.id": "u1",
            "agentslo.environment": "trial",
            "agentslo.task.id": "t9",
            "gen_ai.conversation.id": "conv",
        },
        resource={"service.name": "svc", "service.version": "1.0"},
    )
    hints = map_spans([span], OPTIONS).hints[0]
    assert (hints.version, hints.user, hints.environment, hints.task_id) == (
        "7",
        "u1",
        "trial",
        "t9",
    )
    assert hints.attributes["conversation_id"] == "conv"


@pytest.mark.parametrize(
    ("word", "label"),
    [
        ("PASS", "success"),
        ("failed", "failure"),
        (True, "success"),
        ("partial", "partial"),
        ("maybe", None),
        (3, None),
    ],
)
def test_outcome_words(word: object, label: str | None) -> None:
    assert outcome_label(word) == label


def test_prices_match_by_prefix_and_provider_prefix(tmp_path: Any) -> None:
    assert PRICES.lookup("openai/gpt-4o-mini-2024-07-18") == PRICES.lookup("gpt-4o-mini")
    assert PRICES.lookup("nothing-like-it") is None
    override = tmp_path / "prices.yaml"
    override.write_text("my-model: {input: 1, output: 2}\ngpt-4o: {input: 0, output: 0}\n")
    table = load_prices(override)
    assert table.lookup("my-model") == ModelPrice(1.0, 2.0)
    assert table.lookup("gpt-4o").cost(1000, 1000) == 0.0  # type: ignore[union-attr]
    override.write_text("bad: {input: 1}\n")
    with pytest.raises(ValueError, match="needs 'input' and 'output'"):
        load_prices(override)


def test_attributes_json_is_sorted_compact_and_valid_for_any_value() -> None:
    from agentslo.ingest.semconv import _attributes_json

    text = _attributes_json(
        {"b": "é", "a": [1, {"y": None, "x": 2.5}], "c": float("nan"), "d": True}
    )
    assert text == '{"a":[1,{"x":2.5,"y":null}],"b":"é","c":null,"d":true}'
    assert json.loads(text)["b"] == "é"
    # Integers beyond 64 bits (possible from OTLP/JSON) are written by the stdlib.
    assert json.loads(_attributes_json({"n": 2**70})) == {"n": 2**70}
