"""Where ``agentslo serve`` keeps its journal of acknowledged requests, and whether a
stopped server left requests in it (``agentslo.server.journal`` writes and reads it).

This lives with the store because the journal is part of what a store holds: a
receiver killed between acknowledging a request and committing it leaves the
request here, and every command that reads the database should say so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

__all__ = ["SUFFIX", "journal_path", "unreplayed_segments"]

#: The file name ending of a journal segment (its stem is its first sequence number).
SUFFIX: Final = ".log"


def journal_path(db: Path | str) -> Path:
    """The journal directory of the database at ``db``."""
    return Path(f"{db}.journal")


def unreplayed_segments(db: Path | str) -> int:
    """Journal segments next to ``db``: requests a server acknowledged and may not
    all have committed when it stopped (a clean stop leaves none)."""
    directory = journal_path(db)
    if not directory.is_dir():
        return 0
    return sum(1 for p in directory.glob(f"*{SUFFIX}") if p.stem.isdigit())
