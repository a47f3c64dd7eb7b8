"""A mapped request's spans as one Arrow table: what the receiver's writer takes.

The receiver decodes and maps request bodies in worker processes and commits them
in one writer thread of the server process, which is the part that does not
spread over cores. A :class:`SpanBatch` is what crosses between them: the span
rows already in ``SPANS_SCHEMA`` (an Arrow table travels between processes as a
few buffers, where lists of Python strings are pickled value by value, and the
writer appends it as it is), with what run assembly needs of them, tallied per
trace (:func:`agentslo.ingest.assemble.summarize`: per-span work the writer thread
is spared), and the outcomes and refusals of the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from agentslo.ingest.arrow_build import table_from_columns
from agentslo.ingest.assemble import RequestSummary, summarize
from agentslo.ingest.otlp import OtlpReject
from agentslo.ingest.semconv import MappedBatch
from agentslo.model import SPANS_SCHEMA

__all__ = ["SpanBatch", "spans_table"]


def spans_table(cols: dict[str, list[Any]]) -> pa.Table:
    """Span columns (times as µs integers) as an Arrow table of ``SPANS_SCHEMA``."""
    return table_from_columns(cols, SPANS_SCHEMA)


@dataclass
class SpanBatch:
    """The rows of one request, spans as Arrow; see the module docstring."""

    spans: pa.Table
    #: What run assembly needs of the spans (with the run hints of the agent spans).
    summary: RequestSummary
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[OtlpReject] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, mapped: MappedBatch) -> SpanBatch:
        """The batch of a mapped request, its spans tallied."""
        return cls(
            spans_table(mapped.spans),
            summarize(mapped.spans, mapped.hints),
            mapped.outcomes,
            mapped.rejects,
            mapped.warnings,
        )

    @property
    def span_count(self) -> int:
        return int(self.spans.num_rows)

    def __getstate__(self) -> dict[str, Any]:
        # One Arrow IPC message: a tenth of the cost of pickling the table column by
        # column, on both sides of the process boundary.
        state = dict(self.__dict__)
        batches = self.spans.combine_chunks().to_batches()
        batch = batches[0] if batches else pa.RecordBatch.from_pylist([], schema=SPANS_SCHEMA)
        state["spans"] = batch.serialize().to_pybytes()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        raw = state.pop("spans")
        batch = pa.ipc.read_record_batch(pa.py_buffer(raw), SPANS_SCHEMA)
        self.__dict__.update(state, spans=pa.Table.from_batches([batch], schema=SPANS_SCHEMA))
