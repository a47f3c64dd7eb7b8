"""The detectors by name: what ``agentslo detect --detector NAME`` accepts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from agentslo.detect import claims, drift, handoff, loops, recovery, root_cause, termination
from agentslo.detect._trace import Trace
from agentslo.detect.relatedness import Relatedness, lexical
from agentslo.model import Finding

__all__ = ["DETECTORS", "Detector", "resolve"]

Detector = Callable[[Trace], list[Finding]]

DETECTORS: Final[dict[str, Detector]] = {
    loops.NAME: loops.detect,
    recovery.NAME: recovery.detect,
    termination.NAME: termination.detect,
    handoff.NAME: handoff.detect,
    drift.NAME: drift.detect,
    root_cause.NAME: root_cause.detect,
    claims.NAME: claims.detect,
}


def resolve(names: list[str] | None, *, relatedness: Relatedness = lexical) -> dict[str, Detector]:
    """The detectors called ``names`` (all of them when empty); ValueError on an unknown name.

    ``relatedness`` is the backend the drift detector measures relatedness with.
    """
    if not names:
        chosen = dict(DETECTORS)
    else:
        unknown = [n for n in names if n not in DETECTORS]
        if unknown:
            raise ValueError(
                f"unknown detector {', '.join(map(repr, unknown))}; "
                f"use one of: {', '.join(DETECTORS)}"
            )
        chosen = {n: DETECTORS[n] for n in dict.fromkeys(names)}
    if drift.NAME in chosen:
        chosen[drift.NAME] = drift.detector(relatedness)
    return chosen
