"""``agentslo keys``: API keys of the receiver, one project each."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from agentslo.cli.common import DbOption, JsonOption, console, handle_errors, open_db, print_json
from agentslo.store.api_keys import create_key, list_keys, revoke_key

__all__ = ["app", "create", "list_", "revoke"]

app = typer.Typer(
    help="API keys for `agentslo serve`: each key reads and writes one project.",
    no_args_is_help=True,
)


@app.command("create")
@handle_errors
def create(
    project: Annotated[str, typer.Option(help="The project the key reads and writes.")],
    name: Annotated[str | None, typer.Option(help="A note: who or what uses the key.")] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    with open_db(db) as store:
        key = create_key(store.con, project, name)
    if json_output:
        print_json({"key_id": key.key_id, "project": key.project, "key": key.token})
        return
    console.print(f"API key for project [bold]{key.project}[/] (id {key.key_id}):", highlight=False)
    typer.echo(key.token)
    console.print(
        "[dim]Shown once; only its hash is stored. Send it as 'Authorization: Bearer <key>', "
        "e.g. OTEL_EXPORTER_OTLP_HEADERS='Authorization=Bearer <key>'.[/]",
        highlight=False,
    )


@app.command("list")
@handle_errors
def list_(db: DbOption = None, json_output: JsonOption = False) -> None:
    """The keys: id, project, name, created, revoked (never the secret)."""
    with open_db(db, read_only=True) as store:
        keys = list_keys(store.con)
    if json_output:
        print_json(
            [
                {
                    "key_id": k.key_id,
                    "project": k.project,
                    "name": k.name,
                    "created_at": k.created_at.isoformat() + "Z",
                    "revoked_at": None if k.revoked_at is None else k.revoked_at.isoformat() + "Z",
                }
                for k in keys
            ]
        )
        return
    table = Table(title="API keys", title_justify="left")
    for column in ("Key id", "Project", "Name", "Created (UTC)", "Revoked (UTC)"):
        table.add_column(column)
    for k in keys:
        table.add_row(
            k.key_id,
            k.project,
            k.name or "",
            k.created_at.isoformat(timespec="seconds"),
            "" if k.revoked_at is None else k.revoked_at.isoformat(timespec="seconds"),
        )
    console.print(table)


@app.command("revoke")
@handle_errors
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (from `agentslo keys list`).")],
    db: DbOption = None,
) -> None:
    """Revoke a key: requests carrying it are refused from then on."""
    with open_db(db) as store:
        if not revoke_key(store.con, key_id):
            raise ValueError(f"no active key {key_id!r}; see `agentslo keys list`")
    console.print(f"revoked key {key_id}", highlight=False)
