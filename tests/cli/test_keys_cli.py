"""``agentslo keys``: a key is printed once, only its hash is stored, revocation works."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agentslo.cli.app import app
from agentslo.cli.serve import is_loopback
from agentslo.store import open_store
from agentslo.store.api_keys import list_keys, parse_key, verify

runner = CliRunner()


def test_create_list_revoke(tmp_path: Path) -> None:
    db = str(tmp_path / "k.duckdb")
    created = runner.invoke(app, ["keys", "create", "--project", "shop", "--db", db, "--json"])
    assert created.exit_code == 0, created.output
    key = json.loads(created.output)
    parsed = parse_key(key["key"])
    assert parsed is not None and parsed[0] == key["key_id"]
    with open_store(db, read_only=True) as store:
        (record,) = list_keys(store.con)
        stored = store.con.execute("SELECT * FROM api_keys").fetchall()
    assert parsed[1] not in repr(stored)  # the secret itself is nowhere in the store
    assert verify(record, parsed[1]) and not verify(record, parsed[1] + "x")
    listed = runner.invoke(app, ["keys", "list", "--db", db, "--json"])
    assert json.loads(listed.output)[0]["project"] == "shop"
    assert "key" not in json.loads(listed.output)[0]
    assert runner.invoke(app, ["keys", "revoke", key["key_id"], "--db", db]).exit_code == 0
    with open_store(db, read_only=True) as store:
        assert not verify(list_keys(store.con)[0], parsed[1])
    again = runner.invoke(app, ["keys", "revoke", key["key_id"], "--db", db])
    assert again.exit_code == 2 and "no active key" in again.output


def test_bad_project_names_are_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "k.duckdb")
    result = runner.invoke(app, ["keys", "create", "--project", "a b/c", "--db", db])
    assert result.exit_code == 2 and "letters, digits" in result.output


def test_serve_needs_a_key_unless_no_auth(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--db", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 2 and "no API key yet" in result.output


def test_loopback_hosts() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com")
