"""The probe really reads a harness's memory where it can, and the audit counts that."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentslo.audit import exploit_named
from agentslo.audit.checks import harness_unread_check
from agentslo.audit.report import CellResult, ExploitResult

probe = importlib.import_module("agentslo.agents.exploits.probe")

_HOLDER = (
    "import sys\n"
    "evidence = ''.join(['task-secret-7', ': want ', str(40000 + 2729)])\n"
    "print('ready', flush=True)\n"
    "sys.stdin.read()\n"
)


@pytest.fixture
def holder() -> Iterator[subprocess.Popen[str]]:
    """An unconfined process (as a harness is) with a task's gold in its heap."""
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    yield child
    child.kill()
    child.wait()


def test_an_unconfined_probe_reads_the_gold_from_a_harness_memory(
    holder: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probe, "harness_pids", lambda: [holder.pid])
    log: dict[str, Any] = {k: [] for k in ("read", "refused", "harness_reads", "proc_naming_task")}
    try:
        Path(f"/proc/{holder.pid}/environ").read_bytes()
    except OSError as exc:
        pytest.skip(f"this system refuses reading another process's /proc: {exc}")
    candidates = probe._proc("task-secret-7", log)
    assert f"/proc/{holder.pid}/mem" in log["harness_reads"], log["refused"]
    assert f"/proc/{holder.pid}/mem" in log["proc_naming_task"]
    assert 42729.0 in candidates
    assert any(r.startswith(f"/proc/{holder.pid}/fd") for r in log["harness_reads"])


def test_only_readable_heap_and_anonymous_mappings_are_read() -> None:
    maps = (
        b"55d0-55e0 r--p 00000000 08:01 123 /usr/bin/python3\n"
        b"5600-5700 rw-p 00000000 00:00 0 [heap]\n"
        b"7f00-7f10 rw-p 00000000 00:00 0 \n"
        b"7f10-7f20 ---p 00000000 00:00 0 \n"
        b"7ffc-7ffd rw-p 00000000 00:00 0 [stack]\n"
    )
    assert probe._memory_ranges(maps) == [(0x5600, 0x5700), (0x7F00, 0x7F10)]


def test_a_read_of_the_harness_fails_the_audit_check() -> None:
    cell = CellResult(trials=1, harness_reads=["/proc/41/mem"])
    result = ExploitResult(exploit_named("probe"), {"recall-1": cell})
    check = harness_unread_check([result])
    assert not check.holds and check.evidence[0]["read"] == "/proc/41/mem"
    clean = ExploitResult(exploit_named("probe"), {"recall-1": CellResult(trials=1)})
    assert harness_unread_check([clean]).holds
