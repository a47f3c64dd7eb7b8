"""Batched, atomic writes of Arrow tables into the store.

A batch is a mapping from table name to an Arrow table already validated against
``model.SCHEMAS``. The whole batch is written in one transaction: either every
row of every table lands or none does. Re-writing the same records is idempotent:
runs and findings are replaced by key (the newest write wins, so a run assembled
later replaces its first sketch), outcomes and spans already present are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import duckdb
import ibis
import numpy as np
import pyarrow as pa

from agentslo.model import SCHEMAS
from agentslo.store.key_filters import KEYED, TRACES
from agentslo.store.outcome_index import PENDING, index_rows, rebuild_index_sql, upsert_index_sql

__all__ = [
    "Batch",
    "WriteCounts",
    "conform",
    "flush_outcome_index",
    "write_assembled",
    "write_batch",
]

Batch = Mapping[str, pa.Table]

#: Pending runs above which the outcome index is rebuilt rather than merged into.
_REBUILD_MIN_RUNS: Final = 100_000

_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "runs": ("project", "run_id"),
    "spans": ("project", "trace_id", "span_id", "started_at"),
    "outcomes": ("project", "outcome_id"),
    "findings": ("project", "finding_id"),
}


@dataclass
class WriteCounts:
    """Rows offered per table in the batches written so far."""

    rows: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, n: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + n

    def merge(self, other: WriteCounts) -> None:
        for table, n in other.rows.items():
            self.add(table, n)


def conform(name: str, table: pa.Table) -> pa.Table:
    """Return ``table`` with exactly the columns of table ``name``, in order, cast.

    Missing nullable columns are filled with nulls; extra columns are an error,
    because silently dropping data is worse than refusing it.
    """
    schema = SCHEMAS[name][1]
    if table.schema.equals(schema):
        return table  # the receiver's tables are built in the schema already
    extra = set(table.column_names) - set(schema.names)
    if extra:
        raise ValueError(
            f"{name}: unknown column(s) {sorted(extra)}; allowed: {', '.join(schema.names)}"
        )
    columns = []
    for f in schema:
        if f.name in table.column_names:
            columns.append(table.column(f.name).cast(f.type))
        elif f.nullable:
            columns.append(pa.nulls(table.num_rows, f.type))
        else:
            raise ValueError(f"{name}: required column '{f.name}' is missing")
    return pa.Table.from_arrays(columns, schema=schema)


def _update_index(con: duckdb.DuckDBPyConnection, inserted: str, *, defer: bool) -> None:
    """Fold the outcomes of table ``inserted`` into the ``run_outcomes`` index, or,
    when ``defer`` is set, note their runs in ``run_outcomes_pending`` for later."""
    if defer:
        con.execute(f"INSERT INTO {PENDING} SELECT DISTINCT project, run_id FROM {inserted}")
        return
    outcomes = ibis.table(SCHEMAS["outcomes"][1], name=inserted)
    con.execute(upsert_index_sql(str(ibis.to_sql(index_rows(outcomes), dialect="duckdb"))))


def _insert_keyed(
    con: duckdb.DuckDBPyConnection, name: str, cols: str, source: str, *, defer: bool
) -> None:
    """Insert a batch into a keyed table (runs: replace by key; outcomes: keep the
    stored one), checking keys against the table's hash filter (see ``key_filters``)."""
    key = KEYED[name]
    batch, seen = "_agentslo_keyed", "_agentslo_seen"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {batch} AS SELECT *, {key.hash_sql()} AS _h FROM ({source})"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {seen} AS SELECT h AS _h FROM "
        f"({key.seen_sql(f'SELECT _h AS h FROM {batch}')})"
    )
    # Temporary tables are dropped on success; a failed batch rolls them back.
    fresh = f"SELECT * FROM {batch} ANTI JOIN {seen} USING (_h)"
    maybe = f"SELECT * FROM {batch} SEMI JOIN {seen} USING (_h)"
    seen_row = con.execute(f"SELECT count(*) FROM {seen}").fetchone()
    any_seen = bool(seen_row and seen_row[0])
    if name == "runs":
        if any_seen:
            con.execute(f"DELETE FROM runs USING ({maybe}) m WHERE {key.match_sql('runs', 'm')}")
        con.execute(f"INSERT INTO runs ({cols}) SELECT {cols} FROM {batch}")
        con.execute(f"INSERT INTO {key.filter_table} SELECT _h FROM ({fresh})")
    else:
        # Outcomes: a key already stored keeps its first record (and its index entry).
        new = "_agentslo_new_outcomes"
        absent = f"SELECT m.* FROM ({maybe}) m ANTI JOIN outcomes o ON {key.match_sql('m', 'o')}"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {new} AS "
            + (f"{fresh} UNION ALL {absent}" if any_seen else fresh)
        )
        con.execute(f"INSERT INTO outcomes ({cols}) SELECT {cols} FROM {new}")
        con.execute(f"INSERT INTO {key.filter_table} SELECT _h FROM ({fresh})")
        _update_index(con, new, defer=defer)
        con.execute(f"DROP TABLE {new}")
    con.execute(f"DROP TABLE {seen}")
    con.execute(f"DROP TABLE {batch}")


_TRACES_TABLE: Final = "_agentslo_traces"
_SEEN_TABLE: Final = "_agentslo_seen_traces"


def _seen_traces(con: duckdb.DuckDBPyConnection, view: str) -> int:
    """Hash the traces of ``view`` into a temporary table and note, in another, those
    the trace filter already holds; return how many it holds."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_TRACES_TABLE} AS SELECT DISTINCT "
        f"{TRACES.hash_sql()} AS h FROM {view}"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_SEEN_TABLE} AS "
        f"{TRACES.seen_sql(f'SELECT h FROM {_TRACES_TABLE}')}"
    )
    row = con.execute(f"SELECT count(*) FROM {_SEEN_TABLE}").fetchone()
    return int(row[0]) if row else 0


def _add_new_traces(con: duckdb.DuckDBPyConnection) -> None:
    """Add the traces hashed by :func:`_seen_traces` that the filter lacks."""
    con.execute(
        f"INSERT INTO {TRACES.filter_table} SELECT h FROM {_TRACES_TABLE} "
        f"ANTI JOIN {_SEEN_TABLE} USING (h)"
    )
    con.execute(f"DROP TABLE {_SEEN_TABLE}")
    con.execute(f"DROP TABLE {_TRACES_TABLE}")


def _note_traces(con: duckdb.DuckDBPyConnection, view: str) -> None:
    """Put the traces of the spans in ``view`` into the trace filter."""
    _seen_traces(con, view)
    _add_new_traces(con)


def _insert_new_spans(con: duckdb.DuckDBPyConnection, view: str, cols: str, source: str) -> None:
    """Insert the spans of the batch that the store does not hold yet.

    A span is the same span when project, trace_id, span_id and started_at agree (a
    retried export resends it unchanged). Only spans of a trace the store has seen
    can match (the trace filter, see ``key_filters``), and of those only stored
    spans in the batch's time range, which DuckDB finds by zone maps without reading
    other periods. A bulk import of new traces skips the comparison altogether.
    """
    if not _seen_traces(con, view):
        con.execute(f"INSERT INTO spans ({cols}) {source}")
    else:
        known = f"{TRACES.hash_sql('b')} IN (SELECT h FROM {_SEEN_TABLE})"
        fresh = f"SELECT {cols} FROM ({source}) b WHERE NOT ({known})"
        maybe = f"SELECT * FROM ({source}) b WHERE {known}"
        bounds = con.execute(f"SELECT min(started_at), max(started_at) FROM ({maybe})").fetchone()
        low, high = bounds if bounds else (None, None)
        match = " AND ".join(f'e."{k}" = m."{k}"' for k in _KEYS["spans"])
        con.execute(
            f"INSERT INTO spans ({cols}) {fresh} UNION ALL SELECT {cols} FROM ({maybe}) m "
            f"WHERE NOT EXISTS (SELECT 1 FROM (SELECT * FROM spans WHERE started_at "
            f"BETWEEN ? AND ?) e WHERE {match})",
            [low, high],
        )
    _add_new_traces(con)


def _has_duplicate_keys(con: duckdb.DuckDBPyConnection, view: str, keys: tuple[str, ...]) -> bool:
    """Whether two rows of ``view`` may share a key (hash collisions count as maybe)."""
    key_list = ", ".join(f'"{k}"' for k in keys)
    row = con.execute(
        f"SELECT count(*) FROM (SELECT hash({key_list}) AS h FROM {view} "
        "GROUP BY h HAVING count(*) > 1)"
    ).fetchone()
    return bool(row and row[0])


#: Tables whose stored row for a key is kept over a later one with the same key.
_FIRST_WINS: Final = frozenset({"outcomes", "spans"})


def _insert(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table, *, defer: bool) -> None:
    keys = _KEYS[name]
    cols = ", ".join(f'"{c}"' for c in table.column_names)
    ordered = table.append_column("_ord", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    view = f"_agentslo_batch_{name}"
    con.register(view, ordered)
    try:
        if _has_duplicate_keys(con, view, keys):
            # Keep one occurrence of each key (DuckDB refuses to upsert the same key
            # twice in one statement), by the table's rule across batches: the last
            # for tables that replace (runs, findings), the first for those that
            # keep what is stored (outcomes, spans), so that a group commit of
            # several requests gives what committing them one by one gives.
            key_list = ", ".join(f'"{k}"' for k in keys)
            order = "ASC" if name in _FIRST_WINS else "DESC"
            source = (
                f"SELECT {cols} FROM {view} QUALIFY row_number() OVER "
                f"(PARTITION BY {key_list} ORDER BY _ord {order}) = 1"
            )
        else:
            source = f"SELECT {cols} FROM {view}"
        if name in KEYED:
            _insert_keyed(con, name, cols, source, defer=defer)
        elif name == "findings":
            con.execute(f"INSERT OR REPLACE INTO findings ({cols}) {source}")
        else:
            _insert_new_spans(con, view, cols, source)
    finally:
        con.unregister(view)


def write_batch(
    con: duckdb.DuckDBPyConnection,
    batch: Batch,
    *,
    defer_index: bool = False,
    own_transaction: bool = True,
) -> WriteCounts:
    """Write every table of ``batch`` in one transaction and return the row counts.

    With ``defer_index`` the per-run outcome index is not updated; the runs whose
    outcomes changed are recorded (in the same transaction) for a later
    ``flush_outcome_index``, which is cheaper once for a whole bulk import. Without
    ``own_transaction`` the caller has begun the transaction and commits it, so
    the batch lands together with the caller's other writes.
    """
    unknown = set(batch) - set(SCHEMAS)
    if unknown:
        raise ValueError(f"unknown table(s) {sorted(unknown)}; tables: {', '.join(SCHEMAS)}")
    conformed = {name: conform(name, batch[name]) for name in SCHEMAS if name in batch}
    counts = WriteCounts()
    if own_transaction:
        con.execute("BEGIN TRANSACTION")
    try:
        for name, table in conformed.items():
            if table.num_rows:
                _insert(con, name, table, defer=defer_index)
            counts.add(name, table.num_rows)
        if own_transaction:
            con.execute("COMMIT")
    except BaseException:
        if own_transaction:
            con.execute("ROLLBACK")
        raise
    return counts


def flush_outcome_index(con: duckdb.DuckDBPyConnection) -> int:
    """Fold the runs noted in ``run_outcomes_pending`` into ``run_outcomes``; return
    how many were pending.

    A few runs are merged into the index; when they are a large share of it (a bulk
    import), the index is rebuilt from all outcomes instead, which is cheaper.
    """
    pending_row = con.execute(f"SELECT count(*) FROM {PENDING}").fetchone()
    pending = int(pending_row[0]) if pending_row else 0
    if not pending:
        return 0
    size_row = con.execute("SELECT count(*) FROM run_outcomes").fetchone()
    size = int(size_row[0]) if size_row else 0
    outcomes = ibis.table(SCHEMAS["outcomes"][1], name="outcomes")
    con.execute("BEGIN TRANSACTION")
    try:
        if pending > max(_REBUILD_MIN_RUNS, size // 10):
            select = str(ibis.to_sql(index_rows(outcomes), dialect="duckdb"))
            for statement in rebuild_index_sql(select):
                con.execute(statement)
        else:
            runs = ibis.table({"project": "string", "run_id": "string"}, name=PENDING)
            touched = outcomes.semi_join(runs, ["project", "run_id"])
            select = str(ibis.to_sql(index_rows(touched), dialect="duckdb"))
            con.execute(upsert_index_sql(select))
        con.execute(f"DELETE FROM {PENDING}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return pending


def write_assembled(
    con: duckdb.DuckDBPyConnection,
    *,
    spans: pa.Table | None = None,
    outcomes: pa.Table | None = None,
    runs: pa.Table | None = None,
    new_runs: pa.Table | None = None,
    replaced_runs: pa.Table | None = None,
    new_traces: Sequence[tuple[str, str]] | None = None,
    new_runs_traced: bool = False,
) -> None:
    """Write what the OTLP receiver assembled, inside the caller's transaction.

    ``spans`` are appended as they are: the receiver has already dropped the spans
    the store holds (its trace assembler knows them), which spares the comparison
    with stored spans that :func:`write_batch` makes for traces seen before. Their
    traces enter the trace filter, so a later import of the same spans is
    recognised: the ``(project, trace_id)`` pairs of ``new_traces`` when the caller
    knows which of them the filter may lack, else every trace of ``spans``, checked
    against the filter. Outcomes are inserted by id (an id offered again is ignored).

    Run rows come in three kinds. ``runs`` are replaced by key after looking their
    keys up in the key filter. The receiver knows the store's keys already, and
    says so: ``new_runs`` have keys the store does not hold (appended, their keys
    added to the filter) and ``replaced_runs`` replace a stored row with the same
    key (deleted, then appended). Each of these holds one row per key. With
    ``new_runs_traced`` the caller vouches that each new run's ``run_id`` is a trace
    of the trace filter once this call is done (its spans are stored, or in
    ``new_traces``), and the runs filter, which consults the trace filter too, gets
    no entries of its own: one statement less per commit.

    This runs once per group commit of the receiver, so it keeps the number of
    statements low, hands each table over as an Arrow C stream (:func:`_stream`,
    a third of the cost of a ``pyarrow.Table`` scan, ``docs/benchmarks.md``), and
    does not cast tables already in the store's schema again.
    """
    if spans is not None and spans.num_rows:
        conformed_spans = conform("spans", spans)
        _agentslo_spans = _stream(conformed_spans)
        con.execute(f"INSERT INTO spans ({_COLUMNS['spans']}) SELECT * FROM _agentslo_spans")
        if new_traces is None:
            con.register(_NEW_SPANS, conformed_spans)
            try:
                _note_traces(con, _NEW_SPANS)
            finally:
                con.unregister(_NEW_SPANS)
    if new_traces:
        _add_key_hashes(con, TRACES.filter_table, new_traces)
    if outcomes is not None and outcomes.num_rows:
        _insert(con, "outcomes", conform("outcomes", outcomes), defer=False)
    if runs is not None and runs.num_rows:
        _insert(con, "runs", conform("runs", runs), defer=False)
    if replaced_runs is not None and replaced_runs.num_rows:
        key = KEYED["runs"]
        replaced = conform("runs", replaced_runs)
        _agentslo_replaced = _stream(replaced.select(["project", "run_id"]))
        con.execute(
            f"DELETE FROM runs USING _agentslo_replaced m WHERE {key.match_sql('runs', 'm')}"
        )
        _agentslo_replaced = _stream(replaced)
        con.execute(f"INSERT INTO runs ({_COLUMNS['runs']}) SELECT * FROM _agentslo_replaced")
    if new_runs is not None and new_runs.num_rows:
        conformed_runs = conform("runs", new_runs)
        _agentslo_new_runs = _stream(conformed_runs)
        con.execute(f"INSERT INTO runs ({_COLUMNS['runs']}) SELECT * FROM _agentslo_new_runs")
        if not new_runs_traced:
            projects = conformed_runs.column("project").to_pylist()
            run_ids = conformed_runs.column("run_id").to_pylist()
            pairs = list(zip(projects, run_ids, strict=True))
            _add_key_hashes(con, KEYED["runs"].filter_table, pairs)


_NEW_SPANS: Final = "_agentslo_new_spans"


def _stream(table: pa.Table) -> object:
    """``table`` as an Arrow C stream capsule, for one scan by DuckDB.

    DuckDB scans a ``pyarrow.Table`` through a ``pyarrow.dataset`` scanner (for
    projection and filter pushdown), which costs about 1 ms per statement whatever
    the table's size; a capsule is read straight from its C stream, in about a
    third of that (``docs/benchmarks.md``). A capsule can be read once.
    """
    return table.__arrow_c_stream__()


#: The quoted column list of each table, in its schema's order.
_COLUMNS: Final = {
    name: ", ".join(f'"{c}"' for c in schema.names) for name, (_, schema) in SCHEMAS.items()
}


def _add_key_hashes(
    con: duckdb.DuckDBPyConnection, filter_table: str, keys: Sequence[tuple[str, str]]
) -> None:
    """Add ``hash(project, key)`` of each pair of ``keys`` to ``filter_table``.

    One statement, the keys scanned as an Arrow C stream (:func:`_stream`): cheaper
    than a list parameter (each value converted on its own) or a ``pyarrow.Table``,
    and the same ``hash`` as :meth:`KeyFilter.hash_sql` over the table's columns
    (tested).
    """
    if not keys:
        return
    projects, values = zip(*keys, strict=True)
    _agentslo_keys = _stream(
        pa.table([pa.array(projects, pa.string()), pa.array(values, pa.string())], ["p", "k"])
    )
    con.execute(f"INSERT INTO {filter_table} SELECT hash(p, k) FROM _agentslo_keys")
