"""A mapped request crosses to the writer's process as one Arrow message, intact."""

from __future__ import annotations

import pickle

from agentslo.ingest.otlp import decode_protobuf
from agentslo.ingest.prices import load_prices
from agentslo.ingest.semconv import MappingOptions, map_spans
from agentslo.ingest.span_batch import SpanBatch
from agentslo.model import SPANS_SCHEMA

from .otlp_samples import agent_trace, proto_request, span


def _batch(spans: list[dict[str, object]]) -> SpanBatch:
    decoded, rejects = decode_protobuf(proto_request(spans))
    return SpanBatch.of(map_spans(decoded, MappingOptions(prices=load_prices()), rejects))


def test_a_batch_survives_the_process_boundary() -> None:
    bad = span("0000000000000000", "no id")
    batch = _batch([*agent_trace(outcome="success"), bad])
    copy = pickle.loads(pickle.dumps(batch))
    assert copy.spans.schema == SPANS_SCHEMA and copy.spans.equals(batch.spans)
    assert copy.span_count == 4 and copy.summary == batch.summary
    assert copy.outcomes == batch.outcomes and len(copy.outcomes) == 1
    assert [str(r) for r in copy.rejects] == [str(r) for r in batch.rejects] != []


def test_an_empty_batch_survives_too() -> None:
    copy = pickle.loads(pickle.dumps(_batch([])))
    assert copy.span_count == 0 and copy.spans.schema == SPANS_SCHEMA
