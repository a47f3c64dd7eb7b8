"""Runs assembled from the spans of a trace, whatever order the spans arrive in.

An exporter sends a trace's spans as they end, so children usually arrive before
their root and may be spread over many requests (and, across a restart, many
server processes). The store therefore keeps one ``trace_runs`` row per trace
that accumulates what the run row needs:

- additive tallies over the trace's *newly stored* spans (model calls, tokens and
  cost of the model calls, tool calls and tool errors, hand-offs), so that a
  retried export, whose spans the writer skips, is not counted twice;
- the *root* candidate: of the agent spans seen so far, the one that started
  first (the longest on a tie), with the run-level fields it carries.

After each merge the run row of every trace touched that has a root is rebuilt
(``INSERT OR REPLACE`` by project and run id), so a run sketched from a sub-agent
is replaced when the real root arrives, and spans arriving after the root update
its counts. The merge happens in the same transaction as the spans it counts.

Run fields: ``run_id`` is the trace id; ``steps`` counts model calls; tokens and
cost are the sums over model-call spans, or the root's own figures when the
trace has no model-call span (a framework that reports usage on the agent span
only); ``status`` is the root's, an unset status on a finished root meaning ok.
"""

from __future__ import annotations

from typing import Final

import duckdb
import pyarrow as pa

from agentslo.model import RUNS_SCHEMA

__all__ = [
    "PARTIAL_SCHEMA",
    "ROOT_COLUMNS",
    "TALLY_COLUMNS",
    "create_trace_runs_sql",
    "merge_trace_partials",
]

_TS = pa.timestamp("us")
_S = pa.string()
_I = pa.int64()
_F = pa.float64()

#: Fields of the root candidate: replaced together when a better root arrives.
ROOT_COLUMNS: Final = (
    ("root_span_id", _S),
    ("root_started_at", _TS),
    ("root_ended_at", _TS),
    ("root_status", _S),
    ("root_name", _S),
    ("agent", _S),
    ("root_model", _S),
    ("root_input_tokens", _I),
    ("root_output_tokens", _I),
    ("root_cost_usd", _F),
    ("version", _S),
    ("user", _S),
    ("team", _S),
    ("environment", _S),
    ("task_id", _S),
    ("suite", _S),
    ("trial", _I),
    ("root_attributes", _S),
)
#: Additive tallies over newly stored spans.
TALLY_COLUMNS: Final = (
    ("spans", _I),
    ("llm_calls", _I),
    ("llm_input_tokens", _I),
    ("llm_output_tokens", _I),
    ("llm_tokens_known", _I),
    ("llm_cost_usd", _F),
    ("llm_cost_known", _I),
    ("tool_calls", _I),
    ("tool_errors", _I),
    ("handoffs", _I),
)

PARTIAL_SCHEMA: Final = pa.schema(
    [
        pa.field("project", _S, nullable=False),
        pa.field("trace_id", _S, nullable=False),
        *ROOT_COLUMNS,
        *TALLY_COLUMNS,
        ("model", _S),
    ]
)

_DUCK: Final = {_S: "VARCHAR", _I: "BIGINT", _F: "DOUBLE", _TS: "TIMESTAMP"}


def create_trace_runs_sql() -> str:
    """DDL of ``trace_runs`` (one row per trace with spans stored by the receiver)."""
    cols = [f'"{f.name}" {_DUCK[f.type]}' for f in PARTIAL_SCHEMA]
    cols[0] += " NOT NULL"
    cols[1] += " NOT NULL"
    return f"CREATE TABLE trace_runs ({', '.join(cols)}, PRIMARY KEY (project, trace_id))"


def _merge_sql(view: str) -> str:
    old, new = "trace_runs", "excluded"
    better = (
        f"({new}.root_span_id IS NOT NULL AND ({old}.root_span_id IS NULL "
        f"OR {new}.root_started_at < {old}.root_started_at "
        f"OR ({new}.root_started_at = {old}.root_started_at "
        f"AND coalesce({new}.root_ended_at, {new}.root_started_at) > "
        f"coalesce({old}.root_ended_at, {old}.root_started_at))))"
    )
    sets = [
        f'"{c}" = CASE WHEN {better} THEN {new}."{c}" ELSE {old}."{c}" END' for c, _ in ROOT_COLUMNS
    ]
    sets += [
        f'"{c}" = coalesce({old}."{c}", 0) + coalesce({new}."{c}", 0)' for c, _ in TALLY_COLUMNS
    ]
    sets.append(f'"model" = coalesce({old}."model", {new}."model")')
    names = ", ".join(f'"{f.name}"' for f in PARTIAL_SCHEMA)
    return (
        f"INSERT INTO trace_runs ({names}) SELECT {names} FROM {view} "
        f"ON CONFLICT (project, trace_id) DO UPDATE SET {', '.join(sets)} RETURNING *"
    )


def _run_rows_sql(view: str) -> str:
    """Run rows (``RUNS_SCHEMA`` order) from merged ``trace_runs`` rows in ``view``."""
    exprs = {
        "project": "project",
        "run_id": "trace_id",
        "task_id": "task_id",
        "agent": "coalesce(agent, root_name)",
        "version": "version",
        "model": "coalesce(root_model, model)",
        "user": '"user"',
        "team": "team",
        "environment": "coalesce(environment, 'production')",
        "suite": "suite",
        "trial": "trial",
        "started_at": "root_started_at",
        "ended_at": "root_ended_at",
        "status": "CASE WHEN root_status = 'unset' AND root_ended_at IS NOT NULL THEN 'ok' "
        "ELSE root_status END",
        "input_tokens": "CASE WHEN llm_tokens_known > 0 THEN llm_input_tokens "
        "ELSE root_input_tokens END",
        "output_tokens": "CASE WHEN llm_tokens_known > 0 THEN llm_output_tokens "
        "ELSE root_output_tokens END",
        "total_tokens": "CASE WHEN llm_tokens_known > 0 THEN llm_input_tokens + "
        "llm_output_tokens ELSE root_input_tokens + root_output_tokens END",
        "cost_usd": "CASE WHEN llm_cost_known > 0 THEN llm_cost_usd ELSE root_cost_usd END",
        "steps": "llm_calls",
        "tool_calls": "tool_calls",
        "tool_errors": "tool_errors",
        "handoffs": "handoffs",
        "attributes": "root_attributes",
    }
    assert list(exprs) == RUNS_SCHEMA.names
    select = ", ".join(f'{e} AS "{n}"' for n, e in exprs.items())
    return f"SELECT {select} FROM {view} WHERE root_span_id IS NOT NULL"


def merge_trace_partials(con: duckdb.DuckDBPyConnection, partials: pa.Table) -> int:
    """Merge per-trace tallies into ``trace_runs`` and rebuild the touched runs.

    Call inside the transaction that stored the spans. Returns the number of run
    rows written (traces touched that have a root agent span).
    """
    if partials.num_rows == 0:
        return 0
    view, merged_view = "_agentslo_trace_partials", "_agentslo_trace_merged"
    con.register(view, partials)
    try:
        merged = con.execute(_merge_sql(view)).to_arrow_table()
    finally:
        con.unregister(view)
    con.register(merged_view, merged)
    try:
        runs = con.execute(_run_rows_sql(merged_view)).to_arrow_table()
    finally:
        con.unregister(merged_view)
    if runs.num_rows == 0:
        return 0
    names = ", ".join(f'"{n}"' for n in RUNS_SCHEMA.names)
    con.register(merged_view, runs)
    try:
        con.execute(f"INSERT OR REPLACE INTO runs ({names}) SELECT {names} FROM {merged_view}")
    finally:
        con.unregister(merged_view)
    return int(runs.num_rows)
