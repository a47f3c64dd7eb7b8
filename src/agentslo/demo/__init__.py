"""A synthetic agent fleet with known ground truth, for the demo and the benchmarks.

Realistic traffic — diurnal and weekly load, agents with teams, models at list
prices and versions rolled out over time, heavy-tailed tokens and latency, spans
shaped like OpenTelemetry GenAI traces, outcomes from several sources arriving
late — into which a known regression, token-burning accounts, a claim gap and a
live incident are injected, and a share of runs carry full transcripts, healthy or
with one of the failure modes the detectors look for. :func:`ground_truth` says
exactly what was injected, so detectors, gates and SLO alerts can be scored
against it (:func:`score_findings` scores the detectors).

Generation is vectorised with numpy and deterministic under ``FleetConfig.seed``.
"""

from agentslo.demo._config import MAX_CHUNK_RUNS, FleetConfig
from agentslo.demo._fleet import META_KEY, generate_fleet, ground_truth, write_fleet
from agentslo.demo._score import AttributionScore, DetectorScores, ModeScore, score_findings
from agentslo.demo._truth import (
    ClaimGap,
    FailureModes,
    GroundTruth,
    Incident,
    RegressedVersion,
    Rollout,
    TokenBurner,
)

__all__ = [
    "MAX_CHUNK_RUNS",
    "META_KEY",
    "AttributionScore",
    "ClaimGap",
    "DetectorScores",
    "FailureModes",
    "FleetConfig",
    "GroundTruth",
    "Incident",
    "ModeScore",
    "RegressedVersion",
    "Rollout",
    "TokenBurner",
    "generate_fleet",
    "ground_truth",
    "score_findings",
    "write_fleet",
]
