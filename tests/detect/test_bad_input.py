"""Traces with broken parent links, enormous messages and odd text do not stop any
detector: each returns its findings (or none) without raising."""

from __future__ import annotations

from tests.detect.builders import trace

from agentslo.detect import DETECTORS, attribute


def test_every_detector_survives_parent_cycles_missing_parents_and_huge_text() -> None:
    huge = "x" * 2_000_000 + " refunded order 99 \udcff"
    t = trace(
        {
            "kind": "agent",
            "agent": "a",
            "input_text": "Never delete 1234",
            "parent_span_id": "r1-s2",
        },
        {"kind": "tool", "status": "error", "parent_span_id": "missing"},
        {"kind": "llm", "agent": "b", "output_text": huge, "parent_span_id": "r1-s0"},
        outcome="failure",
    )
    for name, detect in DETECTORS.items():
        for found in detect(t):
            assert found.detector == name
            text = str(found.evidence)
            assert len(text) < 10_000, f"{name} quoted the whole message"
    found = attribute(t)
    assert found is not None and found.step == 0
