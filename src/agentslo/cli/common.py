"""Options and helpers shared by every command: the store path, JSON output, errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from agentslo.store import Store, StoreError, open_store
from agentslo.store.journal_dir import journal_path, unreplayed_segments

__all__ = [
    "DbOption",
    "JsonOption",
    "UserError",
    "console",
    "err_console",
    "fail",
    "handle_errors",
    "open_db",
    "print_json",
]

P = ParamSpec("P")
R = TypeVar("R")

# Tables are wide; when piped (CI logs, files) do not squeeze them to 80 columns.
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True)

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        envvar="AGENTSLO_DB",
        help="Store file (DuckDB). Default: ./agentslo.duckdb.",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON (see docs/cli.md).")
]


class UserError(Exception):
    """A problem with what the user asked for; printed without a traceback (exit 2)."""


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` as an error and exit with ``code``.

    The message is printed as it is (brackets, as in ``pip install 'agentslo[x]'``, are
    not read as markup).
    """
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn the errors a user can fix into a one-line message and exit code 2."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (UserError, StoreError, ValueError, FileNotFoundError, PermissionError) as exc:
            fail(str(exc))

    return wrapper


def open_db(db: Path | None, *, read_only: bool = False) -> Store:
    """Open the store named by ``--db`` / ``AGENTSLO_DB`` / the default.

    Warns when a receiver's journal beside it holds requests the database may not
    have yet (the server was killed): only ``agentslo serve`` replays them.
    """
    store = open_store(db, read_only=read_only)
    if str(store.path) != ":memory:" and unreplayed_segments(store.path):
        err_console.print(
            f"[bold yellow]warning:[/] {journal_path(store.path)} holds requests `agentslo "
            "serve` acknowledged and may not have committed (it was stopped without a "
            f"clean shutdown); start `agentslo serve --db {store.path}` once to replay "
            "them, or these figures may miss them",
            highlight=False,
            soft_wrap=True,
        )
    return store


def print_json(payload: Any) -> None:
    """Write ``payload`` as JSON to stdout (NaN and infinities become null)."""
    sys.stdout.write(json.dumps(_clean(payload), indent=2, default=str) + "\n")


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
