"""Failure modes injected into the demo fleet: ground truth well-formed and consistent with
the spans, and each mode found by its detector above the floors in docs/detect.md."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from agentslo.demo import DetectorScores, FleetConfig, score_findings, write_fleet
from agentslo.demo._generate import generate_with_truth
from agentslo.demo._plan import build_plan
from agentslo.demo._scripts import MODES
from agentslo.detect import run_detectors
from agentslo.store import Store, open_store

END = datetime(2025, 6, 2, 12, 0)
CONFIG = FleetConfig(runs=1_200, agents=8, days=3.0, seed=5, end=END, transcripts=0.7)

#: (precision, recall) floors per mode on this fleet, as documented in docs/detect.md.
#: They sit a little below what the detectors reach, so a detector that gets worse
#: (or an injection that stops looking like its failure) fails here.
FLOORS: dict[str, tuple[float, float]] = {
    "repeated_call": (0.90, 0.70),
    "agent_cycle": (0.90, 0.90),
    "step_limit": (0.90, 0.90),
    "unrecovered_fault": (0.90, 0.65),
    "stuck": (0.85, 0.90),
    "open_subgoal": (0.85, 0.65),
    "no_verification": (0.90, 0.80),
    "lost_context": (0.25, 0.80),
    "dropped_field": (0.90, 0.90),
    "drift": (0.85, 0.85),
    "late_violation": (0.90, 0.35),
    "cascade": (0.90, 0.90),
    "unbacked_claim": (0.18, 0.45),
    "claimed_success_failed": (0.95, 0.60),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("modes") / "modes.duckdb"
    with open_store(path) as s:
        write_fleet(s, CONFIG)
        run_detectors(s)
        yield s


@pytest.fixture(scope="module")
def scores(store: Store) -> DetectorScores:
    return score_findings(store)


def _truth(store: Store) -> dict[str, dict[str, Any]]:
    rows = store.con.execute(
        "SELECT subject, detail FROM ground_truth WHERE kind = 'transcript'"
    ).fetchall()
    return {run_id: json.loads(detail) for run_id, detail in rows}


def test_every_mode_is_injected_with_healthy_runs_beside(scores: DetectorScores) -> None:
    assert scores.transcript_runs > 700
    assert 0.3 < scores.healthy_runs / scores.transcript_runs < 0.5
    assert scores.background_runs > 300
    for mode in MODES:
        assert scores.mode(mode).injected >= 15, mode


def test_ground_truth_rows_point_at_real_spans(store: Store) -> None:
    truth = _truth(store)
    spans: dict[str, list[tuple[str, str | None, str | None]]] = {}
    for run_id, span_id, agent, text in store.con.execute(
        "SELECT run_id, span_id, agent, input_text FROM spans WHERE run_id IN "
        "(SELECT subject FROM ground_truth WHERE kind = 'transcript') "
        "ORDER BY run_id, started_at, span_id"
    ).fetchall():
        spans.setdefault(run_id, []).append((span_id, agent, text))
    assert set(spans) == set(truth)
    checked = 0
    for run_id, detail in truth.items():
        assert detail["scenario"].split("/")[0] in ("healthy", "failure")
        assert detail["domain"] in ("refunds", "deploys", "research")
        assert spans[run_id][0][2], "the root span carries the instruction"
        if detail["scenario"].startswith("healthy/"):
            modes = {c["mode"] for c in detail["cases"]}
            assert modes <= {"claimed_success_failed"}, (run_id, modes)
        else:
            assert detail["cases"], run_id
        for case in detail["cases"]:
            assert case["detector"] == MODES[case["mode"]]
            if case["step"] is None:
                assert case["span_id"] is None
                continue
            span_id, agent, _ = spans[run_id][case["step"]]
            assert case["span_id"] == span_id
            assert case["agent"] == agent
            checked += 1
    assert checked > 800


def test_runs_without_transcripts_carry_no_text(store: Store) -> None:
    row = store.con.execute(
        "SELECT count(*) FROM spans WHERE (input_text IS NOT NULL OR output_text IS NOT NULL) "
        "AND run_id NOT IN (SELECT subject FROM ground_truth WHERE kind = 'transcript')"
    ).fetchone()
    assert row == (0,)


def test_no_transcripts_means_no_text_and_no_cases(tmp_path: Path) -> None:
    config = FleetConfig(runs=300, days=1.0, end=END, transcripts=0.0)
    with open_store(tmp_path / "bare.duckdb") as s:
        write_fleet(s, config)
        texts = "SELECT count(*) FROM spans WHERE input_text IS NOT NULL OR output_text IS NOT NULL"
        assert s.con.execute(texts).fetchone() == (0,)
        assert s.con.execute(
            "SELECT count(*) FROM ground_truth WHERE kind = 'transcript'"
        ).fetchone() == (0,)
        with pytest.raises(ValueError, match="no transcript ground truth"):
            score_findings(s)


@pytest.mark.parametrize("mode", sorted(FLOORS))
def test_each_mode_is_found_above_its_floor(scores: DetectorScores, mode: str) -> None:
    score = scores.mode(mode)
    precision_floor, recall_floor = FLOORS[mode]
    assert score.precision is not None and score.recall is not None
    assert score.precision >= precision_floor, (mode, score)
    assert score.recall >= recall_floor, (mode, score)


def test_guessing_on_an_ambiguous_instruction_has_no_detector_yet(scores: DetectorScores) -> None:
    score = scores.mode("guessed_ambiguity")
    assert score.detector is None and score.injected > 0 and score.flagged == 0


def test_cascades_are_attributed(scores: DetectorScores) -> None:
    a = scores.attribution
    assert a.cascades == scores.mode("cascade").injected
    assert a.attributed == a.cascades
    # the rule finds the step when the agent whose call failed made the error, and
    # misses it when the error came through a hand-off from an earlier agent
    assert a.step_exact / a.cascades >= 0.4 and a.agent / a.cascades >= 0.4


def test_truth_rows_are_deterministic_and_independent_of_chunking() -> None:
    def truth(chunk_runs: int) -> list[tuple[str, str]]:
        config = FleetConfig(
            runs=900, days=1.0, seed=3, end=END, transcripts=0.3, chunk_runs=chunk_runs
        )
        rows = [t for _, t in generate_with_truth(build_plan(config))]
        return [(r["subject"], r["detail"]) for t in rows for r in t.to_pylist()]

    whole = truth(1_000)
    assert len(whole) > 200
    assert truth(1_000) == whole
    assert truth(250) == whole


def test_without_spans_no_transcript_cases_are_recorded(tmp_path: Path) -> None:
    config = FleetConfig(runs=400, days=1.0, end=END, transcripts=0.5, spans=False)
    with open_store(tmp_path / "nospans.duckdb") as s:
        write_fleet(s, config)
        assert s.count("spans") == 0
        assert s.con.execute(
            "SELECT count(*) FROM ground_truth WHERE kind = 'transcript'"
        ).fetchone() == (0,)
