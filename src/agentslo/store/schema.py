"""DuckDB DDL for the shared tables, derived from the Arrow schemas in ``model``,
and the forward-only migrations that bring any older store file up to date.

Each migration is applied once, in order, inside a transaction, and recorded in
``schema_version``; a store written by a newer agentslo is refused rather than
misread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import duckdb
import ibis
import pyarrow as pa

from agentslo.model import FINDINGS_SCHEMA, OUTCOMES_SCHEMA, RUNS_SCHEMA, SPANS_SCHEMA
from agentslo.store.key_filters import FILTERS, create_filter_sql, fill_filter_sql, record_probe_sql
from agentslo.store.outcome_index import (
    create_index_sql,
    create_pending_sql,
    index_rows,
    rebuild_index_sql,
    upsert_index_sql,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration", "StoreVersionError", "migrate"]

_DUCK_TYPES: Final[dict[pa.DataType, str]] = {
    pa.string(): "VARCHAR",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.timestamp("us"): "TIMESTAMP",
}


class StoreVersionError(RuntimeError):
    """The store file was written by a newer agentslo than this one."""


def _create_table(name: str, schema: pa.Schema, key: Sequence[str] = ()) -> str:
    columns = [
        f'"{f.name}" {_DUCK_TYPES[f.type]}{"" if f.nullable else " NOT NULL"}' for f in schema
    ]
    if key:
        columns.append("PRIMARY KEY (" + ", ".join(f'"{k}"' for k in key) + ")")
    return f"CREATE TABLE {name} (\n  " + ",\n  ".join(columns) + "\n)"


@dataclass(frozen=True)
class Migration:
    """One forward step of the schema."""

    version: int
    description: str
    statements: tuple[str, ...]


def _backfill_index_sql() -> str:
    """Fill ``run_outcomes`` from the outcomes already stored (migration 3)."""
    outcomes = ibis.table(OUTCOMES_SCHEMA, name="outcomes")
    return upsert_index_sql(ibis.to_sql(index_rows(outcomes), dialect="duckdb"))


def _unkeyed_tables() -> tuple[str, ...]:
    """Migration 4: runs and outcomes lose their primary keys to hash key filters,
    and spans gain a filter of their traces.

    DuckDB cannot drop a constraint, so each table is rebuilt without it.
    """
    statements: list[str] = []
    for name, schema in (("runs", RUNS_SCHEMA), ("outcomes", OUTCOMES_SCHEMA)):
        statements += [
            _create_table(f"{name}_v4", schema),
            f"INSERT INTO {name}_v4 SELECT * FROM {name}",
            f"DROP TABLE {name}",
            f"ALTER TABLE {name}_v4 RENAME TO {name}",
        ]
    for key in FILTERS:
        statements += [create_filter_sql(key), fill_filter_sql(key)]
    outcomes = ibis.table(OUTCOMES_SCHEMA, name="outcomes")
    statements += rebuild_index_sql(ibis.to_sql(index_rows(outcomes), dialect="duckdb"))
    statements += [create_pending_sql(), record_probe_sql()]
    return tuple(statements)


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        1,
        "runs, spans, outcomes and findings",
        (
            # Runs and outcomes are keyed so that re-importing is idempotent. Spans are
            # deduplicated by the writer instead: a key index over tens of millions of
            # spans costs more at ingest than the anti-join does.
            _create_table("runs", RUNS_SCHEMA, ("project", "run_id")),
            _create_table("spans", SPANS_SCHEMA),
            _create_table("outcomes", OUTCOMES_SCHEMA, ("project", "outcome_id")),
            _create_table("findings", FINDINGS_SCHEMA, ("project", "finding_id")),
        ),
    ),
    Migration(
        2,
        "metadata and generator ground truth",
        (
            "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
            # What a synthetic generator injected (a regressed version, a token-burning
            # account, a failure mode in one run), kept apart from the data that
            # detectors read so that they cannot peek at it.
            "CREATE TABLE ground_truth (project VARCHAR NOT NULL, kind VARCHAR NOT NULL, "
            "subject VARCHAR NOT NULL, detail VARCHAR)",
        ),
    ),
    Migration(3, "per-run outcome index", (create_index_sql(), _backfill_index_sql())),
    Migration(4, "hash key filters instead of key indexes", _unkeyed_tables()),
    Migration(
        5,
        "regression gate decisions",
        (
            # When each gate's boundary was first crossed (agentslo.gate): one row per
            # (project, gate, metric, decision), written once at the first crossing.
            # ``project`` is '*' for a gate over every project.
            "CREATE TABLE gate_decisions (project VARCHAR NOT NULL, gate VARCHAR NOT NULL, "
            "metric VARCHAR NOT NULL, decision VARCHAR NOT NULL, "
            "first_crossed_at TIMESTAMP NOT NULL, recorded_at TIMESTAMP NOT NULL, "
            "runs_baseline BIGINT, runs_candidate BIGINT, estimate DOUBLE, low DOUBLE, "
            "high DOUBLE, p_value DOUBLE, PRIMARY KEY (project, gate, metric, decision))",
        ),
    ),
    Migration(
        6,
        "runs analysed by each detector",
        (
            # agentslo.detect: one row per (project, run, detector) analysed, so that
            # `agentslo detect` skips what it has done unless asked to redo it.
            "CREATE TABLE detect_runs (project VARCHAR NOT NULL, run_id VARCHAR NOT NULL, "
            "detector VARCHAR NOT NULL, analysed_at TIMESTAMP NOT NULL, findings BIGINT, "
            "PRIMARY KEY (project, run_id, detector))",
        ),
    ),
    Migration(
        7,
        "API keys of the OTLP receiver",
        (
            # Only a SHA-256 of each key's secret is kept: the key is shown once.
            "CREATE TABLE api_keys (key_id VARCHAR PRIMARY KEY, project VARCHAR NOT NULL, "
            "secret_sha256 VARCHAR NOT NULL, name VARCHAR, created_at TIMESTAMP NOT NULL, "
            "revoked_at TIMESTAMP)",
        ),
    ),
    Migration(
        8,
        "LLM judge verdicts",
        (
            # agentslo.detect.judge: one row per (project, run, mode) judged, whether the
            # answer was accepted (label present/absent), rejected (malformed or
            # injected: never a finding) or failed (no answer). Agreement with the
            # deterministic detectors is computed from the accepted rows.
            "CREATE TABLE judge_verdicts (project VARCHAR NOT NULL, run_id VARCHAR NOT NULL, "
            "mode VARCHAR NOT NULL, status VARCHAR NOT NULL, reason VARCHAR, label VARCHAR, "
            "cited_step BIGINT, explanation VARCHAR, answer VARCHAR, model VARCHAR, "
            "judged_at TIMESTAMP NOT NULL, PRIMARY KEY (project, run_id, mode))",
        ),
    ),
)


SCHEMA_VERSION: Final = MIGRATIONS[-1].version


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version of an open store (0 for an empty file)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not exists or exists[0] == 0:
        return 0
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(con: duckdb.DuckDBPyConnection, path: str) -> int:
    """Apply every migration newer than the store's version; return the new version."""
    version = current_version(con)
    if version > SCHEMA_VERSION:
        raise StoreVersionError(
            f"{path}: store schema version {version} is newer than this agentslo "
            f"understands ({SCHEMA_VERSION}); upgrade agentslo (pip install -U agentslo)"
        )
    if version == 0:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
            "description VARCHAR, applied_at TIMESTAMP DEFAULT current_timestamp)"
        )
    for migration in MIGRATIONS:
        if migration.version <= version:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            for statement in migration.statements:
                con.execute(statement)
            con.execute(
                "INSERT INTO schema_version (version, description) VALUES (?, ?)",
                [migration.version, migration.description],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        version = migration.version
    return version
