"""OpenInference JSON span trees (the TRAIL shape): span mapping, the run, human
findings from annotations, and traces with broken parts kept with what is good."""

from __future__ import annotations

import json
from pathlib import Path

from agentslo.ingest import import_paths
from agentslo.ingest.detect import detect_format
from agentslo.ingest.importers.openinference import convert_trace
from agentslo.model import Finding, Run, Span
from agentslo.store import open_store

DATA = Path(__file__).resolve().parents[1] / "data" / "detect"
TRACES = DATA / "trail_traces.json"
NOT_UTF8 = DATA / "trail_not_utf8.json"


def _messages(tmp_path: Path, path: Path) -> tuple[list[str], dict[str, int]]:
    with open_store(tmp_path / "s.duckdb") as store:
        result = import_paths(store, [path], rejects_dir=tmp_path / "rejects")
        counts = {t: store.count(t) for t in ("runs", "spans", "findings")}
    lines = [json.loads(line) for p in (tmp_path / "rejects").glob("*") for line in p.open()]
    return [line["error"] for line in lines], counts | {"exit": result.exit_code}


def test_trail_trace_becomes_a_run_with_mapped_spans() -> None:
    trace = json.loads(TRACES.read_text())[0]
    records, problems = convert_trace(trace, key="k")
    run = next(r for r in records if isinstance(r, Run))
    spans = {r.span_id: r for r in records if isinstance(r, Span)}
    assert (run.run_id, run.agent, run.model) == ("trail-ok", "manager", "gpt-4o")
    assert (run.steps, run.tool_calls, run.tool_errors, run.total_tokens) == (1, 1, 1, 150)
    assert run.ended_at is not None and (run.ended_at - run.started_at).total_seconds() == 12.5
    # kinds from openinference.span.kind, nested attribute objects read as dotted keys
    assert {k: s.kind for k, s in spans.items()} == {
        "a1": "agent",
        "b1": "llm",
        "c1": "tool",
        "d1": "chain",
    }
    # c1 has no parent_span_id: it is nested in a1; children take the root's agent
    assert spans["c1"].parent_span_id == "a1" and spans["c1"].agent == "manager"
    assert (spans["c1"].tool, spans["c1"].status) == ("web_search", "error")
    assert spans["c1"].output_text == "Error: rate limited"
    assert spans["b1"].ended_at is not None  # "0:00:02.5" duration form
    assert (spans["b1"].ended_at - spans["b1"].started_at).total_seconds() == 2.5
    assert spans["d1"].started_at.isoformat() == "2025-03-19T16:44:45"  # Unix seconds
    (label,) = [r for r in records if isinstance(r, Finding)]
    assert (label.detector, label.mode, label.span_id, label.step, label.severity) == (
        "human",
        "Tool Selection Errors",
        "c1",
        2,
        "high",
    )
    assert problems == [
        "annotation not imported: errors[1] (Formatting Errors): location 'zz' is not a "
        "span_id of the trace",
        "annotation not imported: errors[2] has no 'category' (expected text such as "
        "'Tool Selection Errors')",
    ]


def test_broken_parents_are_repaired_and_bad_traces_rejected(tmp_path: Path) -> None:
    assert detect_format(TRACES) == "openinference-json"
    messages, counts = _messages(tmp_path, TRACES)
    name = str(TRACES)
    assert messages == [
        f"{name}: trace 0: annotation not imported: errors[1] (Formatting Errors): "
        "location 'zz' is not a span_id of the trace",
        f"{name}: trace 0: annotation not imported: errors[2] has no 'category' "
        "(expected text such as 'Tool Selection Errors')",
        f"{name}: trace 1: span n: no readable start time (expected 'timestamp' or "
        "'start_time' as ISO 8601 text or a Unix time); span left out",
        f"{name}: trace 1: span x: parent links form a cycle (x -> y -> x); attached to "
        "the root span r",
        f"{name}: trace 1: span o: parent ghost is not in the trace; attached to the root span r",
        f"{name}: trace 1: annotations not imported: annotation 'errors' is a str, not a list",
        f"{name}: trace 2: holds no usable span",
        f"{name}: trace 3: is a str, not a trace object",
    ]
    assert counts == {"runs": 2, "spans": 8, "findings": 1, "exit": 1}


def test_repaired_tree_has_one_root_and_no_cycle() -> None:
    trace = json.loads(TRACES.read_text())[1]
    records, _ = convert_trace(trace, key="k")
    parents = {r.span_id: r.parent_span_id for r in records if isinstance(r, Span)}
    assert parents == {"r": None, "x": "r", "y": "x", "o": "r"}


def test_bytes_that_are_not_utf8_cost_only_their_trace_a_warning(tmp_path: Path) -> None:
    messages, counts = _messages(tmp_path, NOT_UTF8)
    assert messages == [
        f"{NOT_UTF8}: trace 1: holds bytes that are not UTF-8; they were replaced by U+FFFD"
    ]
    assert counts == {"runs": 2, "spans": 2, "findings": 0, "exit": 1}
    with open_store(tmp_path / "s.duckdb") as store:
        (text,) = store.con.execute(
            "SELECT output_text FROM spans WHERE span_id = 'b'"
        ).fetchone() or (None,)
    assert text == "caf\ufffd au lait"
