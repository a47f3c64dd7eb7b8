"""Agent processes confine themselves: read-only outside their directory, hidden files hidden."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

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
