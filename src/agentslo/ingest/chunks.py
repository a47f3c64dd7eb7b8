"""What a format reader hands to the importer: batches of good rows and the rejects.

Every reader turns its file into a stream of :class:`Chunk` values. A chunk's
tables are written to the store by one ``Store.write`` call, so a chunk is the
unit of atomicity: it lands whole or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from agentslo.ingest.rejects import Reject
from agentslo.model import SCHEMAS

__all__ = ["Chunk", "RowBuffer"]


@dataclass
class Chunk:
    """One batch of validated rows (table name -> Arrow table) and the rejects met on
    the way. ``where`` names the part of the file ("lines 1-50012") for messages;
    ``advance`` is how many bytes of the file it covers, for the progress bar.
    """

    tables: dict[str, pa.Table]
    rejects: list[Reject] = field(default_factory=list)
    where: str = ""
    advance: int = 0

    @property
    def rows(self) -> int:
        """Good rows in the chunk, over all tables."""
        return sum(t.num_rows for t in self.tables.values())


class RowBuffer:
    """Rows (``Record.to_row()`` dicts) collected per table until a batch is full."""

    def __init__(self) -> None:
        self._rows: dict[str, list[dict[str, Any]]] = {name: [] for name in SCHEMAS}
        self.count = 0

    def add(self, table: str, row: dict[str, Any]) -> None:
        """Queue ``row`` for ``table``."""
        self._rows[table].append(row)
        self.count += 1

    def take(self) -> dict[str, pa.Table]:
        """The queued rows as Arrow tables in the store's schemas; the buffer empties.

        Keys that are not columns of the table (such as the JSONL ``record`` tag)
        are not read: ``from_pylist`` takes the schema's columns only.
        """
        tables = {
            name: pa.Table.from_pylist(rows, schema=SCHEMAS[name][1])
            for name, rows in self._rows.items()
            if rows
        }
        self._rows = {name: [] for name in SCHEMAS}
        self.count = 0
        return tables
