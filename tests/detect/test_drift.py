"""Drift: a downward trend of relatedness to the instruction, and late violations."""

from __future__ import annotations

from tests.detect.builders import modes, trace

from agentslo.detect import drift

TASK = "Summarise the quarterly revenue report for the finance team"
ON = "The quarterly revenue report shows revenue up; summary for the finance team"
OFF = "Let me look at the weather forecast and football scores instead"


def test_mann_kendall_detects_a_falling_series() -> None:
    s, p = drift.mann_kendall([9, 8, 7, 6, 5, 4, 3, 2])
    assert s == -28 and p < 0.001
    assert drift.mann_kendall([1, 2, 3, 4, 5, 6])[1] > 0.99


def test_run_sliding_away_from_the_instruction_drifts() -> None:
    steps = (
        [{"kind": "agent", "input_text": TASK}]
        + [{"output_text": ON}] * 4
        + [{"output_text": OFF}] * 4
    )
    found = drift.detect(trace(*steps))
    assert modes(found) == [("drift", 5)]
    assert found[0].evidence["p_value"] < drift.ALPHA  # type: ignore[index]


def test_steady_run_does_not_drift() -> None:
    steps = [{"kind": "agent", "input_text": TASK}] + [{"output_text": ON}] * 8
    assert drift.detect(trace(*steps)) == []


def test_late_step_doing_what_was_forbidden() -> None:
    steps = [
        {
            "kind": "agent",
            "input_text": "Clean the logs folder. Never delete the database backups.",
        },
        {"kind": "tool", "tool": "list_files"},
        {"kind": "tool", "tool": "rm", "input_text": "delete logs"},
        {"kind": "tool", "tool": "rm", "input_text": "delete database backups"},
    ]
    assert modes(drift.detect(trace(*steps))) == [("late_violation", 3)]
