"""Parquet import: lossless re-import of an export, column-wise checks, bad rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from agentslo.ingest import import_paths
from agentslo.ingest.columns import column_rules
from agentslo.model import (
    ENVIRONMENTS,
    OUTCOME_SOURCES,
    SCHEMAS,
    SEVERITIES,
    SPAN_KINDS,
    STATUSES,
    Outcome,
    Run,
)
from agentslo.store import Store, open_store

from .samples import FINDING, OUTCOME, RUN, SPAN, read_rejects, write_jsonl

T0 = datetime(2025, 3, 1, 9)


def _rows(store: Store, table: str) -> list[tuple[Any, ...]]:
    return store.con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def _fleet(store: Store, tmp_path: Path) -> None:
    """A small store with every table filled, some values null, some derived."""
    records: list[dict[str, Any]] = []
    for i in range(30):
        start = (T0 + timedelta(minutes=i)).isoformat()
        records.append(dict(RUN, run_id=f"r{i}", started_at=start, ended_at=None))
        span = dict(SPAN, run_id=f"r{i}", span_id=f"s{i}", started_at=start, ended_at=None)
        records.append(span)
        records.append(dict(OUTCOME, run_id=f"r{i}", label="failure" if i % 3 else "success"))
    records.append(FINDING)
    path = write_jsonl(tmp_path / "fleet.jsonl", records)
    assert import_paths(store, [path], rejects_dir=tmp_path / "rej").exit_code == 0


def test_export_reimports_losslessly(store: Store, tmp_path: Path) -> None:
    _fleet(store, tmp_path)
    exported = store.export_parquet(tmp_path / "export")
    with open_store(tmp_path / "copy.duckdb") as copy:
        result = import_paths(copy, list(exported.values()), rejects_dir=tmp_path / "rej")
        assert result.exit_code == 0, result.to_dict()
        assert {f.format for f in result.files} == {"parquet"}
        for table in SCHEMAS:
            assert _rows(copy, table) == _rows(store, table), table
            assert result.rows[table] == store.count(table)


def test_a_folder_imports_its_files(store: Store, tmp_path: Path) -> None:
    _fleet(store, tmp_path)
    store.export_parquet(tmp_path / "export")
    with open_store(tmp_path / "copy.duckdb") as copy:
        result = import_paths(copy, [tmp_path / "export"], rejects_dir=tmp_path / "rej")
        assert [Path(f.path).name for f in result.files] == [
            "findings.parquet",
            "outcomes.parquet",
            "runs.parquet",
            "spans.parquet",
        ]
        assert copy.count("spans") == store.count("spans")


def test_metadata_names_the_table_of_a_renamed_file(store: Store, tmp_path: Path) -> None:
    _fleet(store, tmp_path)
    exported = store.export_parquet(tmp_path / "export")
    renamed = exported["outcomes"].rename(tmp_path / "export" / "verdicts-march.parquet")
    with open_store(tmp_path / "copy.duckdb") as copy:
        result = import_paths(copy, [renamed], rejects_dir=tmp_path / "rej")
        assert result.rows["outcomes"] == store.count("outcomes")


def test_table_from_the_file_name_or_the_option(store: Store, tmp_path: Path) -> None:
    table = pa.table({"run_id": ["a"], "agent": ["x"], "started_at": [T0]})
    pq.write_table(table, tmp_path / "runs.2025-03.parquet")
    pq.write_table(table, tmp_path / "export-7.parquet")
    result = import_paths(store, [tmp_path / "runs.2025-03.parquet"], rejects_dir=tmp_path / "rej")
    assert result.rows["runs"] == 1
    unnamed = import_paths(store, [tmp_path / "export-7.parquet"], rejects_dir=tmp_path / "r")
    assert unnamed.files[0].error == (
        f"{tmp_path / 'export-7.parquet'}: cannot tell which table this Parquet file holds "
        "(no 'agentslo.table' metadata, and the file name does not start with one of runs, "
        "spans, outcomes, findings); pass --table runs|spans|outcomes|findings"
    )
    forced = import_paths(
        store, [tmp_path / "export-7.parquet"], table="runs", rejects_dir=tmp_path / "r"
    )
    assert forced.exit_code == 0


def test_missing_columns_take_the_model_defaults(store: Store, tmp_path: Path) -> None:
    pq.write_table(
        pa.table(
            {
                "run_id": ["a", "b"],
                "agent": ["x", "x"],
                "started_at": [T0, T0],
                "input_tokens": [10, None],
                "output_tokens": [5, None],
            }
        ),
        tmp_path / "runs.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "run_id": ["a"],
                "label": ["success"],
                "source": ["verified"],
                "recorded_at": [T0],
                "outcome_id": [""],
            }
        ),
        tmp_path / "outcomes.parquet",
    )
    result = import_paths(
        store, [tmp_path / "runs.parquet", tmp_path / "outcomes.parquet"], rejects_dir=tmp_path
    )
    assert result.exit_code == 0, result.to_dict()
    runs = store.con.execute(
        "SELECT project, environment, status, total_tokens, attributes FROM runs ORDER BY run_id"
    ).fetchall()
    assert runs == [
        ("default", "production", "unset", 15, "{}"),
        ("default", "production", "unset", None, "{}"),
    ]
    expected_id = Outcome(run_id="a", label="success", source="verified", recorded_at=T0).outcome_id
    assert store.con.execute("SELECT outcome_id FROM outcomes").fetchall() == [(expected_id,)]


def test_column_types_are_converted(store: Store, tmp_path: Path) -> None:
    paris = pa.array([datetime(2025, 3, 1, 10, tzinfo=UTC)], pa.timestamp("us", tz="Europe/Paris"))
    table = pa.table(
        {
            "run_id": pa.array(["a"], pa.large_string()),
            "agent": pa.array(["x"]).dictionary_encode(),
            "started_at": paris,
            "ended_at": pa.array([1_740_823_201_000_000_123], pa.timestamp("ns")),
            "steps": pa.array([3], pa.int16()),
            "trial": pa.array([2.0]),
            "cost_usd": pa.array([1], pa.int32()),
        }
    )
    pq.write_table(table, tmp_path / "runs.parquet")
    result = import_paths(store, [tmp_path / "runs.parquet"], rejects_dir=tmp_path / "r")
    assert result.exit_code == 0, result.to_dict()
    row = store.con.execute(
        "SELECT run_id, agent, started_at, ended_at, steps, trial, cost_usd FROM runs"
    ).fetchone()
    assert row == (
        "a",
        "x",
        datetime(2025, 3, 1, 10),
        datetime(2025, 3, 1, 10, 0, 1),
        3,
        2,
        1.0,
    )


BAD_ROWS: list[tuple[dict[str, Any], str]] = [
    ({"run_id": ""}, "field 'run_id': expected a non-empty string, got ''"),
    ({"run_id": None}, "field 'run_id': required, got null"),
    ({"run_id": "x" * 600}, "field 'run_id': expected a string of at most 512 characters"),
    (
        {"started_at": "yesterday"},
        "field 'started_at': expected an ISO-8601 timestamp, got 'yesterday'",
    ),
    (
        {"environment": "prod"},
        "field 'environment': expected one of 'production', 'trial' or 'benchmark', got 'prod'",
    ),
    ({"status": "fine"}, "field 'status': expected one of 'ok', 'error', 'timeout',"),
    ({"steps": "-1"}, "field 'steps': expected a number >= 0, got '-1'"),
    ({"steps": "many"}, "field 'steps': expected an integer, got 'many'"),
    ({"trial": "1.5"}, "field 'trial': expected an integer, got '1.5'"),
    ({"cost_usd": "nan"}, "field 'cost_usd': expected a number >= 0, got 'nan'"),
    ({"attributes": "[1]"}, "field 'attributes': expected JSON text of an object, got '[1]'"),
    ({"attributes": "{oops"}, "field 'attributes': expected JSON text of an object"),
    (
        {"ended_at": "2025-02-28T09:00:00"},
        "ended_at (2025-02-28T09:00:00) is before started_at (2025-03-01T09:00:00); "
        "swap them or drop ended_at",
    ),
]
GOOD_ROW: dict[str, Any] = {
    "run_id": "good",
    "agent": "support-bot",
    "started_at": "2025-03-01T09:00:00",
    "ended_at": None,
    "environment": "trial",
    "status": "ok",
    "steps": "3",
    "trial": "1",
    "cost_usd": "0.5",
    "attributes": '{"a": 1}',
}


def _runs_file(path: Path, rows: list[dict[str, Any]]) -> Path:
    """All columns as text, so that every kind of bad value fits in one file."""
    columns = {name: pa.array([r[name] for r in rows], pa.string()) for name in GOOD_ROW}
    pq.write_table(pa.table(columns), path)
    return path


def test_bad_rows_go_to_rejects_and_good_rows_are_kept(store: Store, tmp_path: Path) -> None:
    rows = [GOOD_ROW]
    for i, (change, _) in enumerate(BAD_ROWS):
        rows.append(dict(GOOD_ROW, run_id=f"bad{i}") | change)
    rows.append(dict(GOOD_ROW, run_id="good2"))
    path = _runs_file(tmp_path / "runs.parquet", rows)
    result = import_paths(store, [path], rejects_dir=tmp_path / "rej")
    (file,) = result.files
    assert file.error is None
    assert file.rows["runs"] == 2
    assert sorted(r[0] for r in store.con.execute("SELECT run_id FROM runs").fetchall()) == [
        "good",
        "good2",
    ]
    assert file.rejected == len(BAD_ROWS)
    rejects = read_rejects(file.rejects_path)
    for i, ((change, message), reject) in enumerate(zip(BAD_ROWS, rejects, strict=True)):
        assert reject["index"] == i + 1
        assert reject["line"] is None
        assert reject["error"].startswith(f"{path}: row {i + 1}: {message}"), reject["error"]
        assert reject["raw"] == dict(GOOD_ROW, run_id=f"bad{i}") | change


# Attributes are JSON text in Parquet and a JSON object for the model: not comparable.
@pytest.mark.parametrize(
    ("change", "message"), [case for case in BAD_ROWS if "attributes" not in case[0]]
)
def test_the_model_refuses_what_the_columns_refuse(change: dict[str, Any], message: str) -> None:
    fields = {k: v for k, v in (GOOD_ROW | change).items() if v is not None}
    fields["attributes"] = {"a": 1}
    with pytest.raises(ValidationError):
        Run.model_validate(fields)


def test_the_good_row_passes_the_model_too() -> None:
    fields = {k: v for k, v in GOOD_ROW.items() if v is not None} | {"attributes": {"a": 1}}
    assert Run.model_validate(fields).run_id == "good"


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (
            {"run_id": ["a"], "agent": ["x"], "started_at": [T0], "colour": ["red"]},
            "unknown column(s) 'colour' for table runs; allowed: project, run_id,",
        ),
        (
            {"run_id": ["a"], "started_at": [T0]},
            "required column 'agent' is missing from this runs file; add it",
        ),
        (
            {"run_id": ["a"], "agent": ["x"], "started_at": [1]},
            "column 'started_at' has type int64; expected an ISO-8601 timestamp (timestamp[us])",
        ),
        (
            {"run_id": [1], "agent": ["x"], "started_at": [T0]},
            "column 'run_id' has type int64; expected a string (string)",
        ),
    ],
)
def test_unusable_columns_refuse_the_file(
    columns: dict[str, list[Any]], message: str, store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "runs.parquet"
    pq.write_table(pa.table(columns), path)
    result = import_paths(store, [path], rejects_dir=tmp_path / "rej")
    (file,) = result.files
    assert file.error is not None
    assert file.error.startswith(f"{path}: {message}"), file.error
    assert result.exit_code == 1
    assert store.count("runs") == 0


def test_a_file_that_is_not_parquet(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "runs.parquet"
    path.write_text("run_id,agent\na,x\n")
    result = import_paths(store, [path], rejects_dir=tmp_path / "rej")
    error = result.files[0].error
    assert error is not None
    assert error.startswith(f"{path}: not a readable Parquet file (")
    assert error.endswith("check that it is Parquet, or pass --format for another format")


def test_rules_are_read_off_the_models() -> None:
    rules = {(t, r.name): r for t in SCHEMAS for r in column_rules(t)}
    assert rules["runs", "environment"].choices == ENVIRONMENTS
    assert rules["runs", "status"].choices == STATUSES
    assert rules["spans", "kind"].choices == SPAN_KINDS
    assert rules["outcomes", "source"].choices == OUTCOME_SOURCES
    assert rules["findings", "severity"].choices == SEVERITIES
    assert (rules["outcomes", "score"].ge, rules["outcomes", "score"].le) == (0.0, 1.0)
    assert rules["runs", "steps"].ge == 0.0
    assert rules["spans", "cost_usd"].ge == 0.0
    assert (rules["runs", "run_id"].min_length, rules["runs", "run_id"].max_length) == (1, 512)
    assert rules["runs", "attributes"].json_types == ("OBJECT",)
    assert rules["spans", "events"].json_types == ("ARRAY",)
    assert set(rules["outcomes", "evidence"].json_types) == {"OBJECT", "ARRAY", "VARCHAR", "NULL"}
    assert rules["runs", "started_at"].required and not rules["runs", "started_at"].has_default
    assert rules["runs", "environment"].has_default
