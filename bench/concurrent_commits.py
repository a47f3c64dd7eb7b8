"""Group commits of spans from one connection against two, in one store.

The receiver commits from one writer thread. DuckDB lets several connections of a
process append to the same table at once (optimistic concurrency: appends do not
conflict), and it releases the interpreter lock while it executes. This measures
how much of a group commit's DuckDB work could overlap: the same group commits of
``bench/ingest.py``'s spans (15 requests, 1,500 spans each; ``BEGIN``, the spans'
``INSERT`` from an Arrow stream, ``COMMIT``) from one thread, then from two threads
with a cursor each taking alternate groups, alternating over rounds. Run::

    python bench/concurrent_commits.py --rounds 4 --groups 140
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyarrow as pa

from agentslo.ingest.assemble import combined_spans
from agentslo.ingest.otlp import decode_protobuf
from agentslo.ingest.semconv import MappingOptions, map_spans
from agentslo.ingest.span_batch import SpanBatch
from agentslo.store import open_store
from agentslo.store.writer import write_assembled


def _groups(count: int) -> list[pa.Table]:
    """``count`` groups of 15 requests with fresh trace and span ids."""
    import ingest  # bench/ingest.py: this script's folder is first on sys.path

    template = ingest.template()
    options = MappingOptions(project="default")
    groups = []
    for _ in range(count):
        batches = []
        for _ in range(15):
            body = template.replace(ingest.TRACE_MARK, os.urandom(12))
            body = body.replace(ingest.SPAN_MARK, os.urandom(4))
            spans, rejects = decode_protobuf(body)
            batches.append(SpanBatch.of(map_spans(spans, options, rejects)))
        groups.append(combined_spans(batches))
    return groups


def _rate(groups: list[pa.Table], threads: int) -> float:
    """Stored spans per second committing ``groups`` from ``threads`` connections."""
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "c.duckdb") as store:
        store.con.execute("SET threads = 1")
        store.con.execute("SET checkpoint_threshold = '16GB'")  # no checkpoint inside

        def work(k: int) -> None:
            cursor = store.con.cursor()
            for group in groups[k::threads]:
                cursor.execute("BEGIN TRANSACTION")
                write_assembled(cursor, spans=group, new_traces=[])
                cursor.execute("COMMIT")

        start = time.perf_counter()
        workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - start
        stored = store.count("spans")
        if stored != sum(g.num_rows for g in groups):
            raise SystemExit(f"stored {stored} spans of {sum(g.num_rows for g in groups)}")
        return stored / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--groups", type=int, default=140, help="group commits per run")
    args = parser.parse_args(argv)
    groups = _groups(args.groups)
    rates: dict[int, list[float]] = {1: [], 2: []}
    for r in range(args.rounds):
        for threads in (1, 2) if r % 2 == 0 else (2, 1):
            rates[threads].append(_rate(groups, threads))
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    print(f"spans/s committed, median of {args.rounds} alternated rounds:")
    print(f"  one connection   {one:10,.0f}")
    print(f"  two connections  {two:10,.0f}   ({two / one:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
