"""The store: schema derived from the records, migrations, idempotent atomic writes, Parquet."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from agentslo.model import SCHEMAS, Outcome, Run, Span
from agentslo.store import (
    SCHEMA_VERSION,
    Store,
    StoreError,
    StoreVersionError,
    conform,
    open_store,
    parquet_table_name,
)
from agentslo.store.schema import MIGRATIONS

T0 = datetime(2026, 11, 1)


def test_every_model_field_has_a_column_and_back() -> None:
    for name, (model, schema) in SCHEMAS.items():
        assert set(model.model_fields) == set(schema.names), name


def test_new_store_is_at_the_latest_version(tmp_path: Path) -> None:
    with open_store(tmp_path / "a.duckdb") as store:
        versions = [
            r[0] for r in store.con.execute("SELECT version FROM schema_version").fetchall()
        ]
    assert versions == [m.version for m in MIGRATIONS]
    assert versions[-1] == SCHEMA_VERSION


def test_old_store_is_migrated_forward_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description VARCHAR, "
        "applied_at TIMESTAMP DEFAULT current_timestamp)"
    )
    for statement in MIGRATIONS[0].statements:
        con.execute(statement)
    con.execute("INSERT INTO schema_version (version, description) VALUES (1, 'v1')")
    con.execute(
        "INSERT INTO runs (project, run_id, agent, environment, started_at, status) "
        "VALUES ('default', 'r1', 'a', 'production', TIMESTAMP '2026-11-01', 'ok')"
    )
    con.close()
    with pytest.raises(StoreError, match="needs a schema upgrade"):
        Store(path, read_only=True)
    with Store(path) as store:
        assert store.count("runs") == 1
        store.set_meta("k", {"x": 1})
        assert store.get_meta("k") == {"x": 1}


def test_newer_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    with open_store(path) as store:
        store.con.execute("INSERT INTO schema_version (version, description) VALUES (999, 'x')")
    with pytest.raises(StoreVersionError, match="newer than this agentslo"):
        open_store(path)


def test_missing_store_read_only_and_missing_folder_are_clear(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such store; create one with `agentslo demo`"):
        Store(tmp_path / "absent.duckdb", read_only=True)
    with pytest.raises(StoreError, match="does not exist; create it first"):
        Store(tmp_path / "no" / "such" / "x.duckdb")


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("this is not a database")
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(path)


def test_writes_are_idempotent_and_runs_are_replaced(tmp_path: Path) -> None:
    run = Run(run_id="r1", agent="a", started_at=T0, status="unset")
    span = Span(trace_id="t", span_id="s", name="invoke_agent a", kind="agent", started_at=T0)
    outcome = Outcome(run_id="r1", label="success", source="verified", recorded_at=T0)
    with Store(tmp_path / "s.duckdb") as store:
        for _ in range(2):
            store.write_records([run, span, outcome])
        assert (store.count("runs"), store.count("spans"), store.count("outcomes")) == (1, 1, 1)
        store.write_records([run.model_copy(update={"status": "ok", "steps": 4})])
        row = store.con.execute("SELECT status, steps FROM runs").fetchone()
        assert row == ("ok", 4)


def test_duplicate_keys_inside_one_batch_keep_the_last(tmp_path: Path) -> None:
    first = Run(run_id="r1", agent="a", started_at=T0, steps=1)
    last = Run(run_id="r1", agent="a", started_at=T0, steps=2)
    with Store(tmp_path / "s.duckdb") as store:
        store.write_records([first, last])
        assert store.con.execute("SELECT steps FROM runs").fetchall() == [(2,)]


def test_a_failing_batch_leaves_nothing_behind(tmp_path: Path) -> None:
    good = conform(
        "runs", pa.Table.from_pylist([Run(run_id="ok", agent="a", started_at=T0).to_row()])
    )
    spans = pa.Table.from_pylist(
        [
            {
                "project": "default",
                "trace_id": "t",
                "span_id": "s",
                "name": "x",
                "kind": "other",
                "started_at": T0,
                "status": "unset",
            }
        ]
    )
    with Store(tmp_path / "s.duckdb") as store:
        store.write({"runs": good})
        bad_runs = conform(
            "runs",
            pa.Table.from_pylist([Run(run_id="r2", agent="a", started_at=T0).to_row()]),
        ).set_column(3, "agent", pa.array([None], pa.string()))  # NOT NULL violated
        with pytest.raises(duckdb.ConstraintException):
            store.write({"spans": spans, "runs": bad_runs})
        assert store.count("runs") == 1
        assert store.count("spans") == 0  # same batch: rolled back with the runs


def test_conform_rejects_unknown_and_missing_columns() -> None:
    with pytest.raises(ValueError, match=r"runs: unknown column\(s\) \['colour'\]"):
        conform("runs", pa.table({"colour": ["red"]}))
    with pytest.raises(ValueError, match="required column 'run_id' is missing"):
        conform("runs", pa.table({"project": ["p"]}))


def test_parquet_export_names_each_table(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        store.write_records([Run(run_id="r1", agent="a", started_at=T0)])
        written = store.export_parquet(tmp_path / "out")
    assert sorted(written) == sorted(SCHEMAS)
    renamed = tmp_path / "anything.parquet"
    written["runs"].rename(renamed)
    assert parquet_table_name(renamed) == "runs"


def test_records_validate_at_the_boundary() -> None:
    with pytest.raises(ValueError, match=r"ended_at .* is before started_at"):
        Run(run_id="r", agent="a", started_at=T0, ended_at=datetime(2026, 10, 1))
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        Run.model_validate({"run_id": "r", "agent": "a", "started_at": T0, "colour": "red"})
    with pytest.raises(
        ValueError, match="Input should be 'verified', 'human', 'judge' or 'claimed'"
    ):
        Outcome(run_id="r", label="success", source="agent")  # type: ignore[arg-type]
    aware = Run(run_id="r", agent="a", started_at="2026-11-01T02:00:00+02:00")  # type: ignore[arg-type]
    assert aware.started_at == T0
    assert (
        Run(run_id="r", agent="a", started_at=T0, input_tokens=2, output_tokens=3).total_tokens == 5
    )


def test_memory_limit_is_settable_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTSLO_MEMORY_LIMIT", "512MB")
    with Store(tmp_path / "a.duckdb") as store:
        row = store.con.execute("SELECT current_setting('memory_limit')").fetchone()
        assert row is not None and "MiB" in str(row[0])
    monkeypatch.setenv("AGENTSLO_MEMORY_LIMIT", "lots")
    with pytest.raises(StoreError, match="AGENTSLO_MEMORY_LIMIT='lots' is not a memory size"):
        Store(tmp_path / "b.duckdb")
