"""``agentslo trial run`` / ``trial list``: stored as runs that ``report`` reads unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentslo.cli.app import app
from agentslo.metrics import ReportQuery, fleet_report
from agentslo.store import open_store


def test_trial_run_stores_runs_spans_and_verified_outcomes(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    args = ["trial", "run", "opsdesk", "--agent", "agentslo.agents.opsdesk:brittle"]
    args += ["--k", "2", "--faults", "clean,api-errors:0.3", "--tasks", "recall-1,triage-2"]
    args += ["--concurrency", "2", "--db", str(db), "--json", "--version", "v1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    profiles = {p["profile"]: p for p in summary["profiles"]}
    assert profiles["clean"]["success_rate"] == 1.0
    assert profiles["api-errors:0.3"]["robustness"] < 1.0
    assert set(profiles["clean"]["pass_k"]) == {"1", "2"}
    assert summary["trials"] == 8
    with open_store(db, read_only=True) as store:
        report = fleet_report(store, ReportQuery(by=("suite", "environment", "version")))
        (group,) = report.groups
        assert group.keys == {"suite": "opsdesk", "environment": "trial", "version": "v1"}
        assert group.runs == 8 and group.with_outcome == 8
        runs = store.table("runs").to_pyarrow().to_pylist()
        assert sorted({r["trial"] for r in runs}) == [0, 1]
        profile_names = {json.loads(r["attributes"])["fault_profile"] for r in runs}
        assert profile_names == {"clean", "api-errors:0.3"}
        # one root span per run, one span per tool call (no model calls, no hand-offs)
        assert store.count("spans") == 8 + sum(r["tool_calls"] for r in runs)
        sources = {o["source"] for o in store.table("outcomes").to_pyarrow().to_pylist()}
        assert sources == {"verified"}
    shown = CliRunner().invoke(app, ["report", "--by", "task_id", "--db", str(db)])
    assert shown.exit_code == 0 and "recall-1" in shown.output


def test_trial_run_prints_the_summary_tables(tmp_path: Path) -> None:
    args = ["trial", "run", "opsdesk", "--agent", "agentslo.agents.opsdesk:oracle"]
    args += ["--k", "2", "--tasks", "rollback-1", "--db", str(tmp_path / "t.duckdb")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    for text in ("pass^2", "pass@2", "robustness", "p95 steps", "Outcomes by reason"):
        assert text in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "--agent", "x:y"], "no suite 'nope'"),
        (["opsdesk", "--agent", "x:y", "--faults", "gremlins"], "unknown fault 'gremlins'"),
        (["opsdesk", "--agent", "x:y", "--tasks", "zzz"], "matches no task"),
        (["opsdesk"], "--agent module:attribute"),
        (["opsdesk", "--agent", "x:y", "--pass-env", "A=b"], "not an environment variable"),
        (["opsdesk", "--agent", "x:y", "--pass-env", "HOME"], "get their own HOME"),
        (["opsdesk", "--agent", "x:y", "--pass-env", "AGENTSLO_DB"], "store path"),
    ],
)
def test_bad_arguments_exit_2_with_the_reason(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["trial", "run", *args, "--db", str(tmp_path / "t.duckdb")])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_pass_env_gives_agents_the_listed_variables_and_no_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "listed")
    monkeypatch.setenv("HARNESS_SECRET", "not listed")
    db = tmp_path / "t.duckdb"
    args = ["trial", "run", "opsdesk", "--agent", "trials.trial_agents:nosy", "--k", "1"]
    args += ["--tasks", "refund-damage-1", "--db", str(db), "--json"]
    args += ["--pass-env", "HTTPS_PROXY", "--pass-env", "ANTHROPIC_API_KEY"]
    args += ["--pass-env", "NOT_SET_ANYWHERE"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    assert "--pass-env NOT_SET_ANYWHERE: not set" in result.stderr
    with open_store(db, read_only=True) as store:
        texts = [r["output_text"] for r in store.table("spans").to_pyarrow().to_pylist()]
    (seen,) = [json.loads(t) for t in texts if t and t.startswith("{")]
    assert {"HTTPS_PROXY", "ANTHROPIC_API_KEY"} <= set(seen["env"])
    assert "HARNESS_SECRET" not in seen["env"] and "NOT_SET_ANYWHERE" not in seen["env"]


def test_trial_list() -> None:
    listed = CliRunner().invoke(app, ["trial", "list", "opsdesk", "--json"])
    assert listed.exit_code == 0
    tasks = json.loads(listed.stdout)["opsdesk"]
    assert len(tasks) == 60 and {t["variant"] for t in tasks} == {"single", "team"}
    table = CliRunner().invoke(app, ["trial", "list"])
    assert "opsdesk" in table.output


def test_gate_reads_trials_unchanged(tmp_path: Path) -> None:
    db = str(tmp_path / "t.duckdb")
    for agent, version in (("robust", "v1"), ("brittle", "v2")):
        args = ["trial", "run", "opsdesk", "--agent", f"agentslo.agents.opsdesk:{agent}"]
        args += ["--version", version, "--name", "ops", "--k", "3", "--faults", "api-errors:0.3"]
        args += ["--tasks", "refund-damage-?,recall-?", "--db", db, "--json"]
        assert CliRunner().invoke(app, args).exit_code == 0
    gate = ["gate", "--baseline", "version=v1", "--candidate", "version=v2"]
    result = CliRunner().invoke(app, [*gate, "--metric", "success", "--db", db, "--json"])
    assert result.exit_code == 1, result.output  # the brittle version regressed
