"""Uniqueness through hash key filters, and the deferred per-run outcome index."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from agentslo.model import OUTCOMES_SCHEMA, SPANS_SCHEMA, Outcome, Run, Span
from agentslo.store import Store
from agentslo.store.key_filters import FILTERS, KEYED, PROBE_KEY, TRACES
from agentslo.store.schema import MIGRATIONS
from agentslo.store.writer import _add_key_hashes, write_assembled, write_batch

T0 = datetime(2026, 11, 1)


def _index(store: Store) -> list[tuple[object, ...]]:
    """The per-run index as the store serves it, ordered by run."""
    table = store.table("run_outcomes")
    rows = table.order_by("run_id").to_pyarrow().to_pylist()
    return [tuple(row.values()) for row in rows]


def _filter_size(store: Store, table: str) -> int:
    (key,) = [k for k in FILTERS if k.table == table]
    row = store.con.execute(f"SELECT count(*) FROM {key.filter_table}").fetchone()
    return int(row[0]) if row else 0


def _plant_hash(store: Store, table: str, key: tuple[str, str]) -> None:
    """Put a key's hash in the filter without the row: what a hash collision looks like."""
    store.con.execute(
        f"INSERT INTO {KEYED[table].filter_table} SELECT hash(?, ?)", [key[0], key[1]]
    )


def test_a_hash_already_in_the_filter_is_checked_exactly(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        _plant_hash(store, "outcomes", ("default", "o-new"))
        _plant_hash(store, "runs", ("default", "r-new"))
        run = Run(run_id="r-new", agent="a", started_at=T0)
        outcome = Outcome(outcome_id="o-new", run_id="r-new", label="success", source="verified")
        store.write_records([run, outcome])
        assert (store.count("runs"), store.count("outcomes")) == (1, 1)
        assert len(_index(store)) == 1


def test_a_re_sent_outcome_keeps_the_first_and_a_re_sent_run_replaces(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        first = Outcome(
            outcome_id="o1", run_id="r1", label="failure", source="verified", recorded_at=T0
        )
        store.write_records([first])
        store.write_records([first.model_copy(update={"label": "success"})])
        assert store.con.execute("SELECT label FROM outcomes").fetchall() == [("failure",)]
        for steps in (1, 2, 3):
            store.write_records([Run(run_id="r1", agent="a", started_at=T0, steps=steps)])
        assert store.con.execute("SELECT steps FROM runs").fetchall() == [(3,)]
        assert (_filter_size(store, "runs"), _filter_size(store, "outcomes")) == (1, 1)


def test_a_changed_hash_function_rebuilds_the_filters(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        store.write_records([Run(run_id="r1", agent="a", started_at=T0)])
        store.con.execute(f"DELETE FROM {KEYED['runs'].filter_table}")
        store.set_meta(PROBE_KEY, "a hash from another DuckDB")
    with Store(path) as store:
        assert _filter_size(store, "runs") == 1
        store.write_records([Run(run_id="r1", agent="a", started_at=T0, steps=9)])
        assert store.con.execute("SELECT steps FROM runs").fetchall() == [(9,)]


def _outcomes(n: int, *, label: str = "success", offset: int = 0) -> list[Outcome]:
    return [
        Outcome(
            outcome_id=f"o{offset + i}",
            run_id=f"r{i % 7}",
            label=label,
            source=("verified", "judge", "claimed")[i % 3],
            recorded_at=T0 + timedelta(minutes=offset + i),
        )
        for i in range(n)
    ]


def test_bulk_writes_serve_an_exact_index_throughout(tmp_path: Path) -> None:
    with Store(tmp_path / "eager.duckdb") as eager, Store(tmp_path / "bulk.duckdb") as bulk:
        eager.write_records(_outcomes(20))
        eager.write_records(_outcomes(20, label="failure", offset=20))
        with bulk.bulk():
            bulk.write_records(_outcomes(20))
            assert _index(bulk)[:3] and bulk.count("run_outcomes") == 0
            bulk.write_records(_outcomes(20, label="failure", offset=20))
            assert _index(bulk) == _index(eager)  # computed from the outcomes
        assert bulk.count("run_outcomes") == 7
        assert _index(bulk) == _index(eager)  # read from the folded-in index


def test_a_bulk_write_cut_short_is_folded_in_on_the_next_open(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as reference:
        reference.write_records(_outcomes(30))
        expected = _index(reference)
    crashed = tmp_path / "crashed.duckdb"
    with Store(crashed) as store:
        batch = {"outcomes": _table(_outcomes(30))}
        write_batch(store.con, batch, defer_index=True)  # the process dies here
    with Store(crashed, read_only=True) as reader:
        assert _index(reader) == expected
    with Store(crashed) as store:
        assert store.count("run_outcomes") == 7
        assert _index(store) == expected


def _table(records: list[Outcome]) -> pa.Table:
    return pa.Table.from_pylist([r.to_row() for r in records], schema=OUTCOMES_SCHEMA)


def test_a_version_3_store_moves_to_key_filters_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "v3.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description VARCHAR, "
        "applied_at TIMESTAMP DEFAULT current_timestamp)"
    )
    for migration in MIGRATIONS[:3]:
        for statement in migration.statements:
            con.execute(statement)
        con.execute("INSERT INTO schema_version (version) VALUES (?)", [migration.version])
    con.execute(
        "INSERT INTO runs (project, run_id, agent, environment, started_at, status) "
        "VALUES ('default', 'r1', 'a', 'production', TIMESTAMP '2026-11-01', 'ok')"
    )
    con.execute(
        "INSERT INTO outcomes (project, outcome_id, run_id, label, source, recorded_at) "
        "VALUES ('default', 'o1', 'r1', 'success', 'verified', TIMESTAMP '2026-11-01')"
    )
    con.close()
    with Store(path) as store:
        assert (store.count("runs"), store.count("outcomes")) == (1, 1)
        assert (_filter_size(store, "runs"), _filter_size(store, "outcomes")) == (1, 1)
        assert store.count("run_outcomes") == 1
        store.write_records(
            [
                Run(run_id="r1", agent="a", started_at=T0, steps=5),
                Outcome(outcome_id="o1", run_id="r1", label="failure", source="verified"),
            ]
        )
        assert store.con.execute("SELECT steps FROM runs").fetchall() == [(5,)]
        assert store.con.execute("SELECT label FROM outcomes").fetchall() == [("success",)]


@pytest.mark.parametrize("defer", [False, True])
def test_outcomes_offered_twice_in_one_store_count_once_in_the_index(
    tmp_path: Path, defer: bool
) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        batch = {"outcomes": _table(_outcomes(10))}
        write_batch(store.con, batch, defer_index=defer)
        write_batch(store.con, batch, defer_index=defer)
        with store.bulk():
            pass  # folds in whatever is pending
        assert store.count("outcomes") == 10
        assert store.count("run_outcomes") == 7


def _span(trace: str, span: str, minute: int) -> Span:
    return Span(
        trace_id=trace,
        span_id=span,
        name="execute_tool x",
        kind="tool",
        started_at=T0 + timedelta(minutes=minute),
    )


def test_spans_of_a_trace_sent_in_pieces_are_all_kept_once(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        store.write_records([_span("t1", "a", 0), _span("t1", "b", 1)])
        store.write_records([_span("t1", "b", 1), _span("t1", "c", 2), _span("t2", "a", 0)])
        store.write_records([_span("t1", "a", 0), _span("t2", "a", 0)])  # a retried export
        rows = store.con.execute("SELECT trace_id, span_id FROM spans ORDER BY ALL").fetchall()
        assert rows == [("t1", "a"), ("t1", "b"), ("t1", "c"), ("t2", "a")]
        assert _filter_size(store, "spans") == 2


def test_a_trace_hash_already_in_the_filter_still_lets_new_spans_in(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        store.con.execute(f"INSERT INTO {TRACES.filter_table} SELECT hash('default', 't9')")
        store.write_records([_span("t9", "a", 0), _span("t9", "a", 0)])
        assert store.count("spans") == 1


def test_spans_the_receiver_wrote_are_recognised_by_a_later_import(tmp_path: Path) -> None:
    spans = [_span("t5", "a", 0), _span("t5", "b", 1)]
    table = pa.Table.from_pylist([s.to_row() for s in spans], schema=SPANS_SCHEMA)
    with Store(tmp_path / "s.duckdb") as store:
        store.con.execute("BEGIN TRANSACTION")
        write_assembled(store.con, spans=table)
        store.con.execute("COMMIT")
        store.write_records(spans)  # the same spans again, through the batch writer
        assert store.count("spans") == 2
        assert _filter_size(store, "spans") == 1


def test_key_hashes_from_the_receivers_stream_match_the_filters_hash_of_columns(
    tmp_path: Path,
) -> None:
    """The receiver adds key hashes from an Arrow C stream of its keys; they must be
    the ``hash(project, key)`` the import path computes over table columns."""
    keys = [("default", "t1"), ("shop", "t1"), ("shop", "a" * 32), ("default", "é")]
    with Store(tmp_path / "s.duckdb") as store:
        store.con.execute("BEGIN TRANSACTION")
        _add_key_hashes(store.con, TRACES.filter_table, keys)
        store.con.execute("COMMIT")
        table = pa.table({"project": [p for p, _ in keys], "trace_id": [k for _, k in keys]})
        store.con.register("_keys", table)
        want = store.con.execute(f"SELECT {TRACES.hash_sql()} FROM _keys ORDER BY 1").fetchall()
        got = store.con.execute(f"SELECT h FROM {TRACES.filter_table} ORDER BY 1").fetchall()
        assert got == want and len(got) == 4
        # And a later import of such spans finds their trace in the filter.
        store.write_records([_span("t1", "a", 0)])
        store.write_records([_span("t1", "a", 0)])
        assert store.count("spans") == 1


def test_a_trace_without_a_run_makes_the_runs_filter_say_maybe_only(tmp_path: Path) -> None:
    """The runs filter consults the trace filter too (the receiver keeps its runs'
    keys there): a trace with spans but no run row is checked exactly, so a new run
    with that id is added once, and sending it again replaces it."""
    with Store(tmp_path / "s.duckdb") as store:
        store.con.execute(
            f"INSERT INTO {TRACES.filter_table} SELECT hash(?, ?)", ["default", "t-spans-only"]
        )
        run = Run(run_id="t-spans-only", agent="a", started_at=T0)
        store.write_records([run])
        store.write_records([run.model_copy(update={"steps": 4})])
        assert store.con.execute("SELECT run_id, steps FROM runs").fetchall() == [
            ("t-spans-only", 4)
        ]
        # Its key's hash is in the trace filter, which the runs filter consults.
        assert _filter_size(store, "runs") == 0
