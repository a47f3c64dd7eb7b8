"""``agentslo report``: the fleet table of success, percentiles and cost per success."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from agentslo.cli.common import DbOption, JsonOption, console, handle_errors, open_db, print_json
from agentslo.cli.render import finding_rates_table, report_table
from agentslo.detect import RATE_MODES, finding_rates
from agentslo.durations import parse_duration, parse_instant
from agentslo.metrics import ALL_SOURCES, TRUSTED_SOURCES, ReportQuery, fleet_report

__all__ = ["report", "split_list"]


def split_list(value: str) -> tuple[str, ...]:
    """Split a comma-separated option value, dropping blanks."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


@handle_errors
def report(
    by: Annotated[
        str,
        typer.Option(
            "--by",
            help="Comma-separated grouping: agent, version, model, task_id, team, user, "
            "environment, suite, project. Empty for the fleet total only.",
        ),
    ] = "agent",
    since: Annotated[
        str | None, typer.Option(help="Start: a duration before now (7d) or an ISO instant.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="End (exclusive): a duration before now or an ISO instant.")
    ] = None,
    bucket: Annotated[
        str | None, typer.Option(help="Time series: one row per group and bucket (1h, 1d).")
    ] = None,
    count_claimed: Annotated[
        bool,
        typer.Option(
            "--count-claimed",
            help="Count judge and the agent's own claims as outcomes too (default: only "
            "verified and human).",
        ),
    ] = False,
    sources: Annotated[
        str | None,
        typer.Option(
            help="Outcome sources to count, e.g. verified,human,judge (overrides --count-claimed)."
        ),
    ] = None,
    project: Annotated[str | None, typer.Option(help="Only this project.")] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Ignore outcomes recorded after this instant."),
    ] = None,
    findings: Annotated[
        bool,
        typer.Option(
            "--findings",
            help="Add finding rates per group (loop_rate, unrecovered_fault_rate, "
            "handoff_loss_rate, claim_gap_rate, ...) from `agentslo detect`.",
        ),
    ] = False,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Success rate with intervals, p50/p95/p99, cost per verified success, claim gap, pass^k."""
    if findings and bucket:
        raise ValueError(
            "--findings gives one rate per group, not per time bucket; leave out --bucket "
            "or --findings"
        )
    now = datetime.now()
    chosen = split_list(sources) if sources else ALL_SOURCES if count_claimed else TRUSTED_SOURCES
    query = ReportQuery(
        by=split_list(by),
        since=parse_instant(since, now=now) if since else None,
        until=parse_instant(until, now=now) if until else None,
        bucket=parse_duration(bucket) if bucket else None,
        sources=chosen,
        project=project,
        as_of=parse_instant(as_of, now=now) if as_of else None,
    )
    with open_db(db, read_only=True) as store:
        result = fleet_report(store, query)
        rates: list[dict[str, Any]] = []
        if findings:
            rates, overall = (
                finding_rates(store, keys, since=query.since, until=query.until, project=project)
                for keys in (query.by, ())
            )
    if json_output:
        payload = result.to_dict()
        if findings:
            _attach_rates(payload, rates, overall, query.by)
        print_json(payload)
    else:
        console.print(report_table(result))
        if findings:
            console.print(finding_rates_table(rates, query.by))


def _rates_of(row: dict[str, Any] | None) -> dict[str, Any]:
    """A group's finding rates as the report's JSON carries them (``analysed_runs``: the
    runs the detectors looked at; each rate None when its detector looked at none)."""
    if row is None:
        return {"analysed_runs": 0, **dict.fromkeys(RATE_MODES)}
    return {"analysed_runs": row["runs"], **{rate: row[rate] for rate in RATE_MODES}}


def _attach_rates(
    payload: dict[str, Any],
    rates: list[dict[str, Any]],
    overall: list[dict[str, Any]],
    by: tuple[str, ...],
) -> None:
    """Put each group's finding rates under ``finding_rates`` in its report row."""
    by_key = {tuple(row[c] for c in by): row for row in rates}
    for group in payload["groups"]:
        group["finding_rates"] = _rates_of(by_key.get(tuple(group["keys"].get(c) for c in by)))
    payload["overall"]["finding_rates"] = _rates_of(overall[0] if overall else None)
