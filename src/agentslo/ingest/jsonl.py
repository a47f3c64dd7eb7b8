"""JSON Lines of agentslo records: one run, span, outcome or finding per line.

Each line is a JSON object with ``"record": "run" | "span" | "outcome" |
"finding"`` and the fields of that model (see ``docs/formats.md``). Lines are
validated one by one by the pydantic models (unknown fields are errors), so a bad
line is rejected with its line number while the good lines are imported. Blank
lines are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import Field, TypeAdapter, ValidationError

from agentslo.ingest.chunks import Chunk, RowBuffer
from agentslo.ingest.messages import describe_validation_error
from agentslo.ingest.rejects import Reject
from agentslo.model import SCHEMAS, Finding, Outcome, Run, Span

__all__ = ["RECORD_KINDS", "read_jsonl"]


class RunLine(Run):
    """A run as a JSONL line."""

    record: Literal["run"]


class SpanLine(Span):
    """A span as a JSONL line."""

    record: Literal["span"]


class OutcomeLine(Outcome):
    """An outcome as a JSONL line."""

    record: Literal["outcome"]


class FindingLine(Finding):
    """A finding as a JSONL line."""

    record: Literal["finding"]


Line = Annotated[RunLine | SpanLine | OutcomeLine | FindingLine, Field(discriminator="record")]

#: ``record`` value -> (line model, table name).
RECORD_KINDS: Final[dict[str, tuple[type[Run | Span | Outcome | Finding], str]]] = {
    "run": (RunLine, "runs"),
    "span": (SpanLine, "spans"),
    "outcome": (OutcomeLine, "outcomes"),
    "finding": (FindingLine, "findings"),
}
_TABLE_OF: Final = dict(RECORD_KINDS.values())
_ADAPTER: Final[TypeAdapter[RunLine | SpanLine | OutcomeLine | FindingLine]] = TypeAdapter(Line)


#: ``record`` value -> the fields a line of that kind may hold (for error hints).
_FIELDS: Final = {
    kind: ("record", *SCHEMAS[table][1].names) for kind, (_, table) in RECORD_KINDS.items()
}


def read_jsonl(path: Path, display: str, *, batch_rows: int) -> Iterator[Chunk]:
    """Validate ``path`` line by line; yield chunks of up to ``batch_rows`` good rows."""
    buffer = RowBuffer()
    rejects: list[Reject] = []
    first_line = 1
    advance = 0
    tags = tuple(RECORD_KINDS)
    lineno = 0
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            advance += len(raw)
            text = raw.strip()
            if lineno == 1:
                text = text.removeprefix(b"\xef\xbb\xbf")
            if not text:
                continue
            try:
                record = _ADAPTER.validate_json(text)
            except ValidationError as exc:
                message = describe_validation_error(exc, tags=tags, allowed=_FIELDS)
                rejects.append(
                    Reject(
                        source=display,
                        line=lineno,
                        error=f"{display}:{lineno}: {message}",
                        raw=raw.decode("utf-8", errors="replace").rstrip("\r\n"),
                    )
                )
                continue
            buffer.add(_TABLE_OF[type(record)], record.to_row())
            if buffer.count >= batch_rows:
                yield Chunk(buffer.take(), rejects, f"lines {first_line}-{lineno}", advance)
                rejects, advance, first_line = [], 0, lineno + 1
    if buffer.count or rejects or advance:
        yield Chunk(buffer.take(), rejects, f"lines {first_line}-{lineno}", advance)
