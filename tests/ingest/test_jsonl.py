"""JSONL import: round trips per table, idempotence, and every kind of bad line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentslo.ingest import import_paths
from agentslo.model import SCHEMAS, Finding, Outcome, Run, Span
from agentslo.store import Store

from .samples import FINDING, OUTCOME, RUN, SPAN, read_rejects, write_jsonl

MODELS: dict[str, type[Run | Span | Outcome | Finding]] = {
    "runs": Run,
    "spans": Span,
    "outcomes": Outcome,
    "findings": Finding,
}
SAMPLES = {"runs": RUN, "spans": SPAN, "outcomes": OUTCOME, "findings": FINDING}


def _stored(store: Store, table: str) -> list[dict[str, Any]]:
    cursor = store.con.execute(f"SELECT * FROM {table} ORDER BY ALL")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _expected_row(table: str, record: dict[str, Any]) -> dict[str, Any]:
    fields = {k: v for k, v in record.items() if k != "record"}
    return MODELS[table].model_validate(fields).to_row()


@pytest.mark.parametrize("table", list(SAMPLES))
def test_each_record_kind_round_trips(
    table: str, store: Store, tmp_path: Path, rejects: Path
) -> None:
    path = write_jsonl(tmp_path / f"{table}.jsonl", [SAMPLES[table]])
    result = import_paths(store, [path], rejects_dir=rejects)
    assert result.exit_code == 0
    assert result.files[0].format == "jsonl"
    assert result.rows[table] == 1
    assert _stored(store, table) == [_expected_row(table, SAMPLES[table])]


def test_timestamps_are_stored_in_utc(store: Store, tmp_path: Path, rejects: Path) -> None:
    import_paths(store, [write_jsonl(tmp_path / "r.jsonl", [RUN])], rejects_dir=rejects)
    (row,) = _stored(store, "runs")
    assert row["started_at"].isoformat() == "2025-03-01T09:00:00"
    assert row["total_tokens"] == 1500  # derived by the model from input + output


def test_mixed_file_lands_in_one_write_per_batch(
    store: Store, tmp_path: Path, rejects: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[set[str]] = []
    original = store.write

    def spy(batch: Any) -> Any:
        batches.append(set(batch))
        return original(batch)

    monkeypatch.setattr(store, "write", spy)
    path = write_jsonl(tmp_path / "all.jsonl", [RUN, SPAN, OUTCOME, FINDING])
    result = import_paths(store, [path], rejects_dir=rejects)
    assert result.rows == {"runs": 1, "spans": 1, "outcomes": 1, "findings": 1}
    assert batches == [set(SCHEMAS)]


def test_small_batches_split_the_file(store: Store, tmp_path: Path, rejects: Path) -> None:
    runs = [dict(RUN, run_id=f"r{i}") for i in range(7)]
    result = import_paths(
        store, [write_jsonl(tmp_path / "r.jsonl", runs)], rejects_dir=rejects, batch_rows=3
    )
    assert result.rows["runs"] == 7
    assert store.count("runs") == 7


def test_reimport_is_idempotent(store: Store, tmp_path: Path, rejects: Path) -> None:
    path = write_jsonl(tmp_path / "all.jsonl", [RUN, SPAN, OUTCOME, FINDING])
    import_paths(store, [path], rejects_dir=rejects)
    before = {t: _stored(store, t) for t in SCHEMAS}
    again = import_paths(store, [path], rejects_dir=rejects)
    assert again.exit_code == 0
    assert {t: _stored(store, t) for t in SCHEMAS} == before


def test_blank_lines_and_a_byte_order_mark_are_fine(
    store: Store, tmp_path: Path, rejects: Path
) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(RUN).encode() + b"\n\n   \n")
    result = import_paths(store, [path], rejects_dir=rejects)
    assert result.exit_code == 0
    assert result.rows["runs"] == 1


BAD_LINES = [
    pytest.param(
        '{"record": "run", "run_id": "r9", "agent": "a", "started_at": "yesterday"}',
        "field 'started_at': expected an ISO-8601 timestamp, got 'yesterday'",
        id="bad-timestamp",
    ),
    pytest.param(
        '{"record": "run", "run_id": "r9", "agent": "a", "started_at": "2025-01-01", '
        '"steps": "many"}',
        "field 'steps': expected an integer, got 'many'",
        id="wrong-type",
    ),
    pytest.param(
        '{"record": "run", "run_id": "r9", "agent": "a", "started_at": "2025-01-01", '
        '"colour": "red"}',
        "field 'colour': unknown field; allowed fields: record, project, run_id,",
        id="unknown-field",
    ),
    pytest.param(
        '{"record": "trace", "run_id": "r9"}',
        "field 'record': expected one of 'run', 'span', 'outcome', 'finding', got 'trace'",
        id="unknown-record-kind",
    ),
    pytest.param(
        '{"run_id": "r9"}',
        "field 'record': required, but missing; it names the kind: one of 'run', 'span', "
        "'outcome', 'finding'",
        id="missing-record-kind",
    ),
    pytest.param(
        '{"record": "run", "run_id": ',
        "not valid JSON (EOF while parsing a value at column 27); each line must hold one "
        "JSON object",
        id="broken-json",
    ),
    pytest.param("[1, 2]", "expected a JSON object, got [1, 2]", id="not-an-object"),
    pytest.param(
        '{"record": "span", "trace_id": "t", "span_id": "s", "name": "x", '
        '"started_at": "2025-01-01"}',
        None,
        id="good-span-control",
    ),
    pytest.param(
        '{"record": "run", "agent": "a", "started_at": "2025-01-01"}',
        "field 'run_id': required, but missing",
        id="missing-field",
    ),
    pytest.param(
        '{"record": "run", "run_id": "r9", "agent": "a", "started_at": "2025-01-02", '
        '"ended_at": "2025-01-01"}',
        "ended_at (2025-01-01T00:00:00) is before started_at (2025-01-02T00:00:00); "
        "swap them or drop ended_at",
        id="ends-before-start",
    ),
    pytest.param(
        '{"record": "run", "run_id": "r9", "agent": "a", "started_at": "2025-01-01", '
        '"environment": "prod"}',
        "field 'environment': expected one of 'production', 'trial' or 'benchmark', got 'prod'",
        id="bad-enum",
    ),
    pytest.param(
        '{"record": "outcome", "run_id": "r9", "label": "success", "source": "verified", '
        '"score": 1.5}',
        "field 'score': expected a number <= 1, got 1.5",
        id="score-above-one",
    ),
    pytest.param(
        '{"record": "outcome", "run_id": "r9", "label": "success", "source": "verified", '
        '"evidence": 5}',
        "field 'evidence': expected a JSON object, a JSON array or a string, got 5",
        id="evidence-union",
    ),
    pytest.param(
        '{"record": "span", "trace_id": "t", "span_id": "s", "name": "x", '
        '"started_at": "2025-01-01", "events": [1]}',
        "field 'events[0]': expected a JSON object, got 1",
        id="nested-path",
    ),
]


@pytest.mark.parametrize(("line", "message"), BAD_LINES)
def test_a_bad_line_is_rejected_and_the_good_ones_kept(
    line: str, message: str | None, store: Store, tmp_path: Path, rejects: Path
) -> None:
    path = write_jsonl(tmp_path / "runs.jsonl", [RUN, line, dict(RUN, run_id="r2")])
    result = import_paths(store, [path], rejects_dir=rejects)
    (file,) = result.files
    assert file.rows["runs"] == 2
    if message is None:
        assert file.ok
        return
    assert file.error is None
    assert file.rejected == 1
    assert result.exit_code == 1
    assert file.messages[0].startswith(f"{path}:2: {message}")
    assert file.rejects_path is not None
    assert Path(file.rejects_path).parent == rejects
    assert Path(file.rejects_path).name.startswith("runs.jsonl.")
    (reject,) = read_rejects(file.rejects_path)
    assert reject == {
        "source": str(path),
        "line": 2,
        "index": None,
        "error": file.messages[0],
        "raw": line,
    }


def test_several_problems_of_one_line_are_all_named(
    store: Store, tmp_path: Path, rejects: Path
) -> None:
    line = dict(RUN, steps=-1, environment="prod")
    result = import_paths(store, [write_jsonl(tmp_path / "r.jsonl", [line])], rejects_dir=rejects)
    message = result.files[0].messages[0]
    assert "field 'environment': expected one of" in message
    assert "field 'steps': expected a number >= 0, got -1" in message


def test_no_reject_file_without_rejects(store: Store, tmp_path: Path, rejects: Path) -> None:
    result = import_paths(store, [write_jsonl(tmp_path / "r.jsonl", [RUN])], rejects_dir=rejects)
    assert result.files[0].rejects_path is None
    assert not rejects.exists()


def test_invalid_utf8_is_a_reject_with_the_line_kept(
    store: Store, tmp_path: Path, rejects: Path
) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(json.dumps(RUN).encode() + b'\n{"record": "run", "agent": "\xff"}\n')
    result = import_paths(store, [path], rejects_dir=rejects)
    assert result.files[0].rejected == 1
    assert result.files[0].messages[0].startswith(f"{path}:2: ")
    (reject,) = read_rejects(result.files[0].rejects_path)
    assert reject["raw"] == '{"record": "run", "agent": "\ufffd"}'
