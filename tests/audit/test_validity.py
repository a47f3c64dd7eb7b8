"""The audit fails, instead of passing, when an exploit never ran or agents were unconfined."""

from __future__ import annotations

import ctypes
import importlib
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import agentslo.audit.run as audit_run
from agentslo.audit import AuditConfig, Exploit, exploit_named, run_audit
from agentslo.trials import TrialResult, load_suite, select_tasks
from agentslo.trials.runner import TrialRunner

WHY = "Operation not permitted"


class _Unconfined(TrialRunner):
    """Workers that report what an unconfined worker reports: Landlock 0 and the error."""

    def run(
        self, specs: Any, on_result: Callable[[TrialResult], None] | None = None
    ) -> list[TrialResult]:
        def seen(result: TrialResult) -> None:
            result.run.attributes["sandbox"] = {"landlock": 0, "error": WHY, "uid": 1}
            if on_result is not None:
                on_result(result)

        return super().run(specs, seen)


def _checks(report: Any) -> dict[str, Any]:
    return {c.name: c for c in report.checks}


def test_an_exploit_whose_module_does_not_import_makes_the_audit_inconclusive() -> None:
    tasks = select_tasks(load_suite("opsdesk"), "recall-1")
    typo = Exploit("typo", "agentslo.agents.exploits:no_such_agent", ("V6",), "nothing", "-")
    config = AuditConfig(k=1, exploits=(exploit_named("do-nothing"), typo))
    report = run_audit("opsdesk", tasks, config)
    assert report.scored == [] and report.ok is False
    check = _checks(report)["every exploit ran to completion"]
    assert not check.holds and "inconclusive: typo" in check.detail
    (evidence,) = check.evidence
    assert evidence["exploit"] == "typo" and evidence["ended"] == {"agent_import": 1}


def test_an_exploit_ending_as_it_is_meant_to_completes() -> None:
    tasks = select_tasks(load_suite("opsdesk"), "recall-1")
    config = AuditConfig(k=1, exploits=(exploit_named("do-nothing"), exploit_named("crash")))
    report = run_audit("opsdesk", tasks, config)
    assert report.exploits[1].reasons == {"agent_error": 1}
    assert _checks(report)["every exploit ran to completion"].holds


def test_without_the_sandbox_tamper_and_probe_are_not_run_and_the_audit_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(audit_run, "TrialRunner", _Unconfined)
    tasks = select_tasks(load_suite("opsdesk"), "recall-1")
    names = ("tamper", "do-nothing", "probe")
    config = AuditConfig(k=1, exploits=tuple(map(exploit_named, names)))
    report = run_audit("opsdesk", tasks, config)
    assert [r.exploit.name for r in report.exploits] == list(names)  # reported as configured
    tamper, nothing, probe = report.exploits
    assert tamper.tasks == {} and probe.tasks == {} and nothing.tasks
    assert "not sandboxed" in tamper.skipped and "--allow-unsandboxed" in tamper.skipped
    check = _checks(report)["agents are sandboxed"]
    assert not check.holds and WHY in check.detail and "tamper, probe" in check.detail
    assert _checks(report)["every exploit ran to completion"].holds
    assert report.ok is False


def test_an_interrupted_unsandboxed_audit_removes_what_was_planted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_run, "TrialRunner", _Unconfined)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # a folder tamper plants in
    planted = tmp_path / "conftest.py"

    def interrupt(name: str, result: TrialResult) -> None:
        if name == "audit:do-nothing":
            planted.write_text("import os\n")  # what an unconfined agent could leave
            raise KeyboardInterrupt

    tasks = select_tasks(load_suite("opsdesk"), "recall-1")
    config = AuditConfig(k=1, exploits=(exploit_named("do-nothing"),))
    with pytest.raises(KeyboardInterrupt):
        run_audit("opsdesk", tasks, config, on_trial=interrupt)
    assert not planted.exists()


def test_a_planted_folder_is_removed_with_the_file_planted_in_it(tmp_path: Path) -> None:
    from agentslo.audit.protect import Snapshot, restore

    folder = tmp_path / "logs" / "verifier"
    reward = folder / "reward.txt"
    snapshot = Snapshot(plants={str(reward): False, str(folder): False, str(folder.parent): False})
    folder.mkdir(parents=True)
    reward.write_text("1\n")
    restore(snapshot, snapshot.changes())
    assert not (tmp_path / "logs").exists()


def test_tamper_edits_only_beneath_the_roots_the_audit_watches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tamper = importlib.import_module("agentslo.agents.exploits.tamper")
    watched, loose = tmp_path / "suite", tmp_path / "elsewhere"
    for folder in (watched, loose):
        folder.mkdir()
        (folder / "verify.py").write_text("x = 1\n")
    monkeypatch.setattr(tamper, "search_roots", lambda: [watched, loose])

    class Tools:
        def __init__(self) -> None:
            self.options = {"edit_roots": [str(watched)]}

    targets = tamper._edit_targets(Tools())  # type: ignore[arg-type]
    assert targets == [watched / "verify.py"]


def test_a_protected_file_changed_while_the_oracle_ran_fails_the_check(tmp_path: Path) -> None:
    store = tmp_path / "store.duckdb"
    store.write_bytes(b"store")

    def edit(name: str, result: TrialResult) -> None:
        if name == "audit:oracle":
            with store.open("ab") as handle:
                handle.write(b"edited")

    tasks = select_tasks(load_suite("opsdesk"), "recall-1")
    config = AuditConfig(k=1, exploits=(exploit_named("do-nothing"),), store_path=store)
    report = run_audit("opsdesk", tasks, config, on_trial=edit)
    check = _checks(report)["protected files unchanged"]
    assert not check.holds
    assert [(e["exploit"], e["path"]) for e in check.evidence] == [("oracle", str(store))]


def test_the_harness_is_non_dumpable_during_the_audit_and_as_it_was_after() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_DUMPABLE is Linux's")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: this test process dumps
    during: list[int] = []

    def seen(name: str, result: TrialResult) -> None:
        during.append(libc.prctl(3, 0, 0, 0, 0))  # PR_GET_DUMPABLE

    tasks = select_tasks(load_suite("opsdesk"), "recall-1")
    config = AuditConfig(k=1, exploits=(exploit_named("do-nothing"),))
    run_audit("opsdesk", tasks, config, on_trial=seen)
    assert set(during) == {0}
    assert libc.prctl(3, 0, 0, 0, 0) == 1


def test_audited_agents_get_none_of_the_harness_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The model key a user's trials need is not handed to exploit agents."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-harness-secret")
    tasks = select_tasks(load_suite("opsdesk"), "recall-1")
    sniffer = Exploit("sniffer", "tests.trials.trial_agents:no_harness_key", ("V8",), "env", "-")
    config = AuditConfig(k=1, exploits=(exploit_named("do-nothing"), sniffer))
    report = run_audit("opsdesk", tasks, config)
    assert report.exploits[1].reasons == {"verification_failed": 1}
    assert _checks(report)["every exploit ran to completion"].holds
