"""The agent process cannot reach the harness, the verifier, the gold state or the store."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from agentslo.trials import Budget, TrialResult

Run = Callable[..., list[TrialResult]]


def test_agent_sees_a_fresh_directory_a_minimal_environment_and_no_harness(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AGENTSLO_DB", str(tmp_path / "secret.duckdb"))
    monkeypatch.setenv("HARNESS_SECRET", "s3cret")
    monkeypatch.chdir(tmp_path)
    (result,) = run("nosy")
    seen = json.loads(result.spans[0].output_text or "{}")
    assert not result.passed
    assert set(seen["env"]) <= {"PATH", "LANG", "HOME", "TMPDIR", "LC_CTYPE", "PWD"}
    assert Path(seen["cwd"]) != tmp_path and seen["cwd_files"] == []
    for module in ("agentslo.trials", "agentslo.trials.suites.opsdesk", "agentslo.store"):
        assert seen[module].startswith("refused"), module
    # what the agent wrote in its directory is gone and was never run
    assert not Path(seen["cwd"]).exists()
    assert not (tmp_path / "conftest.py").exists()


def test_the_harness_never_imports_the_agent(run: Run) -> None:
    import sys

    run("chatty")
    assert "trial_agents" not in sys.modules


def _worker_children() -> list[str]:
    """Agent worker processes whose parent is this (the test's) process."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
            cmd = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
        if int(ppid) == os.getpid() and b"agentslo.agents._worker" in cmd:
            found.append(proc.name)
    return found


def test_worker_processes_are_gone_after_the_run(run: Run) -> None:
    run("chatty", "refund-damage-1,restock-1")
    run("hang", "refund-damage-1", budget=Budget(timeout_s=0.5))
    assert _worker_children() == []


def _sleepers(seconds: str) -> list[str]:
    """Processes running ``sleep SECONDS`` (the agents' children in the test below)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes() if proc.name.isdigit() else b""
        except OSError:
            continue
        if cmd.split(b"\0")[:2] == [b"sleep", seconds.encode()]:
            found.append(proc.name)
    return found


@pytest.mark.parametrize("agent", ["leaves_a_child", "leaves_a_child_and_exits"])
def test_processes_an_agent_started_are_gone_after_the_run(run: Run, agent: str) -> None:
    # a duration no other test uses, so that only this agent's child matches
    seconds = f"{7700 + os.getpid() % 1000}.{len(agent)}"
    run(agent, "refund-damage-1", options={"sleep_s": seconds})
    # SIGKILL is delivered asynchronously: give a killed process a moment to go
    for _ in range(50):
        if not _sleepers(seconds):
            break
        time.sleep(0.05)
    assert _sleepers(seconds) == []


def test_the_cli_harness_makes_itself_non_dumpable() -> None:
    import subprocess
    import sys

    code = (
        "import ctypes; from agentslo.trials.pool import protect_harness; "
        "ok = protect_harness(); print(ok, ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "0"]  # PR_GET_DUMPABLE -> 0


def test_rebuilding_the_world_from_the_seed_does_not_help(run: Run) -> None:
    # With the world key disabled (0) the seed alone builds the world: the exploit works,
    # which shows the test can fail ...
    leaked = run("gold_reader", "refund-total-?", world_key=0)
    assert all(r.passed for r in leaked)
    # ... and with a secret key (the default) the agent's rebuilt world is another world.
    guarded = run("gold_reader", "refund-total-?", world_key=None)
    assert not any(r.passed for r in guarded)
    assert {r.reason for r in guarded} == {"verification_failed"}
