"""Key filters: how the writer keeps runs and outcomes unique without key indexes.

A primary key on ``(project, run_id)`` or ``(project, outcome_id)`` makes DuckDB
maintain an ART index over tens of millions of strings; on bulk imports that index
cost more than writing the rows (measured: 8M outcomes, 143 s with the key, 15 s
with a filter). Instead each keyed table has a companion table holding the 64-bit
hash of every stored key, with no index at all. A batch is checked against it
with one hash join (a scan of 8 bytes per stored row), and only the rows whose
hash is already present — re-sent records, or in one case in billions a hash
collision — are compared with the stored keys exactly. The filter can only say
"maybe present", never "absent" for a stored key, so uniqueness is exact.

DuckDB's ``hash`` is stable within a version but not promised across versions, so
the store records a probe value and rebuilds the filters when it changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import duckdb

__all__ = [
    "FILTERS",
    "KEYED",
    "PROBE_KEY",
    "TRACES",
    "KeyFilter",
    "create_filter_sql",
    "fill_filter_sql",
    "probe_value",
    "rebuild_filters",
    "record_probe_sql",
]

#: The meta key holding ``hash`` of a fixed string, to detect a changed hash function.
PROBE_KEY: Final = "key_hash_probe"
_PROBE_TEXT: Final = "agentslo key filter probe"


@dataclass(frozen=True)
class KeyFilter:
    """The key columns of a keyed table and the name of its hash filter table."""

    table: str
    keys: tuple[str, ...]
    filter_table: str
    #: Other filter tables that may hold a stored key's hash instead (see ``KEYED``).
    also: tuple[str, ...] = ()

    def hash_sql(self, alias: str = "") -> str:
        """SQL for the 64-bit hash of a row's key."""
        prefix = f"{alias}." if alias else ""
        return "hash(" + ", ".join(f'{prefix}"{k}"' for k in self.keys) + ")"

    def seen_sql(self, hashes: str) -> str:
        """SQL: the hashes of query ``hashes`` (one column ``h``) already in the filter.

        The filter is the probe side: DuckDB builds the join's hash table on the
        right, and the batch's hashes are the small side.
        """
        source = self.filter_table
        if self.also:
            tables = (self.filter_table, *self.also)
            source = "(" + " UNION ALL ".join(f"SELECT h FROM {t}" for t in tables) + ")"
        return f"SELECT DISTINCT f.h FROM {source} f SEMI JOIN ({hashes}) b ON f.h = b.h"

    def match_sql(self, left: str, right: str) -> str:
        """SQL condition: rows ``left`` and ``right`` have the same key."""
        return " AND ".join(f'{left}."{k}" = {right}."{k}"' for k in self.keys)


#: A run's key may be in the trace filter instead of ``runs_keys``: the OTLP receiver
#: writes runs whose ``run_id`` is the trace id of their spans, whose trace filter
#: entry ``hash(project, trace_id)`` is the same hash, so it skips a statement per
#: group commit by not writing it twice (a trace without a run only makes a
#: "maybe", checked exactly).
KEYED: Final[dict[str, KeyFilter]] = {
    "runs": KeyFilter("runs", ("project", "run_id"), "runs_keys", also=("trace_keys",)),
    "outcomes": KeyFilter("outcomes", ("project", "outcome_id"), "outcomes_keys"),
}
#: Spans are filtered by trace, not by span: a tenth of the entries, and a trace
#: seen before (a retried export, or a trace sent in several requests) is the only
#: case in which a span can already be stored, so only those spans are compared
#: with the stored ones, within the batch's time range.
TRACES: Final = KeyFilter("spans", ("project", "trace_id"), "trace_keys")
FILTERS: Final = (*KEYED.values(), TRACES)


def create_filter_sql(key: KeyFilter) -> str:
    """DDL of the filter table of ``key``."""
    return f"CREATE TABLE {key.filter_table} (h UBIGINT NOT NULL)"


def fill_filter_sql(key: KeyFilter) -> str:
    """Fill the filter table from the rows already stored."""
    return f"INSERT INTO {key.filter_table} SELECT DISTINCT {key.hash_sql()} FROM {key.table}"


def record_probe_sql() -> str:
    """Store this DuckDB's probe hash (a JSON string, like ``Store.set_meta``) in meta."""
    return (
        f"INSERT OR REPLACE INTO meta SELECT '{PROBE_KEY}', "
        f"to_json(hash('{_PROBE_TEXT}')::VARCHAR)::VARCHAR"
    )


def probe_value(con: duckdb.DuckDBPyConnection) -> str:
    """This DuckDB's hash of the probe text."""
    row = con.execute("SELECT hash(?)::VARCHAR", [_PROBE_TEXT]).fetchone()
    return str(row[0]) if row else ""


def rebuild_filters(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute every filter table (one transaction), e.g. after a DuckDB upgrade."""
    con.execute("BEGIN TRANSACTION")
    try:
        for key in FILTERS:
            con.execute(f"DELETE FROM {key.filter_table}")
            con.execute(fill_filter_sql(key))
        con.execute(record_probe_sql())
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
