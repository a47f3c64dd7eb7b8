"""Worker starts that fail leave no process and no directory behind."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

from agentslo.agents.protocol import ProtocolError
from agentslo.trials import pool
from agentslo.trials.pool import Worker


def _fake_interpreter(tmp_path: Path, body: str) -> str:
    """A stand-in for the worker's interpreter: starts a child, then runs ``body``."""
    script = tmp_path / "fake-python"
    script.write_text(f"#!/bin/sh\nsleep 8642.{os.getpid()} >/dev/null 2>&1 &\n{body}\n")
    script.chmod(0o755)
    return str(script)


def _leftovers(tmp_path: Path) -> tuple[list[str], list[str]]:
    dirs = sorted(p.name for p in (tmp_path / "tmp").iterdir())
    marker = f"8642.{os.getpid()}".encode()
    sleepers = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes() if proc.name.isdigit() else b""
        except OSError:
            continue
        if cmd.split(b"\0")[:2] == [b"sleep", marker]:
            sleepers.append(proc.name)
    return dirs, sleepers


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("echo '{not json'; sleep 300", ProtocolError),
        ("sleep 300", TimeoutError),
        ('echo \'{"t": "result"}\'; sleep 300', RuntimeError),
        ("exit 1", RuntimeError),
        ("", FileNotFoundError),
    ],
    ids=["garbage", "silent", "not-ready", "exits", "no-interpreter"],
)
def test_a_failed_worker_start_cleans_up(
    body: str, error: type[Exception], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setattr(pool, "START_TIMEOUT_S", 1.0)
    interpreter = _fake_interpreter(tmp_path, body)
    if error is FileNotFoundError:
        interpreter = str(tmp_path / "missing-python")
    monkeypatch.setattr(sys, "executable", interpreter)

    async def start() -> None:
        await Worker.spawn(sys_path=[], pass_env=(), output_cap=1 << 20)

    with pytest.raises(error):
        asyncio.run(start())
    # SIGKILL is delivered asynchronously: give a killed process a moment to go
    for _ in range(50):
        if _leftovers(tmp_path) == ([], []):
            break
        time.sleep(0.05)
    assert _leftovers(tmp_path) == ([], [])
