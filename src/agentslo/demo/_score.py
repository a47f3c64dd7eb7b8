"""Scoring detectors against the fleet's injected failure modes.

The population is the transcript runs (every run with a ``transcript`` row in
``ground_truth``): only they carry the text the detectors read, and a healthy share
of them is there so that false positives are counted. For each failure mode, a run
is *injected* when its row lists a case of that mode, and *flagged* when the store
holds a finding of the mode's detector and mode on it; precision is the share of
flagged runs that are injected, recall the share of injected runs that are flagged.
Root-cause attribution is scored on the injected cascades: does the detector's
root-cause step (and agent) match the step where the wrong value was introduced.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from agentslo.demo._scripts import MODES
from agentslo.demo._transcripts import TRUTH_KIND
from agentslo.store import Store

__all__ = ["AttributionScore", "DetectorScores", "ModeScore", "score_findings"]


@dataclass(frozen=True)
class ModeScore:
    """Precision and recall of one failure mode's detector on the transcript runs."""

    mode: str
    detector: str | None
    injected: int
    flagged: int
    true_positives: int
    #: Runs outside the transcripts (no text) flagged with this mode.
    background_flagged: int

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.flagged if self.flagged else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.injected if self.injected else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "precision": self.precision, "recall": self.recall}


@dataclass(frozen=True)
class AttributionScore:
    """Root-cause attribution on the injected cascades (step exact, within 1, agent)."""

    cascades: int
    attributed: int
    step_exact: int
    step_within_1: int
    agent: int

    def share(self, k: int) -> float | None:
        return k / self.cascades if self.cascades else None

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "step_accuracy": self.share(self.step_exact),
            "step_within_1_accuracy": self.share(self.step_within_1),
            "agent_accuracy": self.share(self.agent),
        }


@dataclass(frozen=True)
class DetectorScores:
    """Every mode's score, the attribution score, and the population they are over."""

    project: str
    transcript_runs: int
    healthy_runs: int
    background_runs: int
    modes: tuple[ModeScore, ...]
    attribution: AttributionScore

    def mode(self, name: str) -> ModeScore:
        """The score of mode ``name``; KeyError naming the modes when unknown."""
        for score in self.modes:
            if score.mode == name:
                return score
        raise KeyError(f"no mode {name!r}; modes: {', '.join(s.mode for s in self.modes)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "transcript_runs": self.transcript_runs,
            "healthy_runs": self.healthy_runs,
            "background_runs": self.background_runs,
            "modes": [s.to_dict() for s in self.modes],
            "attribution": self.attribution.to_dict(),
        }


def score_findings(store: Store, project: str = "default") -> DetectorScores:
    """Score the findings in ``store`` against the demo's injected failure modes.

    Run ``agentslo detect`` (``agentslo.detect.run_detectors``) over the demo store
    first; ValueError when the store holds no transcript ground truth for ``project``
    (a store not written by ``write_fleet``, or a fleet with ``transcripts=0``).
    """
    con = store.con
    rows = con.execute(
        "SELECT subject, detail FROM ground_truth WHERE project = ? AND kind = ?",
        [project, TRUTH_KIND],
    ).fetchall()
    if not rows:
        raise ValueError(
            f"no transcript ground truth for project {project!r}; write a demo fleet "
            "with transcripts first (agentslo demo, or agentslo.demo.write_fleet)"
        )
    truth: dict[str, list[dict[str, Any]]] = {rid: json.loads(d)["cases"] for rid, d in rows}
    healthy = sum(1 for d in rows if json.loads(d[1])["scenario"].startswith("healthy/"))
    found = con.execute(
        "SELECT run_id, detector, mode, step, agent FROM findings WHERE project = ?",
        [project],
    ).fetchall()
    flagged: dict[tuple[str, str], set[str]] = {}
    background: dict[tuple[str, str], set[str]] = {}
    blame: dict[str, tuple[int | None, str | None, int]] = {}
    for run_id, detector, mode, step, agent in found:
        target = flagged if run_id in truth else background
        target.setdefault((detector, mode), set()).add(run_id)
        if detector == "root_cause" and run_id in truth:
            rank = 0 if mode == "root_cause" else 1
            if run_id not in blame or rank < blame[run_id][2]:
                blame[run_id] = (step, agent, rank)
    total = con.execute("SELECT count(*) FROM runs WHERE project = ?", [project]).fetchone()
    scores = []
    for mode, detector in MODES.items():
        injected = {rid for rid, cases in truth.items() if any(c["mode"] == mode for c in cases)}
        hits = flagged.get((detector or "", mode), set())
        scores.append(
            ModeScore(
                mode=mode,
                detector=detector,
                injected=len(injected),
                flagged=len(hits),
                true_positives=len(injected & hits),
                background_flagged=len(background.get((detector or "", mode), set())),
            )
        )
    return DetectorScores(
        project=project,
        transcript_runs=len(truth),
        healthy_runs=healthy,
        background_runs=(int(total[0]) if total else 0) - len(truth),
        modes=tuple(scores),
        attribution=_attribution(truth, blame),
    )


def _attribution(
    truth: dict[str, list[dict[str, Any]]], blame: dict[str, tuple[int | None, str | None, int]]
) -> AttributionScore:
    cascades = attributed = exact = near = agent = 0
    for run_id, cases in truth.items():
        for case in cases:
            if case["mode"] != "cascade":
                continue
            cascades += 1
            if run_id not in blame:
                continue
            step, who, _ = blame[run_id]
            attributed += 1
            if step is not None and case["step"] is not None:
                exact += step == case["step"]
                near += abs(step - case["step"]) <= 1
            agent += (who or "").lower() == (case["agent"] or "").lower()
    return AttributionScore(cascades, attributed, exact, near, agent)
