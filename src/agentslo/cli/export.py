"""``agentslo export``: the store's tables as Parquet files, readable by any tool."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agentslo.cli.common import DbOption, JsonOption, console, handle_errors, open_db, print_json

__all__ = ["export"]


@handle_errors
def export(
    parquet: Annotated[
        Path,
        typer.Option("--parquet", help="Folder to write runs/spans/outcomes/findings.parquet to."),
    ],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Export every table to Parquet (zstd); `agentslo import` reads them back losslessly."""
    if parquet.exists() and not parquet.is_dir():
        raise ValueError(f"--parquet {parquet}: exists and is not a folder; name a folder")
    with open_db(db, read_only=True) as store:
        written = store.export_parquet(parquet)
        counts = {name: store.count(name) for name in written}
    if json_output:
        print_json({name: {"path": str(p), "rows": counts[name]} for name, p in written.items()})
        return
    for name, path in written.items():
        console.print(f"{name:<9} {counts[name]:>12,} rows → {path}")
