"""``agentslo slo``: check OpenSLO specs against the store, export Prometheus rules.

``slo check`` exits 0 when no page-level alert fires (ticket-level alerts are
shown but do not fail the command: they are for working hours, not for a CI step
or a cron job that wakes someone), 1 when a page-level burn-rate alert fires, and
2 for bad input (a spec, a time, a store).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from agentslo.cli.common import (
    DbOption,
    JsonOption,
    console,
    handle_errors,
    open_db,
    print_json,
)
from agentslo.durations import format_duration, parse_instant
from agentslo.slo import SLOStatus, evaluate_slos, load_slos, prometheus_rules_yaml

__all__ = ["alerts_table", "app", "check", "check_payload", "rules", "status_table"]

app = typer.Typer(
    help="SLOs from OpenSLO specs: error budgets and multiwindow burn-rate alerts.",
    no_args_is_help=True,
)

SpecsArgument = Annotated[
    list[Path],
    typer.Argument(
        help="OpenSLO v1 YAML files (or folders of *.yaml); see docs/slo.md.",
        metavar="SLO.yaml",
        show_default=False,
    ),
]

#: Exit code of ``slo check`` when a page-level alert fires.
EXIT_PAGE = 1


def _pct(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _budget_cell(status: SLOStatus) -> str:
    left = status.error_budget_remaining
    style = "red" if left < 0 else "yellow" if left < 0.25 else "green"
    return f"[{style}]{_pct(left, 1)}[/]"


def _alert_cell(status: SLOStatus) -> str:
    if status.firing == "page":
        return "[bold red]PAGE[/]"
    if status.firing == "ticket":
        return "[yellow]ticket[/]"
    return "[green]ok[/]"


def _target_cell(status: SLOStatus) -> str:
    if status.time_slice_window is None or status.time_slice_target is None:
        return _pct(status.target)
    return (
        f"{_pct(status.target)} of {format_duration(status.time_slice_window)} slices "
        f"≥ {_pct(status.time_slice_target, 1)}"
    )


def _fastest_burn(status: SLOStatus) -> str:
    """Burn rate over the shortest long window (the page alert's 1 h equivalent)."""
    first = status.alerts[0] if status.alerts else None
    if first is None or first.long_burn is None:
        return "—"
    return f"{first.long_burn:.1f}x / {format_duration(first.long_window)}"


def status_table(statuses: list[SLOStatus]) -> Table:
    """One row per SLO objective: SLI, budget left, fastest burn, firing alert."""
    table = Table(title="SLO status", title_justify="left")
    for name in ("SLO", "Target", "Window", "SLI", "Good / total", "Budget left", "Burn", "Alert"):
        table.add_column(name, justify="left" if name in ("SLO", "Target") else "right")
    for s in statuses:
        table.add_row(
            f"{s.display_name}\n[dim]{s.objective}[/]",
            _target_cell(s),
            format_duration(s.window),
            _pct(s.sli) if s.sli is not None else "— no data",
            f"{s.good:,} / {s.total:,} {s.unit}",
            _budget_cell(s),
            _fastest_burn(s),
            _alert_cell(s),
        )
    return table


def alerts_table(statuses: list[SLOStatus]) -> Table | None:
    """The firing burn-rate alerts with both windows' burn rates, or None if none fire."""
    firing = [(s, a) for s in statuses for a in s.alerts if a.firing]
    if not firing:
        return None
    table = Table(title="Firing burn-rate alerts", title_justify="left")
    for name in ("SLO", "Severity", "Long window", "Short window", "Threshold"):
        table.add_column(name, justify="left" if name in ("SLO", "Severity") else "right")
    for s, a in firing:
        style = "bold red" if a.severity == "page" else "yellow"
        table.add_row(
            f"{s.display_name}\n[dim]{s.objective}[/]",
            f"[{style}]{a.severity}[/]",
            f"{a.long_burn or 0:.1f}x over {format_duration(a.long_window)}",
            f"{a.short_burn or 0:.1f}x over {format_duration(a.short_window)}",
            f"{a.threshold:g}x",
        )
    return table


def check_payload(statuses: list[SLOStatus]) -> dict[str, Any]:
    """The JSON document of ``slo check --json`` (also served at ``GET /v1/slo``)."""
    pages = sum(1 for s in statuses if s.firing == "page")
    tickets = sum(1 for s in statuses if s.firing == "ticket")
    return {
        "at": statuses[0].at.isoformat() + "Z" if statuses else None,
        "exit_code": EXIT_PAGE if pages else 0,
        "firing": {"page": pages, "ticket": tickets},
        "slos": [s.to_dict() for s in statuses],
    }


@app.command("check")
@handle_errors
def check(
    specs: SpecsArgument,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="Evaluate as of this instant (ISO 8601, UTC if no zone; or a duration "
            "before now, e.g. 1d). Outcomes recorded later are ignored. Default: now.",
        ),
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """SLI, error budget and burn-rate alerts of each SLO; exit 1 if any alert pages."""
    slos = load_slos(specs)
    when = parse_instant(at) if at else None
    with open_db(db, read_only=True) as store:
        statuses = evaluate_slos(store, slos, at=when)
    pages = sum(1 for s in statuses if s.firing == "page")
    tickets = sum(1 for s in statuses if s.firing == "ticket")
    code = EXIT_PAGE if pages else 0
    if json_output:
        print_json(check_payload(statuses))
    else:
        console.print(status_table(statuses))
        alerts = alerts_table(statuses)
        if alerts is not None:
            console.print(alerts)
        healthy = len(statuses) - pages - tickets
        console.print(
            f"{len(statuses)} SLO objective(s) at {statuses[0].at.isoformat()}Z: "
            f"{pages} paging, {tickets} ticket, {healthy} healthy",
            highlight=False,
        )
    if code:
        raise typer.Exit(code)


@app.command("rules")
@handle_errors
def rules(
    specs: SpecsArgument,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the rule file here instead of to stdout."),
    ] = None,
) -> None:
    """Prometheus recording and alerting rules for the SLOs (multiwindow burn rates)."""
    slos = load_slos(specs)
    text = prometheus_rules_yaml(slos)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote burn-rate rules for {len(slos)} SLO objective(s) to {out}")
