"""Detectors over the store: findings written with evidence, runs analysed once
unless asked again, reruns replace findings, rates per agent and version."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from tests.detect.builders import T0, span

from agentslo.detect import finding_rates, label_agreement, run_detectors
from agentslo.model import Outcome, Run
from agentslo.store import Store, open_store


def _fleet(store: Store) -> None:
    records: list[object] = []
    for i, (version, faulty) in enumerate(
        [("v1", False), ("v1", False), ("v2", True), ("v2", False)]
    ):
        rid = f"run{i}"
        records.append(
            Run(run_id=rid, agent="bot", version=version, started_at=T0 + timedelta(days=i))
        )
        records.append(span(0, "agent", rid, agent="bot", input_text="check order 5512"))
        status = "error" if faulty else "ok"
        records.append(span(1, "tool", rid, tool="get_order", status=status, input_text="5512"))
        records.append(span(2, "llm", rid, agent="bot", output_text="Order 5512 is fine."))
        records.append(
            Outcome(run_id=rid, label="failure" if faulty else "success", source="verified")
        )
    store.write_records(records)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "d.duckdb"
    with open_store(path) as store:
        _fleet(store)
    return path


def test_detect_writes_findings_and_skips_analysed_runs(db: Path) -> None:
    with open_store(db) as store:
        first = run_detectors(store)
        assert first.runs == 4 and first.findings["recovery"] == 1
        row = store.con.execute(
            "SELECT run_id, step, span_id, severity, evidence FROM findings "
            "WHERE mode = 'unrecovered_fault'"
        ).fetchone()
        assert row is not None
        assert row[:4] == ("run2", 1, "run2-s1", "high")
        assert '"span_ids":["run2-s1"]' in row[4]
        again = run_detectors(store)
        assert (again.runs, again.skipped) == (0, 4)
        count = store.count("findings")
        redo = run_detectors(store, ["recovery"], rerun=True)
        assert redo.runs == 4 and store.count("findings") == count  # replaced, not added


def test_since_and_detector_selection(db: Path) -> None:
    with open_store(db) as store:
        summary = run_detectors(store, ["root_cause"], since=T0 + timedelta(days=2))
        assert summary.runs == 2 and summary.skipped == 0  # runs before --since are not counted
        assert list(summary.findings) == ["root_cause"]
        # the other detectors still have every run to do
        assert run_detectors(store, ["loops"]).runs == 4
        with pytest.raises(ValueError, match="unknown detector 'nope'"):
            run_detectors(store, ["nope"])


def test_finding_rates_per_agent_and_version(db: Path) -> None:
    with open_store(db) as store:
        run_detectors(store)
        rates = {r["version"]: r for r in finding_rates(store)}
        assert rates["v1"]["unrecovered_fault_rate"] == 0.0
        assert rates["v2"]["unrecovered_fault_rate"] == 0.5
        assert rates["v2"]["runs"] == 2
        with pytest.raises(ValueError, match="cannot group"):
            finding_rates(store, ["nope"])


def test_agreement_with_human_labels(tmp_path: Path) -> None:
    from tests.ingest.test_who_and_when import ALGORITHM

    from agentslo.ingest import import_paths

    path = tmp_path / "logs.json"
    other = dict(ALGORITHM, question_ID="q-9", mistake_step="3", mistake_agent="Checker_Expert")
    path.write_text(json.dumps([ALGORITHM, other]))
    with open_store(tmp_path / "a.duckdb") as store:
        import_paths(store, [path], rejects_dir=tmp_path / "rej")
        assert label_agreement(store)["runs_with_finding"] == 0  # nothing detected yet
        run_detectors(store, ["root_cause"])
        scored = label_agreement(store)
    # both runs are blamed on step 1 (excel_expert): right for the first log only
    assert scored["labelled_runs"] == 2 and scored["runs_with_finding"] == 2
    assert scored["agent_accuracy"] == 0.5 and scored["step_accuracy"] == 0.5
    assert scored["step_within_5"] == 1.0
