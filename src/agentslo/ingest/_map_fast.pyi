"""Types of the compiled mapping (see ``_map_fast.pyx``)."""

from collections.abc import Sequence
from typing import Any

from agentslo.ingest.otlp import OtlpSpan
from agentslo.ingest.semconv import MappedBatch

def map_spans_into(spans: Sequence[OtlpSpan], m: Any, batch: MappedBatch) -> int: ...
