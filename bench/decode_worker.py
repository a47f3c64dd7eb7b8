"""CPU per span of a decode worker's work, compiled against pure Python, in-process.

What ``agentslo serve``'s decode worker does with each request body (decode the
protobuf, map the spans, build the Arrow table, pickle the batch for the server
process), timed two ways in the same process, alternating:

- **python**: what an install without a C compiler runs: every span mapped by
  ``semconv`` (``map_spans(..., compiled=False)``), the columns converted by
  ``pyarrow.array`` and the spans tallied per trace by ``assemble.summarize`` in
  Python;
- **compiled**: the compiled mapping of plain spans (``_map_fast``), the compiled
  column builder (``_columns_fast``) and the compiled tally (``_assemble_fast``).

The request is ``bench/ingest.py``'s (10 agent traces of 10 spans). Both ways
must give the same table; the script checks it before timing. Run::

    python bench/decode_worker.py --rounds 15 --requests 200
"""

from __future__ import annotations

import argparse
import importlib.util
import pickle
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

from agentslo.ingest import semconv
from agentslo.ingest.assemble import summarize
from agentslo.ingest.otlp import decode_protobuf
from agentslo.ingest.prices import load_prices
from agentslo.ingest.span_batch import SpanBatch
from agentslo.model import SPANS_SCHEMA


def _template() -> bytes:
    path = Path(__file__).with_name("ingest.py")
    spec = importlib.util.spec_from_file_location("bench_ingest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return bytes(module.template())


def _python(body: bytes, options: semconv.MappingOptions) -> bytes:
    spans, rejects = decode_protobuf(body)
    mapped = semconv.map_spans(spans, options, rejects, compiled=False)
    table = pa.Table.from_arrays(
        [pa.array(mapped.spans[f.name], type=f.type) for f in SPANS_SCHEMA], schema=SPANS_SCHEMA
    )
    summary = summarize(mapped.spans, mapped.hints, compiled=False)
    batch = SpanBatch(table, summary, mapped.outcomes, mapped.rejects, mapped.warnings)
    return pickle.dumps(batch, protocol=5)


def _compiled(body: bytes, options: semconv.MappingOptions) -> bytes:
    spans, rejects = decode_protobuf(body)
    return pickle.dumps(SpanBatch.of(semconv.map_spans(spans, options, rejects)), protocol=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=200, help="requests per round and way")
    args = parser.parse_args(argv)
    if not semconv.COMPILED:
        print("the compiled mapping is not built (no C compiler at install)", file=sys.stderr)
        return 1
    body = _template()
    options = semconv.MappingOptions(prices=load_prices())
    ways: dict[str, Any] = {"python": _python, "compiled": _compiled}
    tables = [pickle.loads(way(body, options)).spans for way in ways.values()]
    assert tables[0].equals(tables[1]), "the two ways built different tables"
    spans = tables[0].num_rows
    times: dict[str, list[float]] = {name: [] for name in ways}
    for r in range(args.rounds):
        order = list(ways) if r % 2 == 0 else list(reversed(ways))
        for name in order:
            way = ways[name]
            started = time.process_time()
            for _ in range(args.requests):
                way(body, options)
            times[name].append((time.process_time() - started) / args.requests / spans * 1e6)
    python, compiled = (statistics.median(times[n]) for n in ("python", "compiled"))
    print(f"decode worker CPU per span, median of {args.rounds} alternated rounds:")
    print(f"  python   {python:6.2f} us")
    print(f"  compiled {compiled:6.2f} us   ({python / compiled:.2f}x less)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
