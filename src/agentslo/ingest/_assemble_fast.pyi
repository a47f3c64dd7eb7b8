"""Types of the compiled per-trace tally (see ``_assemble_fast.pyx``)."""

from typing import Any

from agentslo.ingest.assemble import RequestSummary
from agentslo.ingest.semconv import RunHints

def summarize(cols: dict[str, list[Any]], hints: dict[int, RunHints]) -> RequestSummary: ...
