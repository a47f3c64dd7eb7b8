"""Orchestration: formats, unreadable and missing files, atomic batches, results."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import agentslo.ingest
from agentslo.ingest import FORMATS, ImportResult, detect_format, import_paths
from agentslo.store import Store, writer

from .samples import RUN, SPAN, TAU_FIXTURE, write_jsonl


def test_public_surface() -> None:
    assert sorted(agentslo.ingest.__all__) == sorted(
        [
            "DEFAULT_BATCH_ROWS",
            "DEFAULT_REJECTS_DIR",
            "FORMATS",
            "FileResult",
            "ImportResult",
            "Reject",
            "SourceError",
            "detect_format",
            "import_paths",
        ]
    )
    assert FORMATS == (
        "jsonl",
        "parquet",
        "tau-bench",
        "who-and-when",
        "openinference-json",
        "mast",
    )


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.jsonl", "jsonl"), ("a.NDJSON", "jsonl"), ("runs.parquet", "parquet")],
)
def test_format_from_the_file_name(name: str, fmt: str, tmp_path: Path) -> None:
    assert detect_format(tmp_path / name) == fmt


def test_tau_bench_is_recognised_by_content() -> None:
    assert detect_format(TAU_FIXTURE) == "tau-bench"


def test_unknown_format_is_an_error_naming_the_file(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text("run_id\na\n")
    result = import_paths(store, [path], rejects_dir=tmp_path / "rej")
    assert result.files[0].error == (
        f"{path}: cannot tell the format from the file name (known endings: .jsonl, "
        ".ndjson, .parquet, .json); rename the file or pass "
        "--format jsonl|parquet|tau-bench|who-and-when|openinference-json|mast"
    )
    assert result.exit_code == 1


def test_format_option_overrides_the_name(store: Store, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "runs.log", [RUN])
    result = import_paths(store, [path], fmt="jsonl", rejects_dir=tmp_path / "rej")
    assert result.exit_code == 0
    assert result.rows["runs"] == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"fmt": "xml"},
            "unknown format 'xml'; use one of: jsonl, parquet, tau-bench, who-and-when, "
            "openinference-json, mast",
        ),
        (
            {"table": "traces"},
            "unknown table 'traces'; use one of: runs, spans, outcomes, findings",
        ),
        ({"batch_rows": 0}, "batch_rows must be at least 1, got 0"),
    ],
)
def test_bad_arguments_raise(options: dict[str, Any], message: str, store: Store) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(") + "$"):
        import_paths(store, [], **options)


def test_table_option_is_for_parquet_only(store: Store, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "r.jsonl", [RUN])
    result = import_paths(store, [path], table="runs", rejects_dir=tmp_path / "rej")
    assert result.files[0].error == (
        f"{path}: --table applies to Parquet files only; jsonl records name their own table. "
        "Leave --table out for this file"
    )


def test_a_missing_file_does_not_stop_the_others(store: Store, tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [RUN])
    missing = tmp_path / "nope.jsonl"
    result = import_paths(store, [missing, good], rejects_dir=tmp_path / "rej")
    assert [f.error for f in result.files] == [f"{missing}: no such file; check the path", None]
    assert result.rows["runs"] == 1
    assert result.failed == 1
    assert result.exit_code == 1


def test_an_unreadable_file_does_not_stop_the_others(store: Store, tmp_path: Path) -> None:
    # A symbolic link to itself cannot be opened, even by root.
    loop = tmp_path / "loop.jsonl"
    loop.symlink_to(loop)
    good = write_jsonl(tmp_path / "good.jsonl", [RUN])
    result = import_paths(store, [loop, good], rejects_dir=tmp_path / "rej")
    assert result.files[0].error == (
        f"{loop}: cannot read the file (Too many levels of symbolic links); check the path"
    )
    assert result.files[1].ok
    assert result.exit_code == 1


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="file permissions do not stop root from reading",
)
def test_a_file_without_read_permission(store: Store, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "secret.jsonl", [RUN])
    path.chmod(0)
    try:
        result = import_paths(store, [path], rejects_dir=tmp_path / "rej")
    finally:
        path.chmod(0o644)
    assert result.files[0].error == (
        f"{path}: cannot read the file (permission denied); check its permissions or run as "
        "a user who may read it"
    )


def test_an_empty_folder_is_reported(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "notes.txt").write_text("nothing to import")
    result = import_paths(store, [folder], rejects_dir=tmp_path / "rej")
    assert result.files[0].error == (
        f"{folder}: folder holds no file to import (endings: .jsonl, .ndjson, .parquet, .json)"
    )


def test_a_folder_skips_reject_files(store: Store, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    write_jsonl(tmp_path / "in" / "runs.jsonl", [RUN])
    write_jsonl(tmp_path / "in" / "runs.jsonl.20250101T000000Z.rejects.jsonl", ["{"])
    result = import_paths(store, [tmp_path / "in"], rejects_dir=tmp_path / "rej")
    assert [Path(f.path).name for f in result.files] == ["runs.jsonl"]


def test_rejects_go_to_the_working_directory_by_default(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_jsonl(tmp_path / "runs.jsonl", [RUN, "{"])
    result = import_paths(store, [path])
    rejects_path = result.files[0].rejects_path
    assert rejects_path is not None
    assert Path(rejects_path).parent == Path("agentslo-rejects")
    assert (tmp_path / rejects_path).exists()


def test_a_failed_batch_leaves_nothing_behind_and_earlier_batches_stay(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batch 2 fails while inserting its spans, after its runs were inserted: the
    # transaction must take those runs back out.
    records = []
    for i in range(6):
        records += [dict(RUN, run_id=f"r{i}"), dict(SPAN, run_id=f"r{i}", span_id=f"s{i}")]
    path = write_jsonl(tmp_path / "fleet.jsonl", records)
    calls = {"spans": 0}
    original = writer._insert

    def failing_insert(con: Any, name: str, table: pa.Table, *, defer: bool) -> None:
        if name == "spans":
            calls["spans"] += 1
            if calls["spans"] == 2:
                original(con, name, table, defer=defer)
                raise OSError("disk full")
        original(con, name, table, defer=defer)

    monkeypatch.setattr(writer, "_insert", failing_insert)
    result = import_paths(store, [path], rejects_dir=tmp_path / "rej", batch_rows=4)
    (file,) = result.files
    assert file.error == (
        f"{path}: batch 2 (lines 5-8) was not written (disk full); none of its rows were "
        "stored, those of earlier batches were. Fix the cause and run the import again: "
        "re-importing is idempotent"
    )
    assert sorted(r[0] for r in store.con.execute("SELECT run_id FROM runs").fetchall()) == [
        "r0",
        "r1",
    ]
    assert store.count("spans") == 2
    assert file.rows == {"runs": 2, "spans": 2, "outcomes": 0, "findings": 0}
    assert result.exit_code == 1


def test_progress_bar_runs(store: Store, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "r.jsonl", [RUN])
    result = import_paths(store, [path, TAU_FIXTURE], progress=True, rejects_dir=tmp_path / "r")
    assert result.exit_code == 0


def test_result_as_data() -> None:
    empty = ImportResult()
    assert empty.to_dict() == {
        "files": [],
        "totals": {
            "rows": {"runs": 0, "spans": 0, "outcomes": 0, "findings": 0},
            "rejected": 0,
            "failed": 0,
        },
        "exit_code": 0,
    }


def test_an_unwritable_rejects_folder_stops_the_file(store: Store, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "rejects"
    not_a_folder.write_text("a file where the folder should be")
    path = write_jsonl(tmp_path / "r.jsonl", [RUN, "{"])
    result = import_paths(store, [path], rejects_dir=not_a_folder)
    assert result.files[0].error == (
        f"{not_a_folder}: cannot write the reject file for {path} (File exists); pass "
        "--rejects with a folder you may write to"
    )
    assert result.exit_code == 1
