"""Which format a file is in, from its name (and, for ``.json``, its first bytes).

``.jsonl``/``.ndjson`` are agentslo records as JSON Lines, ``.parquet`` one table
of agentslo records, and ``.json`` a tau-bench results file when it holds a JSON
list of records with a ``traj`` field, and Who&When logs when it holds objects
with a ``history`` list and ``mistake_agent``/``is_correct``/``question``, and
OpenInference span trees when it holds spans with ``span_id`` and
``child_spans``/``span_attributes``. MAST records are only read with
``--format mast``.
Anything else is refused with the list of formats rather than guessed: a wrong
guess would reject every record.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

from agentslo.ingest.errors import SourceError
from agentslo.ingest.importers.openinference import looks_like_openinference
from agentslo.ingest.importers.who_and_when import looks_like_who_and_when

__all__ = ["FORMATS", "SUFFIXES", "detect_format"]

#: Formats ``agentslo import`` reads (the values of ``--format``).
FORMATS: Final = (
    "jsonl",
    "parquet",
    "tau-bench",
    "who-and-when",
    "openinference-json",
    "mast",
)

#: File name suffix -> format. ``.json`` needs a look inside (see ``detect_format``).
SUFFIXES: Final[dict[str, str]] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".json": "tau-bench",
}

# A tau-bench record puts `traj` after `task_id`, `reward` and `info` (a task and
# its gold actions: a few kB); 1 MiB leaves ample room.
_SNIFF_BYTES: Final = 1 << 20


def detect_format(path: Path, display: str | None = None) -> str:
    """The format of ``path`` (one of :data:`FORMATS`); :class:`SourceError` if unclear."""
    name = display or str(path)
    suffix = path.suffix.lower()
    fmt = SUFFIXES.get(suffix)
    if fmt is None:
        raise SourceError(
            f"{name}: cannot tell the format from the file name (known endings: "
            f"{', '.join(SUFFIXES)}); rename the file or pass --format {'|'.join(FORMATS)}"
        )
    if fmt == "tau-bench" and not _looks_like_tau_bench(path) and _looks_like_who_and_when(path):
        return "who-and-when"
    if (
        fmt == "tau-bench"
        and not _looks_like_tau_bench(path)
        and _sniff(path, looks_like_openinference)
    ):
        return "openinference-json"
    if fmt == "tau-bench" and not _looks_like_tau_bench(path):
        raise SourceError(
            f"{name}: cannot tell the format: a .json file is read as tau-bench results "
            "when it holds a JSON list of records with a 'traj' field, and this one does "
            "not; write agentslo records as JSON Lines (.jsonl), or pass --format"
        )
    return fmt


def _looks_like_tau_bench(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[") and b'"traj"' in head


def _looks_like_who_and_when(path: Path) -> bool:
    with path.open("rb") as fh:
        return looks_like_who_and_when(fh.read(_SNIFF_BYTES))


def _sniff(path: Path, looks_like: Callable[[bytes], bool]) -> bool:
    with path.open("rb") as fh:
        return looks_like(fh.read(_SNIFF_BYTES))
