"""``agentslo findings``: list what the detectors (and people's labels) found, or the
finding rates per agent and version."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from agentslo.cli.common import DbOption, JsonOption, console, handle_errors, open_db, print_json
from agentslo.cli.render import fmt_pct
from agentslo.cli.report import split_list
from agentslo.detect import RATE_MODES, finding_rates, judge_agreement, label_agreement

__all__ = ["findings"]

_COLUMNS = ("run_id", "step", "agent", "detector", "mode", "severity", "span_id", "evidence")


def _query(
    run: str | None, mode: str | None, detector: str | None, severity: str | None, limit: int
) -> tuple[str, list[Any]]:
    where, params = [], []
    for column, value in (("run_id", run), ("mode", mode), ("detector", detector)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if severity is not None:
        where.append("severity = ?")
        params.append(severity)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    sql = (
        f"SELECT {', '.join(_COLUMNS)} FROM findings {clause} "
        f"ORDER BY run_id, step NULLS LAST, detector, mode LIMIT {int(limit)}"
    )
    return sql, params


def _evidence_cell(text: str | None) -> str:
    if not text:
        return ""
    value = json.loads(text)
    if isinstance(value, dict):
        parts = [
            f"{k}={v}"
            for k, v in value.items()
            if k not in ("span_ids", "similarity", "steps") and v not in (None, "", [], {})
        ]
        text = "; ".join(parts)
    return text if len(text) <= 160 else text[:159] + "…"


@handle_errors
def findings(
    run: Annotated[str | None, typer.Option("--run", help="Only this run id.")] = None,
    mode: Annotated[
        str | None, typer.Option("--mode", help="Only this mode (e.g. unrecovered_fault).")
    ] = None,
    detector: Annotated[
        str | None, typer.Option("--detector", help="Only this detector (or 'human').")
    ] = None,
    severity: Annotated[str | None, typer.Option(help="Only this severity.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many findings.", min=1)] = 200,
    rates: Annotated[
        bool,
        typer.Option("--rates", help="Show finding rates per group instead of findings."),
    ] = False,
    by: Annotated[str, typer.Option(help="Grouping of --rates (run columns).")] = "agent,version",
    agreement: Annotated[
        bool,
        typer.Option(
            "--agreement",
            help="Score a detector's findings (--detector, default root_cause; --mode, default "
            "root_cause) against people's labels (detector 'human') instead of listing; with "
            "--detector judge, the LLM judge against the deterministic detectors per mode.",
        ),
    ] = False,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """List findings with their evidence (newest analysis of each run)."""
    with open_db(db, read_only=True) as store:
        if agreement and detector == "judge":
            _print_judge_agreement(judge_agreement(store, [mode] if mode else None), json_output)
            return
        if agreement:
            scored = label_agreement(store, detector or "root_cause", mode or "root_cause")
            _print_agreement(scored, json_output)
            return
        if rates:
            _print_rates(finding_rates(store, split_list(by)), split_list(by), json_output)
            return
        sql, params = _query(run, mode, detector, severity, limit)
        rows = [
            dict(zip(_COLUMNS, r, strict=True)) for r in store.con.execute(sql, params).fetchall()
        ]
    if json_output:
        for row in rows:
            row["evidence"] = json.loads(row["evidence"]) if row["evidence"] else None
        print_json(rows)
        return
    table = Table(
        title=f"{len(rows):,} findings" + (" (limit reached)" if len(rows) == limit else "")
    )
    for column in ("run", "step", "agent", "detector", "mode", "severity", "evidence"):
        table.add_column(column, justify="right" if column == "step" else "left", overflow="fold")
    for row in rows:
        table.add_row(
            row["run_id"] or "-",
            "-" if row["step"] is None else str(row["step"]),
            row["agent"] or "-",
            row["detector"],
            row["mode"],
            row["severity"],
            _evidence_cell(row["evidence"]),
        )
    console.print(table)


def _print_rates(rows: list[dict[str, Any]], by: tuple[str, ...], json_output: bool) -> None:
    if json_output:
        print_json(rows)
        return
    table = Table(title="finding rates (share of analysed runs with a finding)")
    for column in (*by, "runs", *RATE_MODES):
        table.add_column(column, justify="left" if column in by else "right")
    for row in rows:
        cells = [str(row[c]) if row[c] is not None else "-" for c in by]
        cells.append(f"{row['runs']:,}")
        cells += [fmt_pct(row[r]) for r in RATE_MODES]
        table.add_row(*cells)
    console.print(table)


def _print_agreement(scored: dict[str, Any], json_output: bool) -> None:
    if json_output:
        print_json(scored)
        return
    table = Table(
        title=f"{scored['detector']}/{scored['mode']} against {scored['labels']} labels "
        f"({scored['labelled_runs']:,} labelled runs, "
        f"{scored['runs_with_finding']:,} with a finding)"
    )
    for column in ("agent", "step", "step ±1", "step ±5"):
        table.add_column(column, justify="right")
    keys = ("agent_accuracy", "step_accuracy", "step_within_1", "step_within_5")
    table.add_row(*(fmt_pct(scored[k]) for k in keys))
    console.print(table)


def _print_judge_agreement(rows: list[dict[str, Any]], json_output: bool) -> None:
    if json_output:
        print_json(rows)
        return
    table = Table(title="LLM judge against the deterministic detectors (runs both analysed)")
    columns = ("mode", "rules", "judged", "compared", "both", "only judge", "only rules")
    for column in (*columns, "neither", "agreement", "kappa", "same step", "rejected", "errors"):
        table.add_column(column, justify="left" if column in ("mode", "rules") else "right")
    for row in rows:
        kappa = "-" if row["kappa"] is None else f"{row['kappa']:.2f}"
        rejected = ", ".join(f"{k} {v}" for k, v in row["rejected"].items()) or "0"
        table.add_row(
            row["mode"],
            row["rules"],
            *(f"{row[k]:,}" for k in ("judged", "compared", "both", "only_judge", "only_rules")),
            f"{row['neither']:,}",
            fmt_pct(row["agreement"]),
            kappa,
            fmt_pct(row["same_step"]),
            rejected,
            f"{row['errors']:,}",
        )
    console.print(table)
