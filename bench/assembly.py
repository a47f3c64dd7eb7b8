"""CPU per span of run assembly in the receiver's writer thread, in-process.

The writer thread of ``agentslo serve`` shares the server process's interpreter
lock with the HTTP handlers, so its Python is what limits the receiver
(``docs/benchmarks.md``, eighth round). This times what it does per group commit
apart from DuckDB: unpickling the decode worker's batches, merging their per-trace
tallies into the trace states (``TraceAssembler.apply``), building the run rows'
Arrow table and moving the states into the trace cache (``commit``). Beside it, the
decode worker's side of the same work: the tally itself (``assemble.summarize``),
compiled and in Python. The requests are ``bench/ingest.py``'s (10 agent traces of
10 spans each), with fresh trace ids. Run::

    python bench/assembly.py --rounds 7 --requests 400
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import time
from functools import partial
from typing import Any

from agentslo.ingest import assemble
from agentslo.ingest.otlp import decode_protobuf
from agentslo.ingest.prices import load_prices
from agentslo.ingest.semconv import MappingOptions, map_spans
from agentslo.ingest.span_batch import SpanBatch


def _bodies(requests: int) -> list[bytes]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    import ingest  # bench/ingest.py: this script's folder is first on sys.path

    request = ExportTraceServiceRequest.FromString(ingest.template())
    bodies = []
    for i in range(requests):
        for rs in request.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:  # the trace's slot stays in the last 4 bytes
                    span.trace_id = (i + 1).to_bytes(12, "big") + span.trace_id[12:]
        bodies.append(request.SerializeToString())
    return bodies


def _writer_side(blobs: list[bytes], group: int) -> tuple[float, float]:
    """µs per span of unpickling, and of assembling (apply, run table, commit)."""
    started = time.process_time()
    batches: list[SpanBatch] = [pickle.loads(b) for b in blobs]
    unpickled = time.process_time() - started
    assembler = assemble.TraceAssembler(lambda keys, low, high: ([], []))
    started = time.process_time()
    for first in range(0, len(batches), group):
        mapped = batches[first : first + group]
        spans = assemble.combined_spans(mapped)
        requests: list[assemble.Summary] = []
        offset = 0
        for batch in mapped:
            requests.append((offset, batch.summary))
            offset += batch.span_count
        done = assembler.apply(requests, spans.num_rows, partial(assemble.assembly_columns, spans))
        assemble.run_table(done.new_runs)
        assembler.commit()
    assembled = time.process_time() - started
    n = sum(b.span_count for b in batches)
    return unpickled / n * 1e6, assembled / n * 1e6


def _tally(mapped: Any, compiled: bool, repeat: int) -> float:
    started = time.process_time()
    for _ in range(repeat):
        assemble.summarize(mapped.spans, mapped.hints, compiled=compiled)
    return (time.process_time() - started) / repeat / len(mapped.spans["span_id"]) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=400, help="requests of 100 spans")
    parser.add_argument("--group", type=int, default=20, help="requests per group commit")
    args = parser.parse_args(argv)
    options = MappingOptions(prices=load_prices())
    bodies = _bodies(args.requests)
    blobs = []
    for body in bodies:
        decoded, rejects = decode_protobuf(body)
        blobs.append(pickle.dumps(SpanBatch.of(map_spans(decoded, options, rejects)), protocol=5))
    decoded, rejects = decode_protobuf(bodies[0])
    mapped = map_spans(decoded, options, rejects)
    same = assemble.summarize(mapped.spans, mapped.hints, compiled=False)
    if assemble.COMPILED:
        assert assemble.summarize(mapped.spans, mapped.hints) == same, "the two tallies differ"
    unpickle, assembly, python, compiled = [], [], [], []
    for _ in range(args.rounds):
        u, a = _writer_side(blobs, args.group)
        unpickle.append(u)
        assembly.append(a)
        python.append(_tally(mapped, False, args.requests))
        if assemble.COMPILED:
            compiled.append(_tally(mapped, True, args.requests))
    med = statistics.median
    print(f"CPU per span, median of {args.rounds} rounds ({args.requests} requests of 100 spans):")
    print(f"  writer thread: unpickling {med(unpickle):.2f} us, assembly {med(assembly):.2f} us")
    print(f"  decode worker: the tally in Python {med(python):.2f} us", end="")
    if compiled:
        print(f", compiled {med(compiled):.2f} us ({med(python) / med(compiled):.2f}x less)")
    else:
        print(" (the compiled tally is not built: no C compiler at install)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
