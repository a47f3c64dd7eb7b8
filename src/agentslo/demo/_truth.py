"""What the generator injected into a fleet, to score detectors and gates against.

The ground truth is kept apart from the data (table ``ground_truth``, meta key
``demo``) so that no detector can read it by accident. Everything not listed here
is unchanged by design: agents beyond the named ones release versions with no
effect on success, so any regression flagged there is a false positive.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "ClaimGap",
    "FailureModes",
    "GroundTruth",
    "Incident",
    "RegressedVersion",
    "Rollout",
    "TokenBurner",
]


@dataclass(frozen=True)
class RegressedVersion:
    """A release that made an agent worse, from ``started_at`` (rollout begins).

    ``success_delta`` is the injected change in the probability of a verified
    success against ``baseline_version`` (observed rates differ by about this much,
    a little more because failed runs also crash and time out). Latency is
    multiplied by ``latency_factor`` with a wider spread; ``latency_p95_factor`` is
    the expected ratio of the p95 durations.
    """

    agent: str
    version: str
    baseline_version: str
    started_at: datetime
    full_rollout_at: datetime
    success_delta: float
    latency_factor: float
    latency_p95_factor: float

    @property
    def subject(self) -> str:
        return f"{self.agent}@{self.version}"


@dataclass(frozen=True)
class TokenBurner:
    """A user whose runs burn many tokens and steps and never verifiably succeed.

    About ``share_of_runs`` of all runs belong to this user, on ``agent``; they take
    ``steps_factor`` times the steps and ``context_factor`` times the context per
    step, claim success most of the time, and are verified (when at all) as failures.
    """

    user: str
    agent: str
    share_of_runs: float
    steps_factor: float
    context_factor: float

    @property
    def subject(self) -> str:
        return self.user


@dataclass(frozen=True)
class Incident:
    """A dependency outage: ``tool`` of ``agent`` fails from ``started_at`` to ``ended_at``.

    During the window a call to the tool fails with probability ``tool_error_rate``
    (``error_types``), most failing runs crash, the agent retries the tool (a
    ``retry_share`` of its tool calls go to it) and its traffic grows by
    ``traffic_factor`` because users retry too. ``ended_at`` is the end of the
    generated window: the incident is still going on.
    """

    agent: str
    tool: str
    started_at: datetime
    ended_at: datetime
    tool_error_rate: float
    error_types: tuple[str, ...]
    traffic_factor: float
    retry_share: float

    @property
    def subject(self) -> str:
        return self.agent


@dataclass(frozen=True)
class ClaimGap:
    """An agent version that claims success on failed runs unusually often.

    ``false_claim_rate`` is P(claims success | verified failure); listed when it is
    at least ``GroundTruth.claim_gap_threshold`` (other versions stay below it).
    """

    agent: str
    version: str
    false_claim_rate: float

    @property
    def subject(self) -> str:
        return f"{self.agent}@{self.version}"


@dataclass(frozen=True)
class Rollout:
    """A release of a named agent and its injected effect on verified success."""

    agent: str
    version: str
    previous_version: str
    model: str
    previous_model: str
    started_at: datetime
    full_rollout_at: datetime
    success_delta: float

    @property
    def subject(self) -> str:
        return f"{self.agent}@{self.version}"


@dataclass(frozen=True)
class FailureModes:
    """Failure modes injected into the runs that carry full text (transcripts).

    About ``transcript_share`` of all runs (token burners excepted) carry their
    instruction, messages, tool arguments and results. ``healthy_share`` of those
    follow a healthy script (with retried faults, polling, clarifying questions,
    structured hand-offs: what detectors must leave alone); the rest are split
    evenly over the failure scenarios. ``modes`` maps each failure mode to the
    detector that looks for it (None: no detector does). Every transcript run has a
    ``ground_truth`` row of kind ``truth_kind`` whose subject is the run id and
    whose detail lists its cases: mode, detector, step, agent and span id (None
    where the mode belongs to the run as a whole). A run can hold several modes
    (a lost hand-off also leaves a sub-goal open); ``claimed_success_failed`` is
    listed wherever the run claimed success and in fact failed.
    """

    transcript_share: float
    healthy_share: float
    scenarios: tuple[str, ...]
    modes: tuple[tuple[str, str | None], ...]
    truth_kind: str = "transcript"

    @property
    def subject(self) -> str:
        return "transcripts"


@dataclass(frozen=True)
class GroundTruth:
    """Everything a fleet was built to contain, derived from its config alone."""

    project: str
    seed: int
    runs: int
    agents: int
    window_start: datetime
    window_end: datetime
    regressed_version: RegressedVersion
    token_burners: tuple[TokenBurner, ...]
    incident: Incident
    claim_gaps: tuple[ClaimGap, ...]
    rollouts: tuple[Rollout, ...]
    failure_modes: FailureModes
    claim_gap_threshold: float = 0.35

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 strings, UTC)."""
        out: dict[str, Any] = _jsonable(asdict(self))
        return out

    def rows(self) -> list[tuple[str, str, str, str]]:
        """Rows for the ``ground_truth`` table: (project, kind, subject, detail JSON)."""
        items: list[tuple[str, Any]] = [("regressed_version", self.regressed_version)]
        items += [("token_burner", b) for b in self.token_burners]
        items.append(("incident", self.incident))
        items += [("claim_gap", g) for g in self.claim_gaps]
        items += [("rollout", r) for r in self.rollouts]
        items.append(("failure_modes", self.failure_modes))
        return [
            (
                self.project,
                kind,
                item.subject,
                json.dumps(_jsonable(asdict(item)), sort_keys=True),
            )
            for kind, item in items
        ]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
