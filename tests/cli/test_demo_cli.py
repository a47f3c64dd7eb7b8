"""`agentslo demo` end to end: fleet written, report and SLOs printed, truth recorded."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agentslo.cli.app import app
from agentslo.cli.demo import demo_slo_paths
from agentslo.model import Run
from agentslo.slo import load_slos
from agentslo.store import Store

runner = CliRunner()


def test_demo_json_has_report_slos_and_ground_truth(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    result = runner.invoke(app, ["demo", "--db", str(db), "--runs", "4000", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["report"]["overall"]["runs"] == 4000
    regressed = payload["ground_truth"]["regressed_version"]
    groups = {(g["keys"]["agent"], g["keys"]["version"]): g for g in payload["report"]["groups"]}
    before = groups[(regressed["agent"], regressed["baseline_version"])]["success_rate"]
    after = groups[(regressed["agent"], regressed["version"])]["success_rate"]
    assert after < before  # the injected regression is visible in the report
    assert {s["name"] for s in payload["slos"]} >= {"support-bot-success", "fleet-latency"}
    with Store(db, read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM ground_truth").fetchone() != (0,)


def test_demo_table_output_and_rerun_replaces_the_demo(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    for _ in range(2):
        result = runner.invoke(app, ["demo", "--db", str(db), "--runs", "2000", "--seed", "3"])
        assert result.exit_code == 0, result.output
    assert "Fleet report" in result.stdout and "SLO status" in result.stdout
    assert "What the generator injected" in result.stdout
    with Store(db, read_only=True) as store:
        assert store.count("runs") == 2000


def test_demo_refuses_to_overwrite_real_data(tmp_path: Path) -> None:
    db = tmp_path / "real.duckdb"
    with Store(db) as store:
        store.write_records([Run(run_id="r", agent="a", started_at="2026-11-01T00:00:00")])  # type: ignore[arg-type]
    result = runner.invoke(app, ["demo", "--db", str(db), "--runs", "100"])
    assert result.exit_code == 2
    assert "holds runs that are not demo data" in " ".join(result.output.split())
    with Store(db, read_only=True) as store:
        assert store.count("runs") == 1


def test_shipped_demo_slos_load() -> None:
    assert len(load_slos(demo_slo_paths())) >= 4
