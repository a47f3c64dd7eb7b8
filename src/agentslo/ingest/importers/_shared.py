"""What the JSON importers of annotated traces share: reading a file that may hold
bytes that are not UTF-8, and the per-record reject."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from agentslo.ingest.errors import SourceError
from agentslo.ingest.rejects import Reject
from agentslo.model import Finding, Outcome, Run, Span

__all__ = ["REPLACEMENT", "TABLES", "load_json_records", "reject", "replaced"]

#: What a byte that is not UTF-8 becomes (the Unicode replacement character).
REPLACEMENT: Final = "\ufffd"
#: Record type -> store table.
TABLES: Final = {Run: "runs", Span: "spans", Outcome: "outcomes", Finding: "findings"}


def load_json_records(path: Path, display: str, what: str) -> tuple[list[Any], bool]:
    """The records of a JSON file holding one ``what`` object or a list of them, and
    whether bytes that are not UTF-8 had to be replaced.

    A single bad byte in one string should not cost the whole file, so undecodable
    bytes become U+FFFD and the records that contain one are reported by the caller
    (:func:`replaced`), while the rest import as usual.
    """
    raw = path.read_bytes()
    try:
        text, lossy = raw.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        text, lossy = raw.decode("utf-8", errors="replace"), True
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"{display}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            f"expected one {what} object or a JSON list of them"
        ) from exc
    return (data if isinstance(data, list) else [data]), lossy


def replaced(record: Any) -> bool:
    """Whether a record decoded from a lossy file holds a replaced byte."""
    return REPLACEMENT in json.dumps(record, ensure_ascii=False, default=str)


def reject(display: str, unit: str, index: int, message: str, raw: Any) -> Reject:
    """A reject for record ``index`` of ``display`` (``unit`` says what a record is)."""
    error = f"{display}: {unit} {index}: {message}"
    return Reject(source=display, index=index, error=error, raw=raw)
