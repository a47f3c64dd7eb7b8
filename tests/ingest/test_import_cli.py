"""`agentslo import` through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agentslo.cli.app import app
from agentslo.store import open_store

from .samples import RUN, TAU_FIXTURE, write_jsonl

runner = CliRunner()


def _args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "import",
        "--db",
        str(tmp_path / "s.duckdb"),
        "--rejects",
        str(tmp_path / "rej"),
        "--no-progress",
        *extra,
    ]


def test_json_output_and_exit_zero(tmp_path: Path) -> None:
    result = runner.invoke(app, _args(tmp_path, "--json", str(TAU_FIXTURE)))
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["totals"] == {
        "rows": {"runs": 4, "spans": 27, "outcomes": 4, "findings": 0},
        "rejected": 0,
        "failed": 0,
    }
    (file,) = payload["files"]
    assert file["path"] == str(TAU_FIXTURE)
    assert file["format"] == "tau-bench"
    assert file["rejects_path"] is None
    assert payload["exit_code"] == 0


def test_summary_table_names_rows_per_table(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "runs.jsonl", [RUN])
    result = runner.invoke(app, _args(tmp_path, str(path)))
    assert result.exit_code == 0, result.output
    for word in ("runs.jsonl", "jsonl", "runs", "spans", "outcomes", "findings", "rejected"):
        assert word in result.stdout


def test_rejects_exit_one_and_print_where_they_went(tmp_path: Path) -> None:
    bad = '{"record": "run", "run_id": 5, "agent": "a", "started_at": "2025-01-01"}'
    path = write_jsonl(tmp_path / "runs.jsonl", [RUN, bad])
    result = runner.invoke(app, _args(tmp_path, "--json", str(path)))
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    (file,) = payload["files"]
    assert file["rows"]["runs"] == 1
    assert file["rejected"] == 1
    assert Path(file["rejects_path"]).exists()
    assert f"rejected: {path}:2: field 'run_id': expected a string, got 5" in result.stderr
    assert f"rejected records of {path} are in {file['rejects_path']}" in result.stderr


def test_missing_file_is_reported_and_the_rest_imported(tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "runs.jsonl", [RUN])
    missing = tmp_path / "nope.parquet"
    result = runner.invoke(app, _args(tmp_path, str(missing), str(good)))
    assert result.exit_code == 1
    assert f"error: {missing}: no such file; check the path" in result.stderr
    with open_store(tmp_path / "s.duckdb") as store:
        assert store.count("runs") == 1


def test_unknown_format_option_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, _args(tmp_path, "--format", "xml", str(TAU_FIXTURE)))
    assert result.exit_code == 2
    assert "unknown format 'xml'; use one of: jsonl, parquet, tau-bench" in result.stderr


def test_tau_bench_flags(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        _args(
            tmp_path,
            "--suite",
            "tau-airline",
            "--agent",
            "my-agent",
            "--version",
            "v3",
            "--started-at",
            "2024-06-01T12:00:00+02:00",
            str(TAU_FIXTURE),
        ),
    )
    assert result.exit_code == 0, result.output
    with open_store(tmp_path / "s.duckdb") as store:
        rows = store.con.execute(
            "SELECT run_id, suite, agent, version, started_at FROM runs ORDER BY started_at"
        ).fetchall()
    assert rows[0][:4] == ("tau-airline:my-agent:v3:0:0", "tau-airline", "my-agent", "v3")
    assert rows[0][4].isoformat() == "2024-06-01T10:00:00"


def test_bad_started_at_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, _args(tmp_path, "--started-at", "noon", str(TAU_FIXTURE)))
    assert result.exit_code == 2
    assert "--started-at: expected an ISO-8601 timestamp" in result.stderr
