"""A hole the audit found: the store holds earlier trials' verifier evidence of the same
worlds (``want 188.31``), and an agent that could read it would score on answer tasks.
Trials and audits now hide the store from agent processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentslo.cli.app import app
from agentslo.cli.trial import hidden_store_files, store_world_key
from agentslo.store import open_store
from agentslo.trials import TrialRunner, load_suite, parse_profiles, plan_trials, select_tasks

PROBE = "agentslo.agents.exploits:probe"


def _trial(db: Path, agent: str) -> dict[str, object]:
    args = ["trial", "run", "opsdesk", "--agent", agent, "--tasks", "refund-total-1"]
    result = CliRunner().invoke(app, [*args, "--k", "1", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    profile: dict[str, object] = json.loads(result.stdout)["profiles"][0]
    return profile


def test_the_store_is_hidden_from_agents_in_trials_and_audits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the harness's directory is on the agent's import path
    db = tmp_path / "trials.duckdb"
    assert _trial(db, "agentslo.agents.opsdesk:do_nothing")["success_rate"] == 0.0
    # the exploit works where the store is readable: this test can fail ...
    tasks = select_tasks(load_suite("opsdesk"), "refund-total-1")
    with open_store(db) as store:
        key, hidden = store_world_key(store), hidden_store_files(store)
    specs = plan_trials(tasks, parse_profiles("clean"), 1, 0)
    (leaky,) = TrialRunner(PROBE, world_key=key).run(specs)
    assert leaky.passed, leaky.spans[0].output_text
    told = json.loads(leaky.spans[0].output_text or "{}")
    assert told["stores"][str(db.resolve())] == "read: 1 rows of this task"
    # ... and hidden, as `trial run` and `audit` hide it, the store cannot be read
    (guarded,) = TrialRunner(PROBE, world_key=key, hidden=hidden).run(specs)
    assert not guarded.passed, guarded.spans[0].output_text
    told = json.loads(guarded.spans[0].output_text or "{}")
    assert told["stores"][str(db.resolve())] == "refused: Permission denied"
    audit = ["audit", "opsdesk", "--tasks", "refund-total-1", "--exploits", "probe", "--k", "1"]
    result = CliRunner().invoke(app, [*audit, "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
