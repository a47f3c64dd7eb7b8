"""`agentslo detect` and `agentslo findings` end to end on an imported Who&When log."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ingest.test_who_and_when import ALGORITHM
from typer.testing import CliRunner

from agentslo.cli.app import app

runner = CliRunner()


def test_import_detect_and_list_findings(tmp_path: Path) -> None:
    log = tmp_path / "1.json"
    log.write_text(json.dumps(ALGORITHM))
    db = ["--db", str(tmp_path / "c.duckdb")]
    imported = runner.invoke(app, ["import", str(log), "--format", "who-and-when", *db])
    assert imported.exit_code == 0, imported.output

    first = runner.invoke(app, ["detect", *db, "--json"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["runs_analysed"] == 1 and summary["findings"]["root_cause"] == 1
    again = runner.invoke(app, ["detect", *db])
    assert again.exit_code == 0 and "pass --rerun" in again.stdout

    listed = json.loads(
        runner.invoke(app, ["findings", *db, "--mode", "root_cause", "--json"]).stdout
    )
    by_detector = {row["detector"]: row for row in listed}
    assert by_detector["human"]["step"] == by_detector["root_cause"]["step"] == 1
    assert by_detector["root_cause"]["evidence"]["rule"] == "earliest_fault"

    table = runner.invoke(app, ["findings", *db, "--run", "who-and-when:algorithm-generated:q-1"])
    assert table.exit_code == 0 and "unrecovered_fault" in table.stdout
    scored = json.loads(runner.invoke(app, ["findings", *db, "--agreement", "--json"]).stdout)
    assert scored["labelled_runs"] == 1 and scored["step_accuracy"] == 1.0
    assert "labelled runs" in runner.invoke(app, ["findings", *db, "--agreement"]).stdout
    rates = json.loads(runner.invoke(app, ["findings", *db, "--rates", "--json"]).stdout)
    assert rates[0]["agent"] == "captainagent" and rates[0]["unrecovered_fault_rate"] == 1.0


def test_unknown_detector_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["detect", "--db", str(tmp_path / "e.duckdb"), "--detector", "nope"]
    )
    assert result.exit_code == 2
    assert "unknown detector 'nope'" in result.output
