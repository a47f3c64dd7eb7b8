"""Who&When logs: both shapes, annotations as human findings, malformed annotations
rejected per log, and (when the dataset is present) the real split."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentslo.detect import Trace, attribute
from agentslo.ingest import import_paths
from agentslo.ingest.detect import detect_format
from agentslo.ingest.importers.who_and_when import convert_log
from agentslo.model import Finding, Outcome, Run, Span
from agentslo.store import open_store

DATASET = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "who-and-when"

ALGORITHM: dict[str, Any] = {
    "is_correct": False,
    "question": "How many even addresses?",
    "question_ID": "q-1",
    "ground_truth": "8",
    "history": [
        {"content": "You are given a task", "role": "assistant", "name": "Excel_Expert"},
        {"content": "```python\nprint(1)\n```", "role": "user", "name": "excel_expert"},
        {
            "content": "exitcode: 1 (execution failed)\nTraceback ...",
            "role": "user",
            "name": "Computer_terminal",
        },
        {"content": "The answer is 4", "role": "user", "name": "Checker_Expert"},
    ],
    "mistake_agent": "EXCEL_EXPERT",
    "mistake_step": "1",
    "mistake_reason": "wrong column",
    "system_prompt": {"Excel_Expert": "..."},
}
HAND_CRAFTED: dict[str, Any] = {
    "is_corrected": False,
    "question": "Find the paper",
    "question_ID": "q-2",
    "history": [
        {"content": "Find the paper", "role": "human"},
        {"content": "Please search", "role": "Orchestrator (-> WebSurfer)"},
        {"content": "I searched", "role": "WebSurfer"},
    ],
    "mistake_agent": "WebSurfer",
    "mistake_step": "2",
    "mistake_reason": "clicked the wrong link",
}


def _by_type(records: list[Any]) -> dict[type, list[Any]]:
    out: dict[type, list[Any]] = {}
    for r in records:
        out.setdefault(type(r), []).append(r)
    return out


def test_algorithm_generated_log() -> None:
    records, problem = convert_log(ALGORITHM, key="x")
    assert problem is None
    got = _by_type(records)
    run: Run = got[Run][0]
    assert run.run_id == "who-and-when:algorithm-generated:q-1" and run.tool_errors == 1
    assert run.attributes["instruction"] == "How many even addresses?"
    spans: list[Span] = got[Span]
    assert [(s.kind, s.status) for s in spans] == [
        ("llm", "ok"),
        ("llm", "ok"),
        ("tool", "error"),
        ("llm", "ok"),
    ]
    outcome: Outcome = got[Outcome][0]
    assert (outcome.label, outcome.source) == ("failure", "verified")
    label: Finding = got[Finding][0]
    assert (label.detector, label.mode, label.step, label.agent) == (
        "human",
        "root_cause",
        1,
        "Excel_Expert",
    )
    found = attribute(Trace.of(run.run_id, spans, outcome="failure"))
    assert found is not None and (found.step, found.agent) == (1, "excel_expert")


def test_hand_crafted_log_agents_from_role() -> None:
    records, problem = convert_log(HAND_CRAFTED, key="x")
    assert problem is None
    spans = [r for r in records if isinstance(r, Span)]
    assert [s.agent for s in spans] == ["human", "Orchestrator", "WebSurfer"]
    assert spans[1].attributes["handoff.to"] == "WebSurfer"
    assert next(r for r in records if isinstance(r, Run)).suite == "who-and-when/hand-crafted"


def test_malformed_annotation_is_rejected_and_the_log_kept(tmp_path: Path) -> None:
    bad = dict(ALGORITHM, mistake_step="seven", question_ID="q-3")
    path = tmp_path / "logs.json"
    path.write_text(json.dumps([ALGORITHM, bad, {"no": "history"}]))
    assert detect_format(path) == "who-and-when"
    with open_store(tmp_path / "w.duckdb") as store:
        result = import_paths(store, [path], rejects_dir=tmp_path / "rejects")
        assert result.rejected == 2
        assert store.count("runs") == 2 and store.count("findings") == 1
    errors = (tmp_path / "rejects").glob("*")
    text = "".join(p.read_text() for p in errors)
    assert (
        "mistake_step 'seven' is not a step number" in text
        and "expected an object with a 'history'" in text
    )


@pytest.mark.skipif(
    not (DATASET / "algorithm-generated").is_dir(), reason=f"Who&When data not at {DATASET}"
)
def test_real_split_imports_and_attributes_above_the_best_llm_baseline() -> None:
    hits_agent = hits_step = total = 0
    for path in sorted((DATASET / "algorithm-generated").glob("*.json")):
        records, problem = convert_log(json.loads(path.read_text()), key=path.stem)
        assert problem is None, path
        spans = [r for r in records if isinstance(r, Span)]
        truth = next(r for r in records if isinstance(r, Finding))
        found = attribute(Trace.of(spans[0].run_id or "", spans, outcome="failure"))
        assert found is not None
        total += 1
        hits_agent += (found.agent or "").lower() == (truth.agent or "").lower()
        hits_step += found.step == truth.step
    assert total == 126
    assert hits_agent / total >= 0.55 and hits_step / total >= 0.26
