"""Records that could not be imported, and the JSONL file that keeps them.

A bad record never stops the good records of the same file: it is set aside with
the reason and its original text, so that the user can fix it and import the
reject file's ``raw`` values again. The reject file is created only when there is
something to put in it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from agentslo.ingest.errors import SourceError

__all__ = ["DEFAULT_REJECTS_DIR", "Reject", "RejectWriter"]

#: Where reject files go when ``--rejects`` is not given (relative to the cwd).
DEFAULT_REJECTS_DIR: Final = "agentslo-rejects"


@dataclass(frozen=True)
class Reject:
    """One record that was not imported.

    ``line`` is the 1-based line of a JSONL file; ``index`` the 0-based row of a
    Parquet file or the 0-based position of a record in a JSON list. ``error`` is
    the full message, starting with the file and the location.
    """

    source: str
    error: str
    raw: Any
    line: int | None = None
    index: int | None = None

    def to_json(self) -> str:
        """The reject as one line of the reject file."""
        payload = {
            "source": self.source,
            "line": self.line,
            "index": self.index,
            "error": self.error,
            "raw": self.raw,
        }
        return json.dumps(payload, ensure_ascii=False, default=str)


class RejectWriter:
    """Append rejects of one input file to ``<dir>/<input name>.<stamp>.rejects.jsonl``.

    The file (and the folder) is created at the first reject; an existing file is
    never overwritten: a numeric suffix is added instead.
    """

    def __init__(self, folder: str | os.PathLike[str], source: Path, stamp: str) -> None:
        self.folder = Path(folder)
        self.source = source
        self.stamp = stamp
        self.path: Path | None = None
        self.count = 0
        self._fh: IO[str] | None = None

    def add(self, rejects: Iterable[Reject]) -> None:
        """Write ``rejects`` (opening the file on the first one)."""
        for reject in rejects:
            if self._fh is None:
                self._fh = self._open()
            self._fh.write(reject.to_json() + "\n")
            self.count += 1

    def _open(self) -> IO[str]:
        base = f"{self.source.name}.{self.stamp}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for n in range(1, 1000):
                suffix = "" if n == 1 else f"-{n}"
                candidate = self.folder / f"{base}{suffix}.rejects.jsonl"
                try:
                    handle = candidate.open("x", encoding="utf-8")
                except FileExistsError:
                    continue
                self.path = candidate
                return handle
        except OSError as exc:
            raise SourceError(
                f"{self.folder}: cannot write the reject file for {self.source} "
                f"({exc.strerror or exc}); pass --rejects with a folder you may write to"
            ) from exc
        raise SourceError(f"{self.folder}: too many reject files named {base}*; clean it up")

    def close(self) -> None:
        """Flush and close the reject file, if one was opened."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
