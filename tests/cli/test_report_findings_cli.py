"""`agentslo report --findings`: finding rates per report group, in the table and the
JSON, over the same time window as the report."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentslo.cli.app import app
from agentslo.detect import run_detectors
from agentslo.model import Outcome, Run, Span
from agentslo.store import open_store

runner = CliRunner()
T0 = datetime(2026, 1, 1, 12)


def _run(i: int, version: str, faulty: bool) -> list[Run | Span | Outcome]:
    """A run whose tool call fails with no retry when ``faulty`` (an unrecovered fault)."""
    rid, start = f"run{i}", T0 + timedelta(days=i)

    def step(n: int, kind: Any, **fields: Any) -> Span:
        return Span(
            trace_id=rid,
            span_id=f"{rid}-s{n}",
            run_id=rid,
            name=fields.get("tool") or kind,
            kind=kind,
            started_at=start + timedelta(seconds=n),
            **fields,
        )

    return [
        Run(run_id=rid, agent="bot", version=version, started_at=start),
        step(0, "agent", agent="bot", input_text="check order 5512"),
        step(1, "tool", tool="get_order", status="error" if faulty else "ok", input_text="5512"),
        step(2, "llm", agent="bot", output_text="Order 5512 is fine."),
        Outcome(run_id=rid, label="failure" if faulty else "success", source="verified"),
    ]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "r.duckdb"
    fleet = [("v1", False), ("v1", False), ("v2", True), ("v2", False), ("v3", False)]
    with open_store(path) as store:
        store.write_records([r for i, (v, bad) in enumerate(fleet) for r in _run(i, v, bad)])
        run_detectors(store, ["loops", "recovery", "handoff", "claims"])
        store.write_records(_run(5, "v3", False)[:1])  # a run no detector has seen
    return path


def _report(db: Path, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["report", "--db", str(db), "--by", "version", *args, "--json"])
    assert result.exit_code == 0, result.output
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def test_rates_per_group_and_overall_in_json(db: Path) -> None:
    payload = _report(db, "--findings")
    groups = {g["keys"]["version"]: g for g in payload["groups"]}
    v2 = groups["v2"]["finding_rates"]
    assert (v2["analysed_runs"], v2["unrecovered_fault_rate"], v2["loop_rate"]) == (2, 0.5, 0.0)
    assert groups["v1"]["finding_rates"]["unrecovered_fault_rate"] == 0.0
    # v3: one of its two runs analysed; the rates count analysed runs only
    assert groups["v3"]["runs"] == 2 and groups["v3"]["finding_rates"]["analysed_runs"] == 1
    # drift was not run: its rate is unknown, not zero
    assert v2["drift_rate"] is None
    overall = payload["overall"]["finding_rates"]
    assert (overall["analysed_runs"], overall["unrecovered_fault_rate"]) == (5, 0.2)
    assert "finding_rates" not in _report(db)["overall"]


def test_rates_follow_the_report_window(db: Path) -> None:
    since = (T0 + timedelta(days=3)).isoformat()
    payload = _report(db, "--findings", "--since", since)
    groups = {g["keys"]["version"]: g["finding_rates"] for g in payload["groups"]}
    assert set(groups) == {"v2", "v3"}
    assert (groups["v2"]["analysed_runs"], groups["v2"]["unrecovered_fault_rate"]) == (1, 0.0)


def test_table_and_usage_errors(db: Path) -> None:
    table = runner.invoke(app, ["report", "--db", str(db), "--by", "version", "--findings"])
    assert table.exit_code == 0, table.output
    assert "finding rates" in table.stdout and "unrecovered_fault_rate" in table.stdout
    assert "50.0%" in table.stdout
    bucketed = runner.invoke(app, ["report", "--db", str(db), "--findings", "--bucket", "1d"])
    assert bucketed.exit_code == 2
    assert "--findings gives one rate per group, not per time bucket" in bucketed.output
    by_user = runner.invoke(app, ["report", "--db", str(db), "--by", "user", "--findings"])
    assert by_user.exit_code == 2
    assert "cannot group finding rates by ['user']" in by_user.output
