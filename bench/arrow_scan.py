"""What a group commit pays DuckDB per statement that reads an Arrow table.

The receiver's writer inserts each group commit's spans (about 1,500 rows) and run
rows (about 150) from Arrow. DuckDB's Python client scans a ``pyarrow.Table``
through a ``pyarrow.dataset`` scanner; an Arrow C stream capsule
(``table.__arrow_c_stream__()``) it reads directly. This times, in one process and
alternating, each way of handing the same table over:

- ``count(*)`` of the table alone (the hand-over's own cost);
- ``INSERT`` into a store table of that schema, rolled back.

Each figure is the median of ``--rounds`` rounds of ``--repeat`` statements. Run::

    python bench/arrow_scan.py --rounds 9 --repeat 100
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from agentslo.model import RUNS_SCHEMA, SPANS_SCHEMA
from agentslo.store import open_store


def _table(schema: pa.Schema, rows: int) -> pa.Table:
    """``rows`` rows of ``schema``: required strings and times set, the rest null."""
    columns: list[pa.Array] = []
    for f in schema:
        if f.nullable:
            columns.append(pa.nulls(rows, f.type))
        elif pa.types.is_timestamp(f.type):
            columns.append(pa.array([1_700_000_000_000_000 + i for i in range(rows)], f.type))
        else:
            columns.append(pa.array([f"{f.name}-{i:08d}" for i in range(rows)], f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _statements(
    con: duckdb.DuckDBPyConnection, name: str, table: pa.Table
) -> tuple[Callable[[], None], ...]:
    """count(*) and INSERT of ``table``, handed over as a table and as a C stream."""

    def count_table() -> None:
        _agentslo_scan = table
        con.execute("SELECT count(*) FROM _agentslo_scan").fetchall()

    def count_stream() -> None:
        _agentslo_scan = table.__arrow_c_stream__()
        con.execute("SELECT count(*) FROM _agentslo_scan").fetchall()

    def insert_table() -> None:
        _agentslo_scan = table
        con.execute("BEGIN TRANSACTION")
        con.execute(f"INSERT INTO {name} SELECT * FROM _agentslo_scan")
        con.execute("ROLLBACK")

    def insert_stream() -> None:
        _agentslo_scan = table.__arrow_c_stream__()
        con.execute("BEGIN TRANSACTION")
        con.execute(f"INSERT INTO {name} SELECT * FROM _agentslo_scan")
        con.execute("ROLLBACK")

    return count_table, count_stream, insert_table, insert_stream


def _time(statement: Callable[[], Any], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        statement()
    return (time.perf_counter() - start) / repeat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--repeat", type=int, default=100, help="statements per round")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "scan.duckdb") as store:
        con: duckdb.DuckDBPyConnection = store.con
        con.execute("SET threads = 1")  # as `agentslo serve` runs its writer on 2 CPUs
        cases = {"runs (150 rows)": ("runs", RUNS_SCHEMA, 150)}
        cases["spans (1,500 rows)"] = ("spans", SPANS_SCHEMA, 1_500)
        print(f"ms per statement, median of {args.rounds} rounds of {args.repeat}:")
        print(f"{'table':20} {'statement':9} {'pyarrow.Table':>14} {'C stream':>9} {'ratio':>6}")
        for label, (name, schema, rows) in cases.items():
            table = _table(schema, rows)

            count_table, count_stream, insert_table, insert_stream = _statements(con, name, table)
            for kind, (by_table, by_stream) in {
                "count": (count_table, count_stream),
                "insert": (insert_table, insert_stream),
            }.items():
                a: list[float] = []
                b: list[float] = []
                for r in range(args.rounds):
                    order = [(by_table, a), (by_stream, b)]
                    for statement, into in order if r % 2 == 0 else order[::-1]:
                        into.append(_time(statement, args.repeat))
                ta, tb = statistics.median(a) * 1e3, statistics.median(b) * 1e3
                print(f"{label:20} {kind:9} {ta:14.3f} {tb:9.3f} {ta / tb:5.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
