"""An audit's findings replace the suite's earlier ones, and a failed write loses none."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentslo.audit import AuditReport, ValidityCheck, audit_findings
from agentslo.audit.findings import replace_findings
from agentslo.store import open_store


def _report(*failed: str) -> AuditReport:
    checks = [ValidityCheck(name, False, "does not hold") for name in failed]
    return AuditReport("s", ["t"], 1, 0, [], checks, {}, {})


def _modes(db: Path) -> list[str]:
    with open_store(db, read_only=True) as store:
        return sorted(str(r["mode"]) for r in store.table("findings").to_pyarrow().to_pylist())


def test_a_failed_write_keeps_the_earlier_findings_and_a_rerun_drops_stale_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "f.duckdb"
    with open_store(db) as store:
        first = _report("oracle passes", "do-nothing fails")
        replace_findings(store, first, audit_findings(first))
    assert _modes(db) == ["do-nothing fails", "oracle passes"]

    with open_store(db) as store:

        def broken(records: object) -> None:
            raise OSError("disk full")

        monkeypatch.setattr(store, "write_records", broken)
        again = _report("oracle passes")
        with pytest.raises(OSError, match="disk full"):
            replace_findings(store, again, audit_findings(again))
    assert _modes(db) == ["do-nothing fails", "oracle passes"]

    with open_store(db) as store:
        replace_findings(store, again, audit_findings(again))
    assert _modes(db) == ["oracle passes"]
    with open_store(db) as store:
        replace_findings(store, _report(), [])
    assert _modes(db) == []
