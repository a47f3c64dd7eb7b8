"""``agentslo detect``: run the failure-mode detectors over runs not yet analysed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from agentslo.cli.common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    fail,
    handle_errors,
    open_db,
    print_json,
)
from agentslo.detect import DETECTORS, run_detectors
from agentslo.detect.relatedness import (
    EmbeddingRelatedness,
    MissingExtraError,
    Relatedness,
    lexical,
)
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
    embeddings: Annotated[
        bool,
        typer.Option(
            "--embeddings",
            help="Drift: measure relatedness to the instruction by sentence embeddings "
            "(all-MiniLM-L6-v2, loaded offline; needs the [embeddings] extra) instead of "
            "shared words.",
        ),
    ] = False,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Find loops, unrecovered faults, premature endings, lost hand-off context, drift,
    root causes and claim-execution gaps; write them to the findings table."""
    start = parse_instant(since, now=datetime.now()) if since else None
    relatedness = _relatedness(embeddings, json_output)
    with open_db(db) as store:
        summary = run_detectors(
            store, detector, since=start, run_id=run, rerun=rerun, relatedness=relatedness
        )
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


def _relatedness(embeddings: bool, quiet: bool) -> Relatedness:
    """The drift backend asked for, loaded before any run is read (a missing extra
    fails at once, not after the first run)."""
    if not embeddings:
        return lexical
    if not quiet:
        err_console.print("[dim]loading the embedding model (all-MiniLM-L6-v2, offline)…[/]")
    try:
        return EmbeddingRelatedness().load()
    except MissingExtraError as exc:
        fail(str(exc))
