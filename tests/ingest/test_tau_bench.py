"""tau-bench results: runs, spans and verified outcomes from real-shaped records."""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agentslo.ingest import import_paths
from agentslo.ingest.importers.tau_bench import default_suite
from agentslo.store import Store

from .samples import TAU_FIXTURE, read_rejects

START = datetime(2024, 5, 15, 15, 0)
SUITE_RUN = "tau-bench-airline:tau-bench-agent::"


def _records() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(TAU_FIXTURE.read_text())
    return data


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(records))
    return path


def _import(store: Store, path: Path, tmp_path: Path, **options: Any) -> Any:
    options.setdefault("started_at", START)
    return import_paths(store, [path], rejects_dir=tmp_path / "rej", **options)


def _query(store: Store, sql: str) -> list[tuple[Any, ...]]:
    return store.con.execute(sql).fetchall()


def test_fixture_becomes_runs_spans_and_verified_outcomes(store: Store, tmp_path: Path) -> None:
    result = _import(store, TAU_FIXTURE, tmp_path)
    assert result.exit_code == 0, result.to_dict()
    assert result.files[0].format == "tau-bench"
    assert result.rows == {"runs": 4, "spans": 27, "outcomes": 4, "findings": 0}
    runs = _query(
        store,
        "SELECT run_id, task_id, trial, agent, suite, version, environment, status, steps, "
        "tool_calls, tool_errors, started_at, ended_at FROM runs ORDER BY started_at",
    )
    assert runs == [
        (f"{SUITE_RUN}0:0", "0", 0, "tau-bench-agent", "tau-bench-airline", None, "benchmark",
         "ok", 8, 5, 1, START, None),
        (f"{SUITE_RUN}0:1", "0", 1, "tau-bench-agent", "tau-bench-airline", None, "benchmark",
         "ok", 3, 2, 0, START + timedelta(seconds=1), None),
        (f"{SUITE_RUN}1:0", "1", 0, "tau-bench-agent", "tau-bench-airline", None, "benchmark",
         "ok", 3, 2, 1, START + timedelta(seconds=2), None),
        (f"{SUITE_RUN}2:0", "2", 0, "tau-bench-agent", "tau-bench-airline", None, "benchmark",
         "error", 0, 0, 0, START + timedelta(seconds=3), None),
    ]  # fmt: skip
    outcomes = _query(
        store,
        "SELECT run_id, label, score, source, evaluator FROM outcomes ORDER BY run_id",
    )
    assert outcomes == [
        (f"{SUITE_RUN}0:0", "success", 1.0, "verified", "tau-bench"),
        (f"{SUITE_RUN}0:1", "failure", 0.0, "verified", "tau-bench"),
        (f"{SUITE_RUN}1:0", "success", 1.0, "verified", "tau-bench"),
        (f"{SUITE_RUN}2:0", "failure", 0.0, "verified", "tau-bench"),
    ]


def test_evidence_is_the_reward_info(store: Store, tmp_path: Path) -> None:
    _import(store, TAU_FIXTURE, tmp_path)
    evidence = dict(_query(store, "SELECT run_id, evidence FROM outcomes"))
    assert json.loads(evidence[f"{SUITE_RUN}0:0"]) == _records()[0]["info"]["reward_info"]
    assert json.loads(evidence[f"{SUITE_RUN}2:0"]) == {
        "error": "litellm.RateLimitError: rate limit exceeded"
    }


def test_tool_calls_become_tool_spans_matched_to_their_results(
    store: Store, tmp_path: Path
) -> None:
    _import(store, TAU_FIXTURE, tmp_path)
    spans = _query(
        store,
        "SELECT span_id, parent_span_id, kind, name, tool, status, error_type, input_text, "
        f"output_text FROM spans WHERE run_id = '{SUITE_RUN}0:0' ORDER BY started_at",
    )
    kinds = [s[2] for s in spans]
    assert kinds[0] == "agent"
    assert kinds.count("llm") == 8
    assert kinds.count("tool") == 5
    assert [s[0] for s in spans] == [f"{i:016x}" for i in range(1, 15)]
    assert {s[1] for s in spans[1:]} == {f"{1:016x}"}
    tools = [s for s in spans if s[2] == "tool"]
    assert [t[4] for t in tools] == [
        "get_user_details",
        "search_onestop_flight",
        "book_reservation",
        "calculate",
        "book_reservation",
    ]
    assert tools[0][3] == "execute_tool get_user_details"
    # The call id of get_user_details is used again by the first book_reservation: each
    # result goes to the earliest call still waiting for it.
    assert json.loads(tools[0][8])["name"] == {"first_name": "Mia", "last_name": "Li"}
    assert tools[2][5:7] == ("error", "tool_error")
    assert tools[2][8].startswith("Error: payment amount does not add up")
    assert json.loads(tools[2][7])["payment_methods"][1]["amount"] == 5
    assert tools[3][5:] == ("ok", None, '{"expression":"305 - 250"}', "55.0")
    root = spans[0]
    assert root[3] == "invoke_agent tau-bench-agent"
    assert root[7] == "Hi! I'm looking to book a flight from New York to Seattle on May 20th."
    assert root[8] == "Your flight is booked. Your reservation ID is HATHAT."


def test_unknown_action_counts_as_a_tool_error(store: Store, tmp_path: Path) -> None:
    _import(store, TAU_FIXTURE, tmp_path)
    rows = _query(
        store,
        f"SELECT tool, status FROM spans WHERE run_id = '{SUITE_RUN}1:0' AND kind = 'tool' "
        "ORDER BY started_at",
    )
    assert rows == [("list_reservations", "error"), ("get_user_details", "ok")]


@pytest.mark.parametrize(
    ("reward", "label"),
    [(1.0, "success"), (0.9999995, "success"), (1.0000004, "success"), (0.999, "failure"),
     (0.0, "failure")],
)  # fmt: skip
def test_success_is_a_reward_within_1e6_of_one(
    reward: float, label: str, store: Store, tmp_path: Path
) -> None:
    record = copy.deepcopy(_records()[1])
    record["reward"] = reward
    _import(store, _write(tmp_path / "r.json", [record]), tmp_path)
    assert _query(store, "SELECT label, score FROM outcomes") == [(label, min(reward, 1.0))]


def test_suite_agent_and_version_flags(store: Store, tmp_path: Path) -> None:
    result = _import(
        store, TAU_FIXTURE, tmp_path, suite="tau-retail-v1", agent="claude-react", version="p7"
    )
    assert result.exit_code == 0
    rows = _query(store, "SELECT DISTINCT suite, agent, version FROM runs")
    assert rows == [("tau-retail-v1", "claude-react", "p7")]
    ids = sorted(r[0] for r in _query(store, "SELECT run_id FROM runs"))
    assert ids[0] == "tau-retail-v1:claude-react:p7:0:0"
    assert {r[0] for r in _query(store, "SELECT DISTINCT agent FROM spans")} == {"claude-react"}


def test_reimport_is_idempotent(store: Store, tmp_path: Path) -> None:
    _import(store, TAU_FIXTURE, tmp_path)
    tables = ("runs", "spans", "outcomes")
    before = {t: _query(store, f"SELECT * FROM {t} ORDER BY ALL") for t in tables}
    # Even with another start time (a copied file has a new mtime): runs already in
    # the store keep theirs, so nothing is added or moved.
    _import(store, TAU_FIXTURE, tmp_path, started_at=START + timedelta(days=3))
    assert {t: _query(store, f"SELECT * FROM {t} ORDER BY ALL") for t in tables} == before


def test_new_runs_of_a_stored_suite_take_the_new_start(store: Store, tmp_path: Path) -> None:
    records = _records()
    _import(store, _write(tmp_path / "a.json", records[:1]), tmp_path)
    later = START + timedelta(days=1)
    _import(store, _write(tmp_path / "b.json", records[:2]), tmp_path, started_at=later)
    starts = _query(store, "SELECT trial, started_at FROM runs ORDER BY trial")
    assert starts == [(0, START), (1, later + timedelta(seconds=1))]


def test_default_start_is_the_file_mtime(store: Store, tmp_path: Path) -> None:
    path = _write(tmp_path / "results.json", _records()[:2])
    stamp = datetime(2024, 7, 1, 8, 30, tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))
    import_paths(store, [path], rejects_dir=tmp_path / "rej")
    starts = [r[0] for r in _query(store, "SELECT started_at FROM runs ORDER BY started_at")]
    assert starts == [datetime(2024, 7, 1, 8, 30), datetime(2024, 7, 1, 8, 30, 1)]


def test_suite_defaults_from_the_file_name() -> None:
    assert default_suite(Path("historical_trajectories/gpt-4o-airline.json")) == (
        "tau-bench-airline"
    )
    assert default_suite(Path("tool-calling-gpt-4o-retail-0.0_range_0--1.json")) == (
        "tau-bench-retail"
    )
    assert default_suite(Path("results.json")) == "tau-bench"


def test_bad_records_are_rejected_by_index(store: Store, tmp_path: Path) -> None:
    good = _records()
    no_traj = {k: v for k, v in good[1].items() if k != "traj"}
    bad_call = copy.deepcopy(good[1])
    del bad_call["traj"][2]["tool_calls"][0]["function"]["name"]
    bad_reward = dict(good[1], reward=1.5)
    bad_task = dict(good[1], task_id="seven")
    path = _write(tmp_path / "r.json", [good[0], no_traj, bad_call, bad_reward, bad_task])
    result = _import(store, path, tmp_path)
    (file,) = result.files
    assert file.rows["runs"] == 1
    assert file.messages == [
        f"{path}: record 1: field 'traj': required, but missing",
        f"{path}: record 2: field 'traj[2].tool_calls[0].function.name': required, but missing",
        f"{path}: record 3: field 'reward': expected a number between 0 and 1, got 1.5",
        f"{path}: record 4: field 'task_id': expected an integer, got 'seven'",
    ]
    rejects = read_rejects(file.rejects_path)
    assert [r["index"] for r in rejects] == [1, 2, 3, 4]
    assert rejects[0]["raw"] == no_traj


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"task_id": 1}', "expected a JSON list of tau-bench records, got a JSON dict"),
        ("[{", "not valid JSON (line 1, column 3: Expecting property name enclosed in"),
    ],
)
def test_unreadable_tau_bench_files(
    content: str, message: str, store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "r.json"
    path.write_text(content)
    result = import_paths(store, [path], fmt="tau-bench", rejects_dir=tmp_path / "rej")
    error = result.files[0].error
    assert error is not None
    assert error.startswith(f"{path}: {message}"), error


def test_a_json_file_that_is_not_tau_bench_is_not_guessed(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "runs.json"
    path.write_text('[{"record": "run", "run_id": "a"}]')
    result = import_paths(store, [path], rejects_dir=tmp_path / "rej")
    assert result.files[0].error == (
        f"{path}: cannot tell the format: a .json file is read as tau-bench results when it "
        "holds a JSON list of records with a 'traj' field, and this one does not; write "
        "agentslo records as JSON Lines (.jsonl), or pass --format"
    )
