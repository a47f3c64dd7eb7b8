"""Runs assembled from spans in any order, counted once however often they are resent,
across cache evictions and restarts."""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentslo.ingest.assemble import (
    COMPILED,
    BloomFilter,
    TraceCache,
    TraceState,
    _count_span,
    _root_fields,
    assembly_columns,
    summarize,
)
from agentslo.ingest.otlp import decode_protobuf
from agentslo.ingest.prices import load_prices
from agentslo.ingest.semconv import MappingOptions, map_spans
from agentslo.ingest.span_batch import SpanBatch
from agentslo.server.writer import CHECKPOINT_NICE, IngestWriter, Job
from agentslo.store import Store, open_store
from agentslo.store.writer import write_batch

from .otlp_samples import TRACE, agent_trace, proto_request, span

OPTIONS = MappingOptions(prices=load_prices())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "s.duckdb") as opened:
        yield opened


def ingest(
    writer: IngestWriter, spans: list[dict[str, Any]], options: MappingOptions = OPTIONS
) -> None:
    decoded, rejects = decode_protobuf(proto_request(spans))
    batch = SpanBatch.of(map_spans(decoded, options, rejects))
    writer._commit(writer.store.con, [Job(mapped=batch)])


def runs(store: Store) -> list[dict[str, Any]]:
    return store.con.execute("SELECT * FROM runs ORDER BY run_id").to_arrow_table().to_pylist()


def run_of(store: Store, run_id: str) -> dict[str, Any]:
    (run,) = [r for r in runs(store) if r["run_id"] == run_id]
    return run


def test_run_from_one_request(store: Store) -> None:
    ingest(IngestWriter(store), agent_trace(outcome="success"))
    (run,) = runs(store)
    assert run["run_id"] == TRACE and run["agent"] == "support"
    assert (run["steps"], run["tool_calls"], run["tool_errors"], run["handoffs"]) == (2, 1, 0, 0)
    assert (run["input_tokens"], run["output_tokens"], run["total_tokens"]) == (2000, 400, 2400)
    assert run["cost_usd"] == pytest.approx(2 * (1000 * 0.15 + 200 * 0.6) / 1e6)
    assert run["status"] == "ok"
    assert (run["ended_at"] - run["started_at"]).total_seconds() == pytest.approx(0.5)
    outcome = store.con.execute("SELECT label, source, run_id FROM outcomes").fetchall()
    assert outcome == [("success", "verified", TRACE)]


LATE_TOOL = span(
    "1000000000000009",
    "execute_tool refund",
    {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "refund",
     "error.type": "ValueError"},
    parent="1000000000000000",
    start_ms=400,
    status=2,
)  # fmt: skip


@pytest.mark.parametrize("max_traces", [100, 1], ids=["cached", "evicted"])
def test_children_first_root_last_and_resent_spans(store: Store, max_traces: int) -> None:
    writer = IngestWriter(store, max_traces=max_traces)
    other = agent_trace(f"{5:032x}")
    trace = agent_trace()
    children, root = trace[:3], trace[3]
    ingest(writer, children[:2])
    ingest(writer, other)  # with max_traces=1 this evicts the first trace
    assert len(runs(store)) == 1  # no agent span of the first trace yet: spans kept, no run
    ingest(writer, children)  # a retry resends two of them
    ingest(writer, other)
    ingest(writer, [root])
    first = run_of(store, TRACE)
    assert (first["steps"], first["tool_calls"], first["input_tokens"]) == (2, 1, 2000)
    ingest(writer, other)
    ingest(writer, [LATE_TOOL])  # a late tool span after the root updates the run
    ingest(writer, [LATE_TOOL, root])  # and resending changes nothing
    first = run_of(store, TRACE)
    assert (first["tool_calls"], first["tool_errors"], first["steps"]) == (2, 1, 2)
    assert first["agent"] == "support" and first["input_tokens"] == 2000
    assert store.count("spans") == 9
    if max_traces == 1:
        assert writer.assembler.loads > 0


def test_a_restart_continues_where_the_last_process_stopped(tmp_path: Path) -> None:
    trace = agent_trace()
    with open_store(tmp_path / "r.duckdb") as store:
        ingest(IngestWriter(store), trace[:2])
    with open_store(tmp_path / "r.duckdb") as store:
        writer = IngestWriter(store)
        ingest(writer, trace)  # a retry of the first two, plus the rest
        ingest(writer, [LATE_TOOL])
    with open_store(tmp_path / "r.duckdb") as store:
        writer = IngestWriter(store)
        ingest(writer, [LATE_TOOL, trace[3]])
        (run,) = runs(store)
        assert store.count("spans") == 5
    assert (run["steps"], run["tool_calls"], run["tool_errors"]) == (2, 2, 1)
    assert run["input_tokens"] == 2000 and run["agent"] == "support"


def test_the_writer_checkpoints_the_log_with_every_thread_and_then_restores_them(
    store: Store,
) -> None:
    store.con.execute("SET threads = 1")
    writer = IngestWriter(store, checkpoint_bytes=1)  # every commit's log is over it
    wal = Path(f"{store.path}.wal")
    ingest(writer, agent_trace())
    assert writer.stats.checkpoints == 1 and writer.stats.checkpoint_seconds > 0
    assert not wal.exists() or wal.stat().st_size == 0  # folded into the file
    assert store.con.execute("SELECT current_setting('threads')").fetchone() == (1,)
    assert store.count("spans") == 4


def test_a_refused_checkpoint_is_put_off_and_the_threads_restored(store: Store) -> None:
    """DuckDB documents that CHECKPOINT can refuse (transactions running): the write
    stands, the thread count is restored, and the next commit tries again."""

    class Refusing:
        def __init__(self, con: Any) -> None:
            self.con = con

        def execute(self, sql: str, *args: Any) -> Any:
            if sql == "CHECKPOINT":
                raise duckdb.TransactionException("cannot checkpoint: transactions running")
            return self.con.execute(sql, *args)

    store.con.execute("SET threads = 1")
    writer = IngestWriter(store)
    ingest(writer, agent_trace())  # the log is far below the default threshold
    wal = Path(f"{store.path}.wal")
    logged = wal.stat().st_size
    assert logged > 0 and writer.stats.checkpoints == 0
    writer.checkpoint_bytes = 1
    writer._checkpoint_if_due(Refusing(store.con))  # type: ignore[arg-type]
    assert writer.stats.checkpoints == 0 and wal.stat().st_size == logged
    assert store.con.execute("SELECT current_setting('threads')").fetchone() == (1,)
    writer._checkpoint_if_due(store.con)  # put off for a while after a failure
    assert writer.stats.checkpoints == 0
    writer._checkpoint_after = writer.stats.commits  # that many commits later
    writer._checkpoint_if_due(store.con)
    assert writer.stats.checkpoints == 1
    assert not wal.exists() or wal.stat().st_size == 0
    assert store.count("spans") == 4


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_the_checkpoint_runs_at_a_low_priority_and_the_writer_keeps_its_own(
    store: Store,
) -> None:
    """The acknowledging threads get the CPU before a checkpoint: it runs on a thread
    at nice CHECKPOINT_NICE, and the writer's thread stays at its priority."""
    seen: list[tuple[str, int]] = []

    class Watching:
        def __init__(self, con: Any) -> None:
            self.con = con

        def execute(self, sql: str, *args: Any) -> Any:
            if sql == "CHECKPOINT":
                me = threading.current_thread().name
                seen.append((me, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
            return self.con.execute(sql, *args)

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    writer = IngestWriter(store)
    ingest(writer, agent_trace())
    writer.checkpoint_bytes = 1
    writer._checkpoint_if_due(Watching(store.con))  # type: ignore[arg-type]
    assert seen == [("agentslo-checkpoint", min(19, before + CHECKPOINT_NICE))]
    assert writer.stats.checkpoints == 1
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before


def test_a_failing_checkpoint_never_fails_the_commit_before_it(store: Store) -> None:
    """Even when restoring the thread count fails too: the commit is durable."""

    class Broken:
        def __init__(self, con: Any) -> None:
            self.con = con

        def execute(self, sql: str, *args: Any) -> Any:
            if sql.startswith(("SET threads", "CHECKPOINT")):
                raise duckdb.IOException("disk full")
            return self.con.execute(sql, *args)

    writer = IngestWriter(store)
    ingest(writer, agent_trace())
    writer.checkpoint_bytes = 1
    writer._checkpoint_if_due(Broken(store.con))  # type: ignore[arg-type]  # raises nothing
    assert writer.stats.commits == 1 and writer.stats.checkpoints == 0
    assert store.count("spans") == 4


def test_a_span_arriving_hours_after_its_run_keeps_the_run_whole(tmp_path: Path) -> None:
    """After a restart, a late span of a run stored 7 hours earlier (beyond the load
    window around the new span) is added to the run's tallies, not counted alone."""
    hours = 3600 * 1000
    trace = [
        {**s, "start": s["start"] - 7 * hours * 10**6, "end": s["end"] - 7 * hours * 10**6}
        for s in agent_trace()
    ]
    late = span(
        "1000000000000009",
        "chat gpt-4o-mini",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 1000,
            "gen_ai.usage.output_tokens": 200,
        },
        parent="1000000000000000",
    )
    with open_store(tmp_path / "late.duckdb") as store:
        ingest(IngestWriter(store), trace)
        before = run_of(store, TRACE)
        ingest(IngestWriter(store), [late])  # a new writer: nothing of the trace cached
        after = run_of(store, TRACE)
    assert (before["steps"], before["tool_calls"], before["input_tokens"]) == (2, 1, 2000)
    assert (after["steps"], after["tool_calls"], after["input_tokens"]) == (3, 1, 3000)


def test_a_sub_agent_sketch_is_replaced_when_the_root_arrives(store: Store) -> None:
    writer = IngestWriter(store)
    sub = span("2000000000000001", "invoke_agent billing",
               {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "billing"},
               parent="2000000000000000", start_ms=50, duration_ms=100)  # fmt: skip
    ingest(writer, [sub])
    assert runs(store)[0]["agent"] == "billing"
    root = span("2000000000000000", "invoke_agent triage",
                {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "triage",
                 "gen_ai.agent.version": "v2"}, duration_ms=400)  # fmt: skip
    ingest(writer, [root])
    (run,) = runs(store)
    assert (run["agent"], run["version"]) == ("triage", "v2")
    assert (run["ended_at"] - run["started_at"]).total_seconds() == pytest.approx(0.4)


def test_usage_on_the_agent_span_only(store: Store) -> None:
    root = span("3000000000000000", "invoke_agent a",
                {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "a",
                 "gen_ai.aggregated_usage.input_tokens": 70,
                 "gen_ai.aggregated_usage.output_tokens": 7, "model_name": "gpt-4o"},
                status=2, message="boom")  # fmt: skip
    ingest(IngestWriter(store), [root])
    (run,) = runs(store)
    assert (run["input_tokens"], run["output_tokens"], run["status"]) == (70, 7, "error")
    assert run["cost_usd"] == pytest.approx((70 * 2.5 + 7 * 10) / 1e6)


def test_projects_do_not_mix(store: Store) -> None:
    writer = IngestWriter(store)
    ingest(writer, agent_trace(), MappingOptions(project="a"))
    ingest(writer, agent_trace(), MappingOptions(project="b"))
    assert sorted((r["project"], r["steps"]) for r in runs(store)) == [("a", 2), ("b", 2)]


def test_bloom_filter_has_no_false_negatives() -> None:
    bloom = BloomFilter(10_000)
    keys = [("p", f"{i:032x}") for i in range(5000)]
    bloom.add(keys)
    assert bloom.contains(keys).all()
    others = [("p", f"{i:032x}") for i in range(10_000, 20_000)]
    assert bloom.contains(others).mean() < 0.01


def test_the_key_filters_follow_what_the_receiver_appends(store: Store) -> None:
    """Runs and traces are appended without looking keys up, so the receiver must keep
    the key filters itself: a later import of the same rows then replaces or skips
    them instead of adding copies."""
    writer = IngestWriter(store)
    trace = agent_trace()
    ingest(writer, trace[:2])  # no root yet: a trace without a run
    ingest(writer, trace[2:])  # the root arrives: a new run
    ingest(writer, [LATE_TOOL])  # a late span: the run is replaced
    filters = store.con.execute(
        "SELECT (SELECT count(*) FROM trace_keys), (SELECT count(*) FROM runs_keys), "
        "(SELECT count(DISTINCT h) FROM trace_keys)"
    ).fetchone()
    assert filters == (1, 0, 1)  # the run's key is found through the trace filter
    stored_runs = store.con.execute("SELECT * FROM runs").to_arrow_table()
    stored_spans = store.con.execute("SELECT * FROM spans").to_arrow_table()
    write_batch(store.con, {"runs": stored_runs, "spans": stored_spans})
    assert store.count("runs") == 1 and store.count("spans") == 5


def test_a_run_imported_before_the_server_started_is_replaced_not_doubled(
    tmp_path: Path,
) -> None:
    """A run row stored without spans (imported from a file) under the trace's id:
    the receiver's first spans of that trace replace it."""
    path = tmp_path / "imported.duckdb"
    with open_store(path) as store:
        ingest(IngestWriter(store), agent_trace())
        run = store.con.execute("SELECT * FROM runs").to_arrow_table()
        store.con.execute("DELETE FROM spans")
        store.con.execute("DELETE FROM trace_keys")
    with open_store(path) as store:
        writer = IngestWriter(store)
        ingest(writer, agent_trace())
        (stored,) = runs(store)
        assert store.count("runs") == 1 and stored["steps"] == 2
        assert run.num_rows == 1


def test_the_trace_cache_is_invisible_to_the_garbage_collector(tmp_path: Path) -> None:
    """The cache holds no object the cyclic collector tracks (a cache of objects
    made each full collection walk hundreds of thousands of them), and gives back
    the states it was given: for a trace loaded from the store and a new one."""
    path = tmp_path / "gc.duckdb"
    trace = agent_trace()
    with open_store(path) as store:
        ingest(IngestWriter(store), trace[:2])
    with open_store(path) as store:
        writer = IngestWriter(store)
        ingest(writer, trace)  # loads the first two spans from the store, adds the rest
        ingest(writer, agent_trace(f"{7:032x}"))  # a trace seen first in this process
        cache = writer.assembler.cache
        assert writer.assembler.loads == 1 and len(cache) == 2
        assert not gc.is_tracked(cache._states)
        for key, state in cache.items():
            assert state.root is not None and state.run_stored
            assert TraceState.thaw(state.freeze()) == state == cache.get(key)
        (run,) = [r for r in runs(store) if r["run_id"] == TRACE]
        loaded = cache.get(("default", TRACE))
        assert (loaded.llm_calls, loaded.tool_calls, len(loaded.span_ids)) == (
            run["steps"],
            run["tool_calls"],
            4,
        )


def test_the_trace_cache_evicts_the_least_recently_used() -> None:
    cache = TraceCache(3)
    for i in range(5):
        cache.put(("p", str(i)), TraceState(spans=i))
        cache.evict()
    cache.put(("p", "2"), TraceState(spans=20))  # a hit moves to the end
    cache.put(("p", "5"), TraceState(spans=5))
    cache.evict()
    assert [(k[1], s.spans) for k, s in cache.items()] == [("4", 4), ("2", 20), ("5", 5)]
    assert ("p", "3") not in cache and ("p", "4") in cache


def test_a_root_with_unknown_fields_is_refused_by_the_cache() -> None:
    state = TraceState()
    state.offer_root(1, 2, {"agent": "a", "surprise": 1})
    with pytest.raises(ValueError, match="surprise"):
        state.freeze()


def _pool() -> list[dict[str, Any]]:
    """Spans of three traces: roots, sub-agents that tie with them or start first,
    priced and unpriced model calls (one without a model), failing tools, a hand-off."""
    out: list[dict[str, Any]] = []
    for t in range(3):
        trace = f"{t + 1:032x}"
        out += agent_trace(trace, agent=f"agent{t}")
        out += [
            span(f"{t + 1:04x}00000000000a", "invoke_agent helper",
                 {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": f"helper{t}"},
                 trace=trace, parent="1000000000000000", start_ms=0, duration_ms=500),
            span(f"{t + 1:04x}00000000000b", "invoke_agent early",
                 {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": f"early{t}"},
                 trace=trace, start_ms=-5 * t, duration_ms=50),
            span(f"{t + 1:04x}00000000000c", "chat", {"gen_ai.operation.name": "chat",
                 "gen_ai.usage.input_tokens": 7}, trace=trace, start_ms=20),
            span(f"{t + 1:04x}00000000000d", "chat", {"gen_ai.operation.name": "chat",
                 "gen_ai.request.model": "unpriced-model", "gen_ai.usage.output_tokens": 3},
                 trace=trace, start_ms=30),
            span(f"{t + 1:04x}00000000000e", "execute_tool refund",
                 {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "refund",
                  "error.type": "ValueError"}, trace=trace, start_ms=40, status=2),
            span(f"{t + 1:04x}00000000000f", "handoff", {"gen_ai.operation.name": "execute_tool",
                 "gen_ai.tool.name": "transfer_to_billing"}, trace=trace, start_ms=50),
        ]  # fmt: skip
    return out


POOL = _pool()


def _reference_runs(requests: list[list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Run rows from adding every span alone, in order (the definition of assembly)."""
    states: dict[tuple[str, str], TraceState] = {}
    for request in requests:
        decoded, rejects = decode_protobuf(proto_request(request))
        mapped = map_spans(decoded, OPTIONS, rejects)
        cols = assembly_columns(SpanBatch.of(mapped).spans)
        for i, key in enumerate(zip(cols["project"], cols["trace_id"], strict=True)):
            state = states.setdefault(key, TraceState())
            if cols["span_id"][i] in state.span_ids:
                continue
            state.span_ids.add(cols["span_id"][i])
            values = [cols[c][i] for c in ("kind", "status", "model", "input_tokens")]
            values += [cols["output_tokens"][i], cols["cost_usd"][i]]
            _count_span(state, *values)
            if cols["kind"][i] == "agent":
                fields = _root_fields(cols, i, mapped.hints.get(i))
                state.offer_root(cols["started_at"][i], cols["ended_at"][i], fields)
    rows = (s.run_row(k[0], k[1]) for k, s in states.items())
    return {r["run_id"]: r for r in rows if r is not None}


_COMPARED = (
    *("agent", "status", "started_at", "ended_at", "steps", "tool_calls", "tool_errors"),
    *("handoffs", "input_tokens", "output_tokens", "total_tokens", "model", "attributes"),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    groups=st.lists(
        st.lists(st.lists(st.sampled_from(POOL), min_size=1, max_size=12), min_size=1, max_size=4),
        min_size=1,
        max_size=5,
    ),
    max_traces=st.sampled_from([1, 100]),
)
def test_grouped_assembly_equals_adding_each_span_in_order(
    tmp_path_factory: pytest.TempPathFactory,
    groups: list[list[list[dict[str, Any]]]],
    max_traces: int,
) -> None:
    """Requests committed in groups (with spans resent, repeated within a request,
    split over requests, and traces evicted and reloaded from the store) give the
    runs that adding each span alone, in order, gives."""
    path = tmp_path_factory.mktemp("grouped") / "g.duckdb"
    with open_store(path) as store:
        writer = IngestWriter(store, max_traces=max_traces)
        for group in groups:
            jobs = []
            for request in group:
                decoded, rejects = decode_protobuf(proto_request(request))
                jobs.append(Job(mapped=SpanBatch.of(map_spans(decoded, OPTIONS, rejects))))
            writer._commit(store.con, jobs)
        stored = {
            r["run_id"]: r
            for r in store.con.execute(
                "SELECT * REPLACE (epoch_us(started_at) AS started_at, "
                "epoch_us(ended_at) AS ended_at) FROM runs"
            )
            .to_arrow_table()
            .to_pylist()
        }
        distinct_spans = {(s["trace_id"], s["span_id"]) for g in groups for r in g for s in r}
        assert store.count("spans") == len(distinct_spans)
    expected = _reference_runs([r for g in groups for r in g])
    assert stored.keys() == expected.keys()
    for run_id, row in expected.items():
        assert {k: stored[run_id][k] for k in _COMPARED} == {k: row[k] for k in _COMPARED}
        cost = row["cost_usd"]
        assert stored[run_id]["cost_usd"] == (cost if cost is None else pytest.approx(cost))


@pytest.mark.skipif(not COMPILED, reason="the compiled tally is not built (no C compiler)")
@settings(max_examples=200, deadline=None)
@given(request=st.lists(st.sampled_from(POOL), max_size=30))
def test_the_compiled_tally_equals_the_python_one(request: list[dict[str, Any]]) -> None:
    """``_assemble_fast.summarize`` gives exactly what the Python loop gives: parts,
    frozen states (span ids in the same order), repeated rows and root fields."""
    decoded, rejects = decode_protobuf(proto_request(request))
    mapped = map_spans(decoded, OPTIONS, rejects)
    compiled = summarize(mapped.spans, mapped.hints)
    python = summarize(mapped.spans, mapped.hints, compiled=False)
    assert compiled == python
    assert [type(v) for p in compiled.parts for v in p[3]] == [
        type(v) for p in python.parts for v in p[3]
    ]


def test_the_compiled_tally_refuses_ragged_columns() -> None:
    decoded, rejects = decode_protobuf(proto_request(agent_trace()))
    mapped = map_spans(decoded, OPTIONS, rejects)
    mapped.spans["kind"].pop()
    if COMPILED:
        with pytest.raises(ValueError, match="different lengths"):
            summarize(mapped.spans, mapped.hints)
    with pytest.raises(ValueError):
        summarize(mapped.spans, mapped.hints, compiled=False)
