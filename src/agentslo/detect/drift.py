"""Alignment drift: how related each step is to the instruction over the run, with a
trend test, and late steps that violate a never/must-not clause stated at the start.

Relatedness is the cosine similarity of word counts (lexical, deterministic) by
default; :func:`detector` builds the same detector over another backend of
:mod:`agentslo.detect.relatedness` (sentence embeddings, ``agentslo detect
--embeddings``). The trend test is Mann-Kendall (Mann 1945; Kendall 1975): S counts concordant minus
discordant pairs of (step, similarity); under no trend S is approximately normal
with variance n(n-1)(2n+5)/18 (ties ignored, which makes the test conservative).
Drift is reported when the trend is downwards at one-sided p < ``ALPHA`` and the
last third of the run is less than half as related as the first third; its step is
the onset, the first step from which the run stays below that half.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final

from agentslo.detect._finding import finding
from agentslo.detect._text import constraints, quote, tokens
from agentslo.detect._trace import Trace
from agentslo.detect.relatedness import Relatedness, lexical
from agentslo.model import Finding

__all__ = ["ALPHA", "MIN_STEPS", "NAME", "detect", "detector", "mann_kendall", "relatedness"]

NAME: Final = "drift"
ALPHA: Final = 0.05
#: Fewer text-bearing steps than this give no trend worth testing.
MIN_STEPS: Final = 6


def mann_kendall(values: list[float]) -> tuple[float, float]:
    """Mann-Kendall S statistic of ``values`` and the one-sided p-value of a downward trend."""
    n = len(values)
    s = sum(
        (values[j] > values[i]) - (values[j] < values[i]) for i in range(n) for j in range(i + 1, n)
    )
    if n < 3:
        return float(s), 1.0
    var = n * (n - 1) * (2 * n + 5) / 18
    z = (s + 1) / math.sqrt(var) if s < 0 else (s - 1) / math.sqrt(var) if s > 0 else 0.0
    return float(s), 0.5 * math.erfc(-z / math.sqrt(2))


def relatedness(trace: Trace, backend: Relatedness = lexical) -> list[tuple[int, float]]:
    """(step, similarity to the instruction) for every reasoning step after the first
    with output, measured by ``backend``."""
    steps = [
        (step, span.output_text)
        for step, span in enumerate(trace.spans)
        if step > 0 and span.output_text and span.kind != "tool"
    ]
    if not steps:
        return []
    values = backend(trace.instruction, [text for _, text in steps])
    return [(step, value) for (step, _), value in zip(steps, values, strict=True)]


def detect(trace: Trace) -> list[Finding]:
    """Drift findings of ``trace``: ``drift`` and ``late_violation`` (lexical)."""
    return [*_drift(trace, lexical), *_late_violations(trace)]


def detector(backend: Relatedness) -> Callable[[Trace], list[Finding]]:
    """The drift detector with relatedness measured by ``backend``.

    Late violations stay lexical: a forbidden action is matched by its words.
    """
    if backend is lexical:
        return detect

    def detect_with(trace: Trace) -> list[Finding]:
        return [*_drift(trace, backend), *_late_violations(trace)]

    return detect_with


def _drift(trace: Trace, backend: Relatedness) -> list[Finding]:
    points = relatedness(trace, backend)
    if len(points) < MIN_STEPS:
        return []
    values = [v for _, v in points]
    s, p = mann_kendall(values)
    third = len(values) // 3
    first, last = sum(values[:third]) / third, sum(values[-third:]) / third
    # An embedding cosine can be negative: a run never related to its task has
    # nothing to drift from.
    if p >= ALPHA or first <= 0 or last >= first / 2:
        return []
    step = _onset(points, first / 2) or points[-third][0]
    evidence = {
        "similarity": [round(v, 3) for v in values],
        "steps": [s_ for s_, _ in points],
        "mann_kendall_s": s,
        "p_value": round(p, 4),
        "first_third": round(first, 3),
        "last_third": round(last, 3),
        "span_ids": [trace.spans[step].span_id],
    }
    if backend is not lexical:
        evidence["relatedness"] = backend.name
    return [finding(trace, NAME, "drift", step, "medium", evidence)]


def _onset(points: list[tuple[int, float]], floor: float) -> int | None:
    """The first step from which every later step stays below ``floor``."""
    onset = None
    for step, value in points:
        if value >= floor:
            onset = None
        elif onset is None:
            onset = step
    return onset


def _late_violations(trace: Trace) -> list[Finding]:
    rules = [c for c in constraints(trace.instruction) if c.negative]
    out: list[Finding] = []
    half = len(trace.spans) // 2
    for rule in rules:
        for step in range(max(half, 1), len(trace.spans)):
            span = trace.spans[step]
            text = f"{span.tool or ''} {span.input_text or ''}" if span.kind == "tool" else ""
            text += f" {span.output_text or ''}" if span.kind != "tool" else ""
            if set(rule.words) <= set(tokens(text)):
                out.append(
                    finding(
                        trace,
                        NAME,
                        "late_violation",
                        step,
                        "high",
                        {
                            "constraint": rule.text,
                            "step_text": quote(text),
                            "span_ids": [span.span_id],
                            "why": "a late step does what the instruction forbids",
                        },
                    )
                )
                break
    return out
