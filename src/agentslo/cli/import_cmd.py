"""``agentslo import PATH...``: load runs, spans, outcomes and findings from files.

Formats: agentslo JSONL and Parquet (see docs/formats.md), tau-bench result
files, Who&When logs, OpenInference JSON span trees (TRAIL) and MAST records
(see docs/detect.md). Bad records are written to a
reject file and reported; the good ones are imported. Exit code 0 when
everything was imported, 1 when any record was rejected or any file could not
be read, 2 for a usage error.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from agentslo.cli.common import (
    DbOption,
    JsonOption,
    UserError,
    console,
    err_console,
    handle_errors,
    open_db,
    print_json,
)
from agentslo.ingest import (
    DEFAULT_BATCH_ROWS,
    DEFAULT_REJECTS_DIR,
    FORMATS,
    ImportResult,
    import_paths,
)
from agentslo.store import TABLES

__all__ = ["import_"]


def _started_at(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise UserError(
            f"--started-at: expected an ISO-8601 timestamp such as 2024-06-01T12:00:00Z, "
            f"got {text!r}"
        ) from exc


def _summary(result: ImportResult) -> Table:
    table = Table(title="agentslo import", title_justify="left")
    table.add_column("file", overflow="fold")
    table.add_column("format")
    for name in TABLES:
        table.add_column(name, justify="right")
    table.add_column("rejected", justify="right")
    table.add_column("rejects file / error", overflow="fold")
    for item in result.files:
        note = item.error or item.rejects_path or ""
        table.add_row(
            item.path,
            item.format or "-",
            *(f"{item.rows.get(name, 0):,}" for name in TABLES),
            f"{item.rejected:,}",
            note,
            style="red" if item.error else ("yellow" if item.rejected else None),
        )
    if len(result.files) > 1:
        totals = result.rows
        table.add_row(
            "total",
            "",
            *(f"{totals[name]:,}" for name in TABLES),
            f"{result.rejected:,}",
            f"{result.failed} file(s) failed" if result.failed else "",
            style="bold",
        )
    return table


def _report_problems(result: ImportResult) -> None:
    """Every file error and the first reject messages of each file, on stderr."""
    for item in result.files:
        if item.error:
            err_console.print(f"[bold red]error:[/] {item.error}", highlight=False, soft_wrap=True)
        for message in item.messages:
            err_console.print(f"[yellow]rejected:[/] {message}", highlight=False, soft_wrap=True)
        hidden = item.rejected - len(item.messages)
        if hidden > 0:
            err_console.print(
                f"[yellow]rejected:[/] ... and {hidden:,} more from {item.path}",
                highlight=False,
                soft_wrap=True,
            )
        if item.rejects_path:
            err_console.print(
                f"rejected records of {item.path} are in {item.rejects_path}",
                highlight=False,
                soft_wrap=True,
            )


@handle_errors
def import_(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files to import, or folders of them (.jsonl, .ndjson, .parquet, "
            "tau-bench, Who&When, OpenInference or MAST .json).",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help=f"Format of every PATH ({'|'.join(FORMATS)}). Default: from each file name.",
            show_default=False,
        ),
    ] = None,
    table: Annotated[
        str | None,
        typer.Option(
            "--table",
            help=f"Table of Parquet files ({'|'.join(TABLES)}). Default: from the file's "
            "metadata or name.",
            show_default=False,
        ),
    ] = None,
    suite: Annotated[
        str | None,
        typer.Option(
            "--suite",
            help="tau-bench: suite name. Default: tau-bench-<domain> from the file name.",
            show_default=False,
        ),
    ] = None,
    agent: Annotated[
        str | None,
        typer.Option(
            "--agent", help="tau-bench: agent name. Default: tau-bench-agent.", show_default=False
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            help="tau-bench: agent version (model, prompt hash...) to compare by.",
            show_default=False,
        ),
    ] = None,
    started_at: Annotated[
        str | None,
        typer.Option(
            "--started-at",
            help="tau-bench: start of the first run (ISO-8601; runs 1 s apart). "
            "Default: the file's modification time.",
            show_default=False,
        ),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects",
            help=f"Folder for reject files. Default: ./{DEFAULT_REJECTS_DIR}/.",
            show_default=False,
        ),
    ] = None,
    batch_rows: Annotated[
        int,
        typer.Option(
            "--batch-rows",
            min=1,
            help="Rows written per transaction. Larger batches import big Parquet files "
            "faster; a failed batch is rolled back whole.",
        ),
    ] = DEFAULT_BATCH_ROWS,
    no_progress: Annotated[
        bool, typer.Option("--no-progress", help="Do not show the progress bar.")
    ] = False,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Import runs, spans, outcomes and findings from JSONL, Parquet or tau-bench files.

    Bad records go to a reject file and are listed; the good ones are imported.

    Exit code: 0 all imported, 1 some records rejected or files unreadable, 2 bad usage.
    """
    base = _started_at(started_at)
    with open_db(db) as store:
        result = import_paths(
            store,
            paths,
            fmt=fmt,
            table=table,
            suite=suite,
            agent=agent,
            version=version,
            rejects_dir=rejects,
            progress=not no_progress and err_console.is_terminal,
            batch_rows=batch_rows,
            started_at=base,
        )
    _report_problems(result)
    if json_output:
        print_json(result.to_dict())
    else:
        console.print(_summary(result))
    if result.exit_code:
        raise typer.Exit(result.exit_code)
