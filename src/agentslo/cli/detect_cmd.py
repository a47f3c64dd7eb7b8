"""``agentslo detect``: run the failure-mode detectors over runs not yet analysed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from agentslo.cli.common import DbOption, JsonOption, console, handle_errors, open_db, print_json
from agentslo.detect import DETECTORS, run_detectors
from agentslo.durations import parse_instant

__all__ = ["detect"]


@handle_errors
def detect(
    since: Annotated[
        str | None,
        typer.Option(help="Only runs started since: a duration before now (1d) or an ISO instant."),
    ] = None,
    detector: Annotated[
        list[str] | None,
        typer.Option(
            "--detector",
            help=f"Run only this detector (repeatable): {', '.join(DETECTORS)}. Default: all.",
        ),
    ] = None,
    run: Annotated[str | None, typer.Option("--run", help="Only this run id.")] = None,
    rerun: Annotated[
        bool,
        typer.Option(
            "--rerun", help="Analyse runs again even if already analysed (replaces their findings)."
        ),
    ] = False,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Find loops, unrecovered faults, premature endings, lost hand-off context, drift,
    root causes and claim-execution gaps; write them to the findings table."""
    start = parse_instant(since, now=datetime.now()) if since else None
    with open_db(db) as store:
        summary = run_detectors(store, detector, since=start, run_id=run, rerun=rerun)
    if json_output:
        print_json(summary.to_dict())
        return
    table = Table(title=f"{summary.runs:,} runs analysed, {summary.skipped:,} already done")
    table.add_column("detector")
    table.add_column("findings", justify="right")
    for name, count in sorted(summary.findings.items()):
        table.add_row(name, f"{count:,}")
    console.print(table)
    if summary.skipped and not rerun:
        console.print("[dim]runs analysed before were skipped; pass --rerun to redo them[/]")
