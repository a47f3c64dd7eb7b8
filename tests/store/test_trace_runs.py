"""Runs assembled from spans in any order, counted once however often they are resent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.ingest.otlp_samples import TRACE, agent_trace, proto_request, span

from agentslo.ingest.assemble import inserted_keys, trace_partials
from agentslo.ingest.otlp import decode_protobuf
from agentslo.ingest.prices import load_prices
from agentslo.ingest.semconv import MappingOptions, map_spans
from agentslo.server.writer import _outcomes_table, _spans_table
from agentslo.store import Store, open_store
from agentslo.store.trace_runs import merge_trace_partials
from agentslo.store.writer import write_spans_with

OPTIONS = MappingOptions(prices=load_prices())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "s.duckdb") as opened:
        yield opened


def ingest(store: Store, spans: list[dict[str, Any]], options: MappingOptions = OPTIONS) -> None:
    decoded, rejects = decode_protobuf(proto_request(spans))
    mapped = map_spans(decoded, options, rejects)
    batch = {"spans": _spans_table(mapped.spans)}
    if mapped.outcomes:
        batch["outcomes"] = _outcomes_table(mapped.outcomes)

    def assemble(con: Any, keys: Any) -> None:
        merge_trace_partials(
            con,
            trace_partials(
                mapped.spans, mapped.hints, None if keys is None else inserted_keys(keys)
            ),
        )

    write_spans_with(store.con, batch, assemble)


def runs(store: Store) -> list[dict[str, Any]]:
    return store.con.execute("SELECT * FROM runs ORDER BY run_id").to_arrow_table().to_pylist()


def test_run_from_one_request(store: Store) -> None:
    ingest(store, agent_trace(outcome="success"))
    (run,) = runs(store)
    assert run["run_id"] == TRACE and run["agent"] == "support"
    assert (run["steps"], run["tool_calls"], run["tool_errors"], run["handoffs"]) == (2, 1, 0, 0)
    assert (run["input_tokens"], run["output_tokens"], run["total_tokens"]) == (2000, 400, 2400)
    assert run["cost_usd"] == pytest.approx(2 * (1000 * 0.15 + 200 * 0.6) / 1e6)
    assert run["status"] == "ok"
    assert (run["ended_at"] - run["started_at"]).total_seconds() == pytest.approx(0.5)
    outcome = store.con.execute("SELECT label, source, run_id FROM outcomes").fetchall()
    assert outcome == [("success", "verified", TRACE)]


def test_children_first_root_last_and_resent_spans(store: Store) -> None:
    trace = agent_trace()
    children, root = trace[:3], trace[3]
    ingest(store, children[:2])
    assert runs(store) == []  # no agent span yet: spans kept, no run
    assert store.count("spans") == 2
    ingest(store, children)  # a retry resends two of them
    ingest(store, [root])
    (run,) = runs(store)
    assert (run["steps"], run["tool_calls"], run["input_tokens"]) == (2, 1, 2000)
    # A late tool span after the root updates the run.
    late = span(
        "1000000000000009",
        "execute_tool refund",
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "refund",
            "error.type": "ValueError",
        },
        parent="1000000000000000",
        start_ms=400,
        status=2,
    )
    ingest(store, [late])
    ingest(store, [late, root])  # and resending changes nothing
    (run,) = runs(store)
    assert (run["tool_calls"], run["tool_errors"], run["steps"]) == (2, 1, 2)
    assert store.count("spans") == 5


def test_a_sub_agent_sketch_is_replaced_when_the_root_arrives(store: Store) -> None:
    sub = span(
        "2000000000000001",
        "invoke_agent billing",
        {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "billing"},
        parent="2000000000000000",
        start_ms=50,
        duration_ms=100,
    )
    ingest(store, [sub])
    assert runs(store)[0]["agent"] == "billing"
    root = span(
        "2000000000000000",
        "invoke_agent triage",
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "triage",
            "gen_ai.agent.version": "v2",
        },
        duration_ms=400,
    )
    ingest(store, [root])
    (run,) = runs(store)
    assert (run["agent"], run["version"]) == ("triage", "v2")
    assert (run["ended_at"] - run["started_at"]).total_seconds() == pytest.approx(0.4)


def test_usage_on_the_agent_span_only(store: Store) -> None:
    root = span(
        "3000000000000000",
        "invoke_agent a",
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "a",
            "gen_ai.aggregated_usage.input_tokens": 70,
            "gen_ai.aggregated_usage.output_tokens": 7,
            "model_name": "gpt-4o",
        },
        status=2,
        message="boom",
    )
    ingest(store, [root])
    (run,) = runs(store)
    assert (run["input_tokens"], run["output_tokens"], run["status"]) == (70, 7, "error")
    assert run["cost_usd"] == pytest.approx((70 * 2.5 + 7 * 10) / 1e6)


def test_projects_do_not_mix(store: Store) -> None:
    ingest(store, agent_trace(), MappingOptions(project="a"))
    ingest(store, agent_trace(), MappingOptions(project="b"))
    assert sorted((r["project"], r["steps"]) for r in runs(store)) == [("a", 2), ("b", 2)]
