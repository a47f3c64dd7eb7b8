"""The per-run outcome index: each run's best outcome key per source, kept on write.

Reports need each run's effective outcome. Computing it from the outcomes table
means grouping millions of outcomes by run id on every report; instead the writer
keeps ``run_outcomes`` (one row per run that has outcomes) with, per source, the
smallest *ordering key* of that run's outcomes. The effective outcome among any set
of sources is then ``LEAST`` of those columns, joined to the runs.

The ordering key packs the rule "most trusted source, then the latest recorded,
then the most pessimistic label" into one 64-bit integer, so that "best" is "min":

    key = trust_rank · 10^18 + (10^17 - recorded_at_µs) · 4 + label_rank

with trust_rank verified 0 / human 1 / judge 2 / claimed 3 and label_rank failure 0
/ partial 1 / success 2 (valid for instants within ±1,000 years of 1970). It is an
Ibis expression so that the same definition runs on every backend.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import ibis

from agentslo.model import OUTCOME_SOURCES, SOURCE_TRUST

__all__ = [
    "INDEX_COLUMNS",
    "LABEL_RANK",
    "PENDING",
    "SOURCE_UNIT",
    "create_index_sql",
    "create_pending_sql",
    "index_rows",
    "ordering_key",
    "rebuild_index_sql",
    "upsert_index_sql",
]

#: Lower wins a tie between outcomes of one source recorded at the same instant.
LABEL_RANK: Final[dict[str, int]] = {"failure": 0, "partial": 1, "success": 2}
SOURCE_UNIT: Final = 10**18
_TIME_OFFSET: Final = 10**17
#: Source -> column of ``run_outcomes`` holding that source's best key.
INDEX_COLUMNS: Final[dict[str, str]] = {s: f"{s}_key" for s in OUTCOME_SOURCES}
#: Runs whose outcomes were written while index upkeep was deferred (a bulk import):
#: the index is exact only once these are folded in, which the store does at the end
#: of the import, or when it is next opened for writing after a crash.
PENDING: Final = "run_outcomes_pending"


def ordering_key(o: Any) -> Any:
    """The packed ordering key of each outcome row of Ibis table ``o``."""
    trust = o.source.cases(*SOURCE_TRUST.items(), else_=9).cast("int64")
    label = o.label.cases(*LABEL_RANK.items(), else_=0).cast("int64")
    epoch_us = o.recorded_at.delta(ibis.literal(datetime(1970, 1, 1)), unit="microsecond")
    return trust * SOURCE_UNIT + (_TIME_OFFSET - epoch_us.cast("int64")) * 4 + label


def index_rows(outcomes: Any) -> Any:
    """Ibis expression: one ``run_outcomes`` row per (project, run_id) of ``outcomes``."""
    o = outcomes.mutate(_key=ordering_key(outcomes))
    return o.group_by(["project", "run_id"]).aggregate(
        **{column: o._key.min(where=o.source == s) for s, column in INDEX_COLUMNS.items()}
    )


def create_index_sql() -> str:
    """DDL of the ``run_outcomes`` table as schema version 3 created it."""
    columns = ", ".join(f"{c} BIGINT" for c in INDEX_COLUMNS.values())
    return (
        "CREATE TABLE run_outcomes (project VARCHAR NOT NULL, run_id VARCHAR NOT NULL, "
        f"{columns}, PRIMARY KEY (project, run_id))"
    )


def create_pending_sql() -> str:
    """DDL of the table of runs whose index rows are still to be folded in."""
    return f"CREATE TABLE {PENDING} (project VARCHAR NOT NULL, run_id VARCHAR NOT NULL)"


def rebuild_index_sql(select_sql: str) -> tuple[str, ...]:
    """Statements that rebuild ``run_outcomes`` from ``select_sql`` (shaped like
    ``index_rows``) and then index it.

    Building the unique index once over the finished table is about five times
    cheaper than merging millions of new runs into an indexed one row by row.
    """
    names = ", ".join(INDEX_COLUMNS.values())
    columns = ", ".join(f"{c} BIGINT" for c in INDEX_COLUMNS.values())
    return (
        "DROP TABLE run_outcomes",
        f"CREATE TABLE run_outcomes (project VARCHAR NOT NULL, run_id VARCHAR NOT NULL, {columns})",
        f"INSERT INTO run_outcomes (project, run_id, {names}) {select_sql}",
        "CREATE UNIQUE INDEX run_outcomes_key ON run_outcomes (project, run_id)",
    )


def upsert_index_sql(select_sql: str) -> str:
    """Merge the rows of ``select_sql`` (shaped like ``index_rows``) into the index."""
    names = ", ".join(INDEX_COLUMNS.values())
    updates = ", ".join(
        f"{c} = least(run_outcomes.{c}, excluded.{c})" for c in INDEX_COLUMNS.values()
    )
    return (
        f"INSERT INTO run_outcomes (project, run_id, {names}) {select_sql} "
        f"ON CONFLICT (project, run_id) DO UPDATE SET {updates}"
    )
