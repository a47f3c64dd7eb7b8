"""Batched, atomic writes of Arrow tables into the store.

A batch is a mapping from table name to an Arrow table already validated against
``model.SCHEMAS``. The whole batch is written in one transaction: either every
row of every table lands or none does. Re-writing the same records is idempotent:
runs and findings are replaced by key (the newest write wins, so a run assembled
later replaces its first sketch), outcomes and spans already present are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import duckdb
import ibis
import numpy as np
import pyarrow as pa

from agentslo.model import SCHEMAS
from agentslo.store.outcome_index import index_rows, upsert_index_sql

__all__ = ["Batch", "WriteCounts", "conform", "write_assembled", "write_batch"]

Batch = Mapping[str, pa.Table]

_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "runs": ("project", "run_id"),
    "spans": ("project", "trace_id", "span_id", "started_at"),
    "outcomes": ("project", "outcome_id"),
    "findings": ("project", "finding_id"),
}
_REPLACE: Final = frozenset({"runs", "findings"})


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


def _update_index(con: duckdb.DuckDBPyConnection, inserted: pa.Table) -> None:
    """Min-merge newly inserted outcomes into the ``run_outcomes`` index."""
    view = "_agentslo_new_outcomes"
    con.register(view, inserted)
    try:
        outcomes = ibis.table(SCHEMAS["outcomes"][1], name=view)
        con.execute(upsert_index_sql(str(ibis.to_sql(index_rows(outcomes), dialect="duckdb"))))
    finally:
        con.unregister(view)


def _insert_new_spans(con: duckdb.DuckDBPyConnection, view: str, cols: str, source: str) -> None:
    """Insert the spans of the batch that the store does not hold yet.

    A span is the same span when project, trace_id, span_id and started_at agree (a
    retried export resends it unchanged). Only existing spans in the batch's time
    range can match, and DuckDB finds those by zone maps without reading the other
    periods; when there are none (a bulk import of new data), the check is skipped.
    A key index over tens of millions of spans would cost more memory and ingest
    time than this.
    """
    bounds = con.execute(f"SELECT min(started_at), max(started_at) FROM {view}").fetchone()
    low, high = bounds if bounds else (None, None)
    overlap = con.execute(
        "SELECT count(*) FROM spans WHERE started_at BETWEEN ? AND ?", [low, high]
    ).fetchone()
    if not overlap or overlap[0] == 0:
        con.execute(f"INSERT INTO spans ({cols}) {source}")
        return
    match = " AND ".join(f'e."{k}" = b."{k}"' for k in _KEYS["spans"])
    con.execute(
        f"INSERT INTO spans ({cols}) SELECT {cols} FROM ({source}) b "
        f"WHERE NOT EXISTS (SELECT 1 FROM (SELECT * FROM spans WHERE started_at "
        f"BETWEEN ? AND ?) e WHERE {match})",
        [low, high],
    )


def _has_duplicate_keys(con: duckdb.DuckDBPyConnection, view: str, keys: tuple[str, ...]) -> bool:
    """Whether two rows of ``view`` may share a key (hash collisions count as maybe)."""
    key_list = ", ".join(f'"{k}"' for k in keys)
    row = con.execute(
        f"SELECT count(*) FROM (SELECT hash({key_list}) AS h FROM {view} "
        "GROUP BY h HAVING count(*) > 1)"
    ).fetchone()
    return bool(row and row[0])


def _insert(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    keys = _KEYS[name]
    cols = ", ".join(f'"{c}"' for c in table.column_names)
    ordered = table.append_column("_ord", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    view = f"_agentslo_batch_{name}"
    con.register(view, ordered)
    try:
        if _has_duplicate_keys(con, view, keys):
            # Keep only the last occurrence of each key: DuckDB refuses to upsert the
            # same key twice in one statement, and last-write-wins is the rule.
            key_list = ", ".join(f'"{k}"' for k in keys)
            source = (
                f"SELECT {cols} FROM {view} QUALIFY row_number() OVER "
                f"(PARTITION BY {key_list} ORDER BY _ord DESC) = 1"
            )
        else:
            source = f"SELECT {cols} FROM {view}"
        if name in _REPLACE:
            con.execute(f"INSERT OR REPLACE INTO {name} ({cols}) {source}")
        elif name == "outcomes":
            # Only the outcomes actually inserted feed the per-run index, so an id
            # offered again (even with other content) leaves both tables unchanged.
            inserted = con.execute(
                f"INSERT OR IGNORE INTO {name} ({cols}) {source} RETURNING *"
            ).to_arrow_table()
            if inserted.num_rows:
                _update_index(con, inserted)
        else:
            _insert_new_spans(con, view, cols, source)
    finally:
        con.unregister(view)


def write_batch(con: duckdb.DuckDBPyConnection, batch: Batch) -> WriteCounts:
    """Write every table of ``batch`` in one transaction and return the row counts."""
    unknown = set(batch) - set(SCHEMAS)
    if unknown:
        raise ValueError(f"unknown table(s) {sorted(unknown)}; tables: {', '.join(SCHEMAS)}")
    conformed = {name: conform(name, batch[name]) for name in SCHEMAS if name in batch}
    counts = WriteCounts()
    con.execute("BEGIN TRANSACTION")
    try:
        for name, table in conformed.items():
            if table.num_rows:
                _insert(con, name, table)
            counts.add(name, table.num_rows)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts


def write_assembled(
    con: duckdb.DuckDBPyConnection,
    *,
    spans: pa.Table | None = None,
    outcomes: pa.Table | None = None,
    runs: pa.Table | None = None,
) -> None:
    """Write what the OTLP receiver assembled, inside the caller's transaction.

    ``spans`` are appended as they are: the receiver has already dropped the spans
    the store holds (its trace assembler knows them), which spares the anti-join
    over recent spans that :func:`write_batch` needs. Outcomes are inserted by id
    (an id offered again is ignored) and runs, one row per run, replaced by key.
    """
    if spans is not None and spans.num_rows:
        table = conform("spans", spans)
        view = "_agentslo_new_spans"
        con.register(view, table)
        try:
            cols = ", ".join(f'"{c}"' for c in table.column_names)
            con.execute(f"INSERT INTO spans ({cols}) SELECT {cols} FROM {view}")
        finally:
            con.unregister(view)
    if outcomes is not None and outcomes.num_rows:
        _insert(con, "outcomes", conform("outcomes", outcomes))
    if runs is not None and runs.num_rows:
        # One row per run by construction: no duplicate-key pass needed.
        table = conform("runs", runs)
        view = "_agentslo_assembled_runs"
        con.register(view, table)
        try:
            cols = ", ".join(f'"{c}"' for c in table.column_names)
            con.execute(f"INSERT OR REPLACE INTO runs ({cols}) SELECT {cols} FROM {view}")
        finally:
            con.unregister(view)
