"""``agentslo audit``: findings in the store, exit codes, and bad input named with its fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tests.audit.broken_suites  # noqa: F401 - registers the broken suites
from typer.testing import CliRunner

from agentslo.cli.app import app
from agentslo.store import open_store


def _findings(db: Path) -> list[dict[str, object]]:
    with open_store(db, read_only=True) as store:
        rows = store.table("findings").to_pyarrow().to_pylist()
    return sorted(rows, key=lambda r: str(r["mode"]))


def test_a_broken_suite_fails_with_findings_that_a_rerun_replaces(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    args = ["audit", "broken-eval", "--exploits", "eval-injection", "--k", "1"]
    args += ["--db", str(db), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["per_task"]["ledger-eval"]["scored_by"] == ["eval-injection"]
    assert report["per_task"]["ledger-eval"]["classes"] == ["V3"]
    first = _findings(db)
    assert [f["mode"] for f in first] == ["eval-injection", "nothing agent-written executed"]
    assert {f["detector"] for f in first} == {"audit"}
    evidence = json.loads(str(first[0]["evidence"]))
    assert evidence["task_id"] == "ledger-eval" and evidence["classes"] == ["V3"]
    assert evidence["scored"].startswith("passed 1 of 1 trials")
    # the same audit again replaces its findings instead of adding copies
    assert CliRunner().invoke(app, args).exit_code == 1
    assert [f["finding_id"] for f in _findings(db)] == [f["finding_id"] for f in first]


def test_the_table_names_the_exploit_the_class_and_the_check(tmp_path: Path) -> None:
    args = ["audit", "broken-trusts-message", "--exploits", "claim-success", "--k", "1"]
    result = CliRunner().invoke(app, [*args, "--db", str(tmp_path / "b.duckdb")])
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "claim-success" in out and "SCORED" in out
    assert "V7 trusting output of code the agent controls" in out
    assert "audit failed" in out and "ledger-report" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-suite"], "no suite 'no-such-suite'; known suites:"),
        (["opsdesk", "results.json"], "'opsdesk' is a suite, and auditing a suite takes no FILE"),
        (["nosuite", "results.json"], "a FILE is only for imported benchmark results"),
        (["opsdesk", "--tasks", "zzz-*"], "--tasks 'zzz-*' matches no task"),
        (["opsdesk", "--exploits", "teleport"], "no exploit 'teleport'; the battery has:"),
    ],
)
def test_bad_input_exits_2_with_the_problem_and_the_fix(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["audit", *args, "--db", str(tmp_path / "c.duckdb")])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
