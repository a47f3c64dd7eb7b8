"""`agentslo demo` then `agentslo detect`: the injected failure modes are found."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agentslo.cli.app import app
from agentslo.demo import score_findings
from agentslo.store import Store

runner = CliRunner()


def test_detect_finds_the_failure_modes_the_demo_injected(tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "demo.duckdb")]
    made = runner.invoke(app, ["demo", *db, "--runs", "1500", "--transcripts", "0.4", "--json"])
    assert made.exit_code == 0, made.output
    injected = json.loads(made.stdout)["failure_modes"]
    assert injected["transcript_runs"] > 450
    assert {"repeated_call", "lost_context", "cascade", "unbacked_claim"} <= set(
        injected["runs_per_mode"]
    )
    found = runner.invoke(app, ["detect", *db, "--json"])
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)["runs_analysed"] == 1500
    with Store(tmp_path / "demo.duckdb", read_only=True) as store:
        scores = score_findings(store)
    for mode in ("repeated_call", "agent_cycle", "dropped_field", "drift", "cascade"):
        score = scores.mode(mode)
        assert score.injected == injected["runs_per_mode"][mode]
        assert score.recall is not None and score.recall > 0.5, score


def test_demo_table_says_what_failure_modes_were_injected(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["demo", "--db", str(tmp_path / "d.duckdb"), "--runs", "800", "--transcripts", "0.2"]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "Failure modes" in text and "runs carry transcripts" in text


def test_transcript_share_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--db", str(tmp_path / "x.duckdb"), "--transcripts", "2"])
    assert result.exit_code == 2
    assert "transcripts" in result.output
