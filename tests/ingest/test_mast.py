"""MAST records: transcript segmentation per speaker pattern, failure-mode codes as
human findings, malformed annotations reported with the record kept."""

from __future__ import annotations

import json
from pathlib import Path

from agentslo.ingest import import_paths
from agentslo.ingest.importers.mast import Turn, convert_record, segment
from agentslo.model import Finding, Run, Span
from agentslo.store import open_store

DATA = Path(__file__).resolve().parents[1] / "data" / "detect"
RECORDS = DATA / "mast_records.json"
NOT_UTF8 = DATA / "mast_not_utf8.json"


def _import(tmp_path: Path, path: Path) -> tuple[list[str], dict[str, int]]:
    with open_store(tmp_path / "s.duckdb") as store:
        result = import_paths(store, [path], fmt="mast", rejects_dir=tmp_path / "rejects")
        counts = {t: store.count(t) for t in ("runs", "spans", "findings")}
    lines = [json.loads(line) for p in (tmp_path / "rejects").glob("*") for line in p.open()]
    return [line["error"] for line in lines], counts | {"exit": result.exit_code}


def test_autogen_turns_and_codes_as_findings() -> None:
    record = json.loads(RECORDS.read_text())[0]
    records, problems = convert_record(record, key="k")
    assert problems == []
    run = next(r for r in records if isinstance(r, Run))
    assert (run.run_id, run.agent, run.model, run.suite) == (
        "mast:AG2:GSM-Plus:7",
        "AG2",
        "gpt-4o",
        "mast/GSM-Plus",
    )
    turns = [r for r in records if isinstance(r, Span) and r.parent_span_id == "root"]
    assert [(s.agent, s.attributes.get("handoff.to")) for s in turns] == [
        ("preamble", None),
        ("user_proxy", "assistant"),
        ("assistant", "user_proxy"),
        ("user_proxy", "assistant"),
    ]
    # "Note:" inside a turn does not start one: the AG2 pattern matched more lines
    assert "Note: counting apples" in (turns[2].output_text or "")
    found = sorted((f.mode, f.detector, f.span_id) for f in records if isinstance(f, Finding))
    assert found == [("2.6", "human", None), ("3.2", "human", None)]


def test_chatdev_banner_and_generic_prefixes() -> None:
    chatdev = (
        "[t INFO] **CEO<->CPO on : DemandAnalysis, turn 0**\nweb app\n"
        "[t INFO] **CPO<->CEO on : DemandAnalysis, turn 1**\nagreed"
    )
    assert [(t.speaker, t.to) for t in segment(chatdev)] == [("CEO", "CPO"), ("CPO", "CEO")]
    banner = (
        "task\n---------- WebSurfer ----------\nclicked\n---------- Orchestrator ----------\ndone"
    )
    assert segment(banner)[1:] == [
        Turn("WebSurfer", None, "---------- WebSurfer ----------\nclicked"),
        Turn("Orchestrator", None, "---------- Orchestrator ----------\ndone"),
    ]
    generic = "Alice: hello\nBob: hi\nNote: just a remark\nAlice: bye\nBob: bye"
    assert [t.speaker for t in segment(generic)] == ["Alice", "Bob", "Alice", "Bob"]
    assert segment("no speakers here") == [Turn("unknown", None, "no speakers here")]


def test_malformed_records_and_annotations_are_reported(tmp_path: Path) -> None:
    messages, counts = _import(tmp_path, RECORDS)
    name = str(RECORDS)
    assert messages == [
        f"{name}: record 1: annotation '4.1' not imported: not a MAST failure-mode code "
        "(expected one of 1.1, 1.2, 1.3, 1.4, 1.5, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 3.1, 3.2, 3.3)",
        f"{name}: record 1: annotation not imported: mast_annotation['3.1'] is 'maybe', "
        "expected 0 or 1",
        f"{name}: record 2: annotation not imported: mast_annotation is a list, expected an "
        'object such as {"1.1": 0, "1.3": 1}',
        f"{name}: record 4: no transcript: expected 'trace.trajectory' to be text, got nothing",
        f"{name}: record 5: no 'mas_name' (the multi-agent system that produced the trace)",
    ]
    # AG2 (1 root + 4 turns), ChatDev (1 + 3), MetaGPT (1 + 4), HyperAgent (1 + 1)
    assert counts == {"runs": 4, "spans": 16, "findings": 3, "exit": 1}


def test_bytes_that_are_not_utf8_are_replaced_and_reported(tmp_path: Path) -> None:
    messages, counts = _import(tmp_path, NOT_UTF8)
    assert messages == [
        f"{NOT_UTF8}: record 0: holds bytes that are not UTF-8; they were replaced by U+FFFD"
    ]
    assert counts == {"runs": 2, "spans": 6, "findings": 1, "exit": 1}
