"""The one error the ingest readers raise: an input that cannot be imported (further)."""

from __future__ import annotations

__all__ = ["SourceError"]


class SourceError(Exception):
    """An input file cannot be imported (further); the message names it and the fix.

    Raised for a whole file (missing, unreadable, unknown format, unusable
    columns), never for one bad record: those are rejected and the import goes on.
    """
