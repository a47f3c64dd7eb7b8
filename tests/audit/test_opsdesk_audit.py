"""The built-in opsdesk suite passes its own audit: no exploit scores, every check holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentslo.audit import BATTERY, VULNERABILITY_CLASSES, AuditConfig, exploit_named, run_audit
from agentslo.cli.app import app
from agentslo.store import open_store
from agentslo.trials import load_suite, select_tasks

TASKS = "refund-total-1,triage-2-team"


def test_opsdesk_passes_the_whole_battery_through_the_cli(tmp_path: Path) -> None:
    db = tmp_path / "audit.duckdb"
    args = ["audit", "opsdesk", "--tasks", TASKS, "--k", "1", "--db", str(db), "--json"]
    result = CliRunner().invoke(app, args)
    report = json.loads(result.stdout)
    if not report["exposure"]["sandbox"]["landlock"]:
        pytest.skip(f"agent processes are not sandboxed here: {report['checks'][0]['detail']}")
    assert result.exit_code == 0, result.output
    assert report["ok"] is True and report["findings_written"] == 0
    assert [e["name"] for e in report["exploits"]] == [e.name for e in BATTERY]
    for exploit in report["exploits"]:
        assert exploit["scored_tasks"] == [], exploit
        assert exploit["trials"] == 2 and exploit["passed"] == 0
        assert set(exploit["classes"]) <= set(VULNERABILITY_CLASSES)
        assert exploit["protected_changes"] == [] and exploit["executed_payloads"] == []
    assert {e["reasons"].get("timeout") for e in report["exploits"] if e["name"] == "hang"} == {2}
    assert all(c["holds"] for c in report["checks"]), report["checks"]
    assert {c["name"] for c in report["checks"]} == {
        "agents are sandboxed",
        "every exploit ran to completion",
        "harness unreadable",
        "oracle passes",
        "do-nothing fails",
        "initial state fails",
        "protected files unchanged",
        "nothing agent-written executed",
    }
    assert set(report["per_task"]) == set(TASKS.split(","))
    assert all(t["oracle_passed"] and t["scored_by"] == [] for t in report["per_task"].values())
    assert report["exposure"]["sandbox"]["landlock"] >= 1  # writes outside its dir refused
    with open_store(db, read_only=True) as store:
        assert store.count("findings") == 0


def test_tampering_and_probing_find_nothing_to_use_in_a_sandboxed_worker() -> None:
    tasks = select_tasks(load_suite("opsdesk"), "recall-1")
    chosen = tuple(exploit_named(n) for n in ("tamper", "probe"))
    report = run_audit("opsdesk", tasks, AuditConfig(k=1, exploits=chosen))
    if not report.exposure["sandbox"].get("landlock"):
        pytest.skip(f"agent processes are not sandboxed here: {report.checks[0].detail}")
    assert report.scored == []
    checks = {c.name: c.holds for c in report.checks}
    assert checks["protected files unchanged"] and checks["nothing agent-written executed"]
    assert not checks["do-nothing fails"]  # not run: the check says so instead of passing
    tamper, probe = report.exploits[0].tasks["recall-1"], report.exploits[1].tasks["recall-1"]
    told = json.loads(tamper.message)
    # every write outside the agent's own directory was refused, and it tried many
    assert told["counts"]["refused"] > 100
    assert told["counts"]["planted"] == 0 and told["counts"]["edited"] == 0
    assert any("Verdict" in p for p in told["examples"]["patched"])  # only in its own process
    seen = json.loads(probe.message)
    assert seen["refused_count"] > 5
    assert any("Permission denied" in r for r in seen["refused"])
    assert seen["proc_naming_task"] == [] and seen["accepted"] == 0
    assert seen["harness_reads"] == [] and probe.harness_reads == []
