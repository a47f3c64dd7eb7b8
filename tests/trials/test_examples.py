"""Every example under examples/trials runs through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentslo.cli.app import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _from_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # agents are referenced as examples.trials.<module>:agent


def _run(tmp_path: Path, agent: str, tasks: str, faults: str = "clean") -> dict[str, float]:
    args = ["trial", "run", "opsdesk", "--agent", agent, "--tasks", tasks, "--faults", faults]
    args += ["--k", "1", "--db", str(tmp_path / "t.duckdb"), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return {p["profile"]: p["success_rate"] for p in json.loads(result.stdout)["profiles"]}


def test_plain_and_async_agents(tmp_path: Path) -> None:
    rates = _run(
        tmp_path,
        "examples.trials.plain_agent:agent",
        "rollback-?",
        "clean,api-errors:0.2,ambiguous",
    )
    assert rates == {"clean": 1.0, "api-errors:0.2": 1.0, "ambiguous": 1.0}
    assert _run(tmp_path, "examples.trials.async_agent:agent", "refund-total-1")["clean"] == 1.0


def test_team_agent(tmp_path: Path) -> None:
    rates = _run(
        tmp_path, "examples.trials.team_agent:agent", "restock-1-team,triage-2-team", "clean"
    )
    assert rates == {"clean": 1.0}


def test_pydantic_ai_agent_runs_offline(tmp_path: Path) -> None:
    pytest.importorskip("pydantic_ai")
    rates = _run(tmp_path, "examples.trials.pydantic_ai_agent:agent", "triage-1")
    assert rates == {"clean": 0.0}  # TestModel calls tools at random: it runs, it does not solve
