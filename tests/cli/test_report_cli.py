"""`agentslo report` and `agentslo export` through the real command line."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from agentslo.cli.app import app
from agentslo.model import Outcome, Run
from agentslo.store import Store
from agentslo.store.journal_dir import journal_path

runner = CliRunner()
NOW = datetime.now().replace(microsecond=0)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "fleet.duckdb"
    records: list[Any] = []
    for i in range(12):
        start = NOW - timedelta(hours=i)
        rid = f"r{i}"
        records.append(
            Run(
                run_id=rid,
                agent="support" if i % 2 else "coder",
                version="v2" if i < 6 else "v1",
                task_id=f"t{i % 3}",
                trial=i // 3,
                started_at=start,
                ended_at=start + timedelta(seconds=10 + i),
                cost_usd=0.25,
                input_tokens=1000,
                steps=3 + i,
            )
        )
        records.append(Outcome(run_id=rid, label="success", source="claimed"))
        if i % 4:
            records.append(
                Outcome(run_id=rid, label="success" if i % 3 else "failure", source="verified")
            )
    with Store(path) as store:
        store.write_records(records)
    return path


def test_report_json_carries_the_documented_fields(db: Path) -> None:
    result = runner.invoke(app, ["report", "--db", str(db), "--by", "agent,version", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["by"] == ["agent", "version"]
    assert len(payload["groups"]) == 4
    for group in [*payload["groups"], payload["overall"]]:
        for key in (
            "runs",
            "success_rate",
            "success_ci",
            "claimed_success_rate",
            "cost_per_success",
        ):
            assert key in group
        for measure in ("duration", "steps", "tokens", "cost"):
            assert set(group[measure]) == {"p50", "p95", "p99"}
    overall = payload["overall"]
    assert overall["runs"] == 12 and overall["with_outcome"] == 9
    assert overall["pass_k"]["1"] == pytest.approx(overall["success_rate"], abs=0.2)
    assert overall["claimed_success_rate"] == 1.0


def test_count_claimed_includes_claims(db: Path) -> None:
    result = runner.invoke(
        app, ["report", "--db", str(db), "--by", "", "--count-claimed", "--json"]
    )
    assert result.exit_code == 0, result.output
    overall = json.loads(result.stdout)["overall"]
    assert overall["with_outcome"] == 12  # every run at least claimed


def test_report_table_and_buckets(db: Path) -> None:
    result = runner.invoke(app, ["report", "--db", str(db), "--since", "6h", "--bucket", "2h"])
    assert result.exit_code == 0, result.output
    assert "Fleet report" in result.stdout
    assert "bucket start" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "colour"], "cannot group by 'colour'; choose from: project, agent"),
        (["--since", "yesterday"], "invalid time 'yesterday'"),
        (["--bucket", "0s"], "invalid duration '0s'"),
        (["--sources", "verified,robots"], "unknown outcome source 'robots'"),
    ],
)
def test_report_bad_options_are_named(db: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["report", "--db", str(db), *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_report_on_a_missing_store_says_how_to_make_one(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    assert "no such store; create one with `agentslo demo`" in " ".join(result.output.split())


def test_export_writes_every_table(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "parquet"
    result = runner.invoke(app, ["export", "--db", str(db), "--parquet", str(out), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["runs"]["rows"] == 12
    assert pq.read_table(out / "runs.parquet").num_rows == 12
    clash = tmp_path / "file.txt"
    clash.write_text("x")
    result = runner.invoke(app, ["export", "--db", str(db), "--parquet", str(clash)])
    assert result.exit_code == 2 and "is not a folder" in result.output


def test_a_journal_left_by_a_killed_server_is_named(db: Path) -> None:
    """A receiver killed between answering and committing leaves requests in its
    journal; a command reading the database directly says so and how to replay."""
    clean = runner.invoke(app, ["report", "--db", str(db), "--json"])
    assert clean.exit_code == 0 and "journal" not in clean.stderr
    journal = journal_path(db)
    journal.mkdir()
    (journal / f"{1:020d}.log").write_bytes(b"")
    result = runner.invoke(app, ["report", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    assert str(journal) in result.stderr and f"agentslo serve --db {db}" in result.stderr
    assert json.loads(result.stdout)["overall"]["runs"] == 12  # the figures still come
