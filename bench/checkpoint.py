"""What a checkpoint of the receiver's spans costs, with DuckDB's string compression
and with FSST disabled.

A checkpoint folds DuckDB's write-ahead log into the database file, and while it
runs the receiver's commits wait (``docs/benchmarks.md``, sixth round). DuckDB tries
each enabled compression method on every string column of every segment it writes;
FSST is the most expensive to analyse and the one that makes ids and attribute
JSON small. Each round writes the same number of ``bench/ingest.py`` spans into a
fresh store through the receiver's writer (group commits of 15 requests, DuckDB's
own checkpoint put off), then times one ``CHECKPOINT`` with a thread per CPU, the
two ways alternating. Run::

    python bench/checkpoint.py --rounds 5 --requests 5000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from agentslo.ingest.otlp import decode_protobuf
from agentslo.ingest.semconv import MappingOptions, map_spans
from agentslo.ingest.span_batch import SpanBatch
from agentslo.server.writer import IngestWriter, Job
from agentslo.store import open_store

#: ``SET`` statements of each way, before the spans are written.
WAYS = {
    "DuckDB's default": (),
    "FSST disabled": ("SET disabled_compression_methods = 'fsst'",),
}


def _jobs(requests: int) -> list[Job]:
    import ingest  # bench/ingest.py: this script's folder is first on sys.path

    template = ingest.template()
    options = MappingOptions(project="default")
    jobs = []
    for _ in range(requests):
        body = template.replace(ingest.TRACE_MARK, os.urandom(12))
        body = body.replace(ingest.SPAN_MARK, os.urandom(4))
        decoded, rejects = decode_protobuf(body)
        jobs.append(Job(mapped=SpanBatch.of(map_spans(decoded, options, rejects))))
    return jobs


def _round(folder: Path, settings: tuple[str, ...], requests: int) -> tuple[float, float]:
    """(checkpoint seconds, file bytes per span) for ``requests`` fresh requests."""
    jobs = _jobs(requests)
    path = folder / f"checkpoint-{time.monotonic_ns()}.duckdb"
    with open_store(path) as store:
        store.con.execute("SET checkpoint_threshold = '16GB'")
        for statement in settings:
            store.con.execute(statement)
        writer = IngestWriter(store, checkpoint_bytes=10**15)
        for i in range(0, len(jobs), 15):
            writer._commit(store.con, jobs[i : i + 15])
        store.con.execute(f"SET threads = {os.cpu_count() or 1}")
        started = time.perf_counter()
        store.con.execute("CHECKPOINT")
        seconds = time.perf_counter() - started
    size = path.stat().st_size
    path.unlink()
    return seconds, size / (requests * 100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=5000, help="requests of 100 spans")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.requests < 1:
        parser.error("--rounds and --requests must be at least 1")
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in WAYS}
    with tempfile.TemporaryDirectory(prefix="agentslo-bench-") as tmp:
        for r in range(args.rounds):
            order = list(WAYS) if r % 2 == 0 else list(reversed(WAYS))
            for name in order:
                results[name].append(_round(Path(tmp), WAYS[name], args.requests))
    spans = args.requests * 100
    print(f"checkpoint of {spans:,} spans, median of {args.rounds} alternated rounds:")
    base = statistics.median(s for s, _ in results["DuckDB's default"])
    for name, rows in results.items():
        seconds = statistics.median(s for s, _ in rows)
        size = statistics.median(b for _, b in rows)
        print(
            f"  {name:18} {seconds:6.2f} s  {seconds / spans * 1e6:5.2f} us/span  "
            f"{size:4.0f} bytes/span  ({base / seconds:.2f}x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
