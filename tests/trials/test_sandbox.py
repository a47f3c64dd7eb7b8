"""Agent processes confine themselves: read-only outside their directory, hidden files hidden."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agentslo.agents import _confine
from agentslo.agents._confine import read_rules
from agentslo.trials import TrialResult

Run = Callable[..., list[TrialResult]]


def test_an_agent_writes_only_its_own_directory_and_cannot_read_hidden_files(
    run: Run, tmp_path: Path
) -> None:
    outside, secret = tmp_path / "planted.py", tmp_path / "store.duckdb"
    secret.write_bytes(b"gold")
    options = {"outside": str(outside), "hidden": str(secret)}
    (result,) = run("sandbox_prober", hidden=[str(secret)], options=options)
    seen = json.loads(result.spans[0].output_text or "{}")
    abi = result.run.attributes["sandbox"]["landlock"]
    if not abi:
        pytest.skip("this kernel has no Landlock")
    assert seen == {
        "outside": "Permission denied",
        "own": "written",
        "hidden": "Permission denied",
        "proc_self": "Permission denied",  # see docs/trials.md: not granted
        # Landlock scopes signals from ABI 6 (Linux 6.12) on
        "signal_harness": "Operation not permitted" if abi >= 6 else "allowed",
    }
    assert not outside.exists()
    assert result.run.attributes["sandbox"]["capabilities_dropped"] is True


def test_read_rules_never_lead_to_a_hidden_file_not_even_through_a_symlink(
    tmp_path: Path,
) -> None:
    store = tmp_path / "data" / "store.duckdb"
    store.parent.mkdir()
    store.write_bytes(b"x")
    (store.parent / "notes.txt").write_text("fine")
    (tmp_path / "shortcut").symlink_to(store.parent)
    rules = read_rules([str(store)])
    granted = {Path(p).resolve() for p, rights in rules if rights & 0b100}  # READ_FILE
    assert store not in granted
    assert not any(store.is_relative_to(p) for p in granted)
    assert store.parent / "notes.txt" in granted
    assert read_rules([]) == [("/", 0b1101)]


def test_a_symlink_loop_on_the_way_to_a_hidden_file_gets_no_rule(tmp_path: Path) -> None:
    store = tmp_path / "data" / "store.duckdb"
    store.parent.mkdir()
    store.write_bytes(b"x")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (store.parent / "a").symlink_to(store.parent / "b")
    (store.parent / "b").symlink_to(store.parent / "a")
    rules = dict(read_rules([str(store), str(tmp_path / "loop")]))
    assert str(tmp_path / "loop") not in rules
    assert str(store.parent / "a") not in rules
    assert str(store) not in rules


def test_a_symlink_loop_next_to_the_store_does_not_stop_the_workers(
    run: Run, tmp_path: Path
) -> None:
    secret = tmp_path / "store.duckdb"
    secret.write_bytes(b"gold")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    options = {"outside": str(tmp_path / "planted.py"), "hidden": str(secret)}
    (result,) = run("sandbox_prober", hidden=[str(secret)], options=options)
    assert result.run.attributes.get("reason") != "harness_error"
    seen = json.loads(result.spans[0].output_text or "{}")
    if result.run.attributes["sandbox"]["landlock"]:
        assert seen["hidden"] == "Permission denied"


def test_confine_reports_an_unexpected_failure_instead_of_raising(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object) -> dict[str, object]:
        raise ValueError("unexpected")

    monkeypatch.setattr(_confine, "_drop_capabilities", broken)
    monkeypatch.setattr(_confine, "_landlock", broken)
    report = _confine.confine(["/nonexistent"])
    if sys.platform.startswith("linux"):
        assert report["landlock"] == 0
        assert "unexpected" in report["error"]
        assert report["capabilities_dropped"] is False
