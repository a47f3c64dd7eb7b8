"""`agentslo slo check` and `agentslo slo rules` through the real command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.slo.traffic import AT, burst, healthy, slow_leak, store_with, success_slo, write_docs
from typer.testing import CliRunner

from agentslo.cli.app import app

runner = CliRunner()
AT_TEXT = "2026-03-01T12:00:00Z"


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    return write_docs(tmp_path / "checkout.yaml", success_slo())


def _db(tmp_path: Path, records: list[Any]) -> Path:
    path = tmp_path / "fleet.duckdb"
    store_with(records, path).close()
    return path


def _check(spec: Path, db: Path, *extra: str) -> Any:
    return runner.invoke(app, ["slo", "check", str(spec), "--db", str(db), "--at", AT_TEXT, *extra])


def test_healthy_exits_0(tmp_path: Path, spec: Path) -> None:
    result = _check(spec, _db(tmp_path, healthy()))
    assert result.exit_code == 0, result.output
    assert "checkout-success" in result.output
    assert "0 paging, 0 ticket, 1 healthy" in result.output


def test_page_exits_1(tmp_path: Path, spec: Path) -> None:
    result = _check(spec, _db(tmp_path, burst()))
    assert result.exit_code == 1, result.output
    assert "PAGE" in result.output and "Firing burn-rate alerts" in result.output


def test_ticket_only_exits_0_but_shows_it(tmp_path: Path, spec: Path) -> None:
    result = _check(spec, _db(tmp_path, slow_leak()))
    assert result.exit_code == 0, result.output
    assert "ticket" in result.output and "1 ticket" in result.output


def test_json_output(tmp_path: Path, spec: Path) -> None:
    result = _check(spec, _db(tmp_path, burst()), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["exit_code"] == 1 and data["firing"] == {"page": 1, "ticket": 0}
    assert data["at"] == AT_TEXT
    [slo] = data["slos"]
    assert slo["firing"] == "page" and slo["alerts"][0]["firing"] is True


def test_at_in_the_past_sees_the_past(tmp_path: Path, spec: Path) -> None:
    db = _db(tmp_path, burst())
    result = runner.invoke(
        app, ["slo", "check", str(spec), "--db", str(db), "--at", "2026-03-01T11:45:00Z"]
    )
    assert result.exit_code == 0, result.output  # the burst had not started yet


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "yesterday-ish"], "invalid time"),
        (["--db", "/nonexistent/fleet.duckdb"], "no such store"),
    ],
)
def test_bad_input_exits_2(tmp_path: Path, spec: Path, args: list[str], message: str) -> None:
    db = _db(tmp_path, healthy()[:10])
    result = runner.invoke(app, ["slo", "check", str(spec), "--db", str(db), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_bad_spec_exits_2_naming_file_and_path(tmp_path: Path) -> None:
    doc = success_slo()
    doc["spec"]["objectives"][0]["target"] = 99
    path = write_docs(tmp_path / "bad.yaml", doc)
    result = runner.invoke(app, ["slo", "check", str(path), "--db", str(_db(tmp_path, []))])
    assert result.exit_code == 2
    assert "bad.yaml" in result.output and "spec.objectives[0].target" in result.output


def test_rules_to_stdout_and_file(tmp_path: Path, spec: Path) -> None:
    result = runner.invoke(app, ["slo", "rules", str(spec)])
    assert result.exit_code == 0, result.output
    assert len(yaml.safe_load(result.stdout)["groups"]) == 1
    out = tmp_path / "rules.yaml"
    result = runner.invoke(app, ["slo", "rules", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(out.read_text())["groups"][0]["name"] == "agentslo-slo-checkout-success"
    assert AT.year == 2026  # the rules do not depend on any instant
