"""A synthetic agent fleet with known ground truth, for the demo and the benchmarks.

Realistic traffic — diurnal and weekly load, agents with teams, models at list
prices and versions rolled out over time, heavy-tailed tokens and latency, spans
shaped like OpenTelemetry GenAI traces, outcomes from several sources arriving
late — into which a known regression, token-burning accounts, a claim gap and a
live incident are injected. :func:`ground_truth` says exactly what was injected,
so detectors, gates and SLO alerts can be scored against it.

Generation is vectorised with numpy and deterministic under ``FleetConfig.seed``.
"""

from agentslo.demo._config import MAX_CHUNK_RUNS, FleetConfig
from agentslo.demo._fleet import META_KEY, generate_fleet, ground_truth, write_fleet
from agentslo.demo._truth import (
    ClaimGap,
    GroundTruth,
    Incident,
    RegressedVersion,
    Rollout,
    TokenBurner,
)

__all__ = [
    "MAX_CHUNK_RUNS",
    "META_KEY",
    "ClaimGap",
    "FleetConfig",
    "GroundTruth",
    "Incident",
    "RegressedVersion",
    "Rollout",
    "TokenBurner",
    "generate_fleet",
    "ground_truth",
    "write_fleet",
]
