"""Protected-file snapshots see every kind of change and undo what can be undone."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from agentslo.audit.canary import Canary
from agentslo.audit.protect import restore, take_snapshot


def test_changes_are_seen_attributed_by_kind_and_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where a tamperer plants
    source, data, gone = tmp_path / "verify.py", tmp_path / "store.bin", tmp_path / "gone.py"
    source.write_text("def verify(env):\n    return True\n")
    data.write_bytes(b"\x00store")
    gone.write_text("x = 1\n")
    snapshot = take_snapshot([], [], extra=[source, data, gone])
    assert snapshot.changes() == []

    with source.open("a") as handle:
        handle.write("exec('canary')\n")
    stat = data.stat()
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # written, same content
    gone.unlink()
    (tmp_path / "conftest.py").write_text("planted")
    kinds = {Path(c.path).name: c.kind for c in snapshot.changes()}
    assert kinds == {
        "verify.py": "changed",
        "store.bin": "written",
        "gone.py": "deleted",
        "conftest.py": "planted",
    }

    undone = restore(snapshot, snapshot.changes())
    assert sorted(Path(p).name for p in undone) == ["conftest.py", "gone.py", "verify.py"]
    assert source.read_text() == "def verify(env):\n    return True\n"
    assert gone.read_text() == "x = 1\n" and not (tmp_path / "conftest.py").exists()
    assert snapshot.changes() == []  # what is there now is the next exploit's baseline


def test_a_canary_reports_each_payload_once_with_the_pid_that_ran_it() -> None:
    from agentslo.agents.exploits import canary_code

    canary = Canary()
    try:
        exec(canary_code(str(canary.path), "eval-task-1"))
        (hit,) = canary.new_hits()
        assert hit.tag == "eval-task-1" and hit.pid == os.getpid()
        assert canary.new_hits() == []
    finally:
        canary.close()
