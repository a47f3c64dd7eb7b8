"""The records every part of agentslo shares: runs, spans, outcomes and findings.

Records are validated once, at the boundary (a file, an HTTP body, a generator), by
the pydantic models below. Inside, data travels as Arrow tables whose schemas are
``RUNS_SCHEMA`` etc.; the store's DDL is derived from those schemas, so a column is
declared in exactly one place per representation, and a test keeps the models and
the schemas in step.

Timestamps are UTC. Aware inputs are converted to UTC; naive inputs are taken as
UTC already. They are stored without a zone (microsecond precision) so that every
backend (DuckDB, Spark) reads the same instants.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

import pyarrow as pa
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    field_validator,
    model_validator,
)

__all__ = [
    "ENVIRONMENTS",
    "FINDINGS_SCHEMA",
    "OUTCOMES_SCHEMA",
    "OUTCOME_LABELS",
    "OUTCOME_SOURCES",
    "RUNS_SCHEMA",
    "SCHEMAS",
    "SEVERITIES",
    "SOURCE_TRUST",
    "SPANS_SCHEMA",
    "SPAN_KINDS",
    "STATUSES",
    "Finding",
    "Outcome",
    "Run",
    "Span",
    "to_utc_naive",
]

Environment = Literal["production", "trial", "benchmark"]
Status = Literal["ok", "error", "timeout", "cancelled", "unset"]
SpanKind = Literal["agent", "llm", "tool", "handoff", "chain", "other"]
OutcomeLabel = Literal["success", "failure", "partial"]
OutcomeSource = Literal["verified", "human", "judge", "claimed"]
Severity = Literal["info", "low", "medium", "high", "critical"]

ENVIRONMENTS: Final = ("production", "trial", "benchmark")
STATUSES: Final = ("ok", "error", "timeout", "cancelled", "unset")
SPAN_KINDS: Final = ("agent", "llm", "tool", "handoff", "chain", "other")
OUTCOME_LABELS: Final = ("success", "failure", "partial")
OUTCOME_SOURCES: Final = ("verified", "human", "judge", "claimed")
SEVERITIES: Final = ("info", "low", "medium", "high", "critical")

#: Lower is more trusted. The effective outcome of a run comes from its most
#: trusted source; among outcomes of that source, the latest recorded wins.
SOURCE_TRUST: Final[dict[str, int]] = {"verified": 0, "human": 1, "judge": 2, "claimed": 3}

Id = Annotated[str, Field(min_length=1, max_length=512)]
Name = Annotated[str, Field(max_length=512)]


def to_utc_naive(value: datetime) -> datetime:
    """Return ``value`` as a naive datetime in UTC (aware values are converted)."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), sort_keys=True, default=str)


def _utc_now() -> datetime:
    """Now, as naive UTC like every stored instant."""
    return datetime.now(UTC).replace(tzinfo=None)


def _json_text(value: Any) -> str | None:
    """Serialise an attributes/evidence value to compact JSON text (None stays None)."""
    if value is None:
        return None
    return _ENCODER.encode(value)


class _Record(BaseModel):
    """Common configuration: unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    project: Name = "default"

    @field_validator(
        "started_at", "ended_at", "recorded_at", "created_at", mode="after", check_fields=False
    )
    @classmethod
    def _timestamps_to_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else to_utc_naive(value)

    def to_row(self) -> dict[str, Any]:
        """The record as a row of its Arrow table (JSON fields serialised)."""
        row = self.model_dump()
        for key in ("attributes", "events", "evidence"):
            if key in row:
                row[key] = _json_text(row[key])
        return row


class _Timed(_Record):
    started_at: datetime
    ended_at: datetime | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> _Timed:
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise ValueError(
                f"ended_at ({self.ended_at.isoformat()}) is before started_at "
                f"({self.started_at.isoformat()}); swap them or drop ended_at"
            )
        return self


class Run(_Timed):
    """One execution of an agent task: the unit an SLO counts."""

    run_id: Id
    task_id: Name | None = None
    agent: Name
    version: Name | None = None
    model: Name | None = None
    user: Name | None = None
    team: Name | None = None
    environment: Environment = "production"
    suite: Name | None = None
    trial: NonNegativeInt | None = None
    status: Status = "unset"
    input_tokens: NonNegativeInt | None = None
    output_tokens: NonNegativeInt | None = None
    total_tokens: NonNegativeInt | None = None
    cost_usd: NonNegativeFloat | None = None
    steps: NonNegativeInt | None = None
    tool_calls: NonNegativeInt | None = None
    tool_errors: NonNegativeInt | None = None
    handoffs: NonNegativeInt | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _total_tokens(self) -> Run:
        if self.total_tokens is None and (
            self.input_tokens is not None or self.output_tokens is not None
        ):
            total = (self.input_tokens or 0) + (self.output_tokens or 0)
            object.__setattr__(self, "total_tokens", total)
        return self


class Span(_Timed):
    """One step inside a run, shaped like an OpenTelemetry span."""

    trace_id: Id
    span_id: Id
    parent_span_id: Name | None = None
    run_id: Name | None = None
    name: Name
    kind: SpanKind = "other"
    agent: Name | None = None
    tool: Name | None = None
    model: Name | None = None
    status: Status = "unset"
    error_type: Name | None = None
    input_tokens: NonNegativeInt | None = None
    output_tokens: NonNegativeInt | None = None
    cost_usd: NonNegativeFloat | None = None
    input_text: str | None = None
    output_text: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    events: list[dict[str, Any]] = Field(default_factory=list)


class Outcome(_Record):
    """A verdict on a run, with who vouched for it. May arrive long after the run."""

    outcome_id: Name = ""
    run_id: Id
    label: OutcomeLabel
    score: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    source: OutcomeSource
    evaluator: Name | None = None
    recorded_at: datetime = Field(default_factory=_utc_now)
    evidence: dict[str, Any] | list[Any] | str | None = None

    @model_validator(mode="after")
    def _default_id(self) -> Outcome:
        """Derive a stable id so that importing the same outcome twice is idempotent."""
        if not self.outcome_id:
            key = "\x1f".join(
                [
                    self.project,
                    self.run_id,
                    self.source,
                    self.evaluator or "",
                    self.label,
                    self.recorded_at.isoformat(),
                ]
            )
            object.__setattr__(self, "outcome_id", hashlib.sha1(key.encode()).hexdigest())
        return self


class Finding(_Record):
    """Something a detector or an audit found, with the evidence to check it."""

    finding_id: Id
    run_id: Name | None = None
    span_id: Name | None = None
    detector: Name
    mode: Name
    severity: Severity = "medium"
    agent: Name | None = None
    step: NonNegativeInt | None = None
    evidence: dict[str, Any] | list[Any] | str | None = None
    created_at: datetime = Field(default_factory=_utc_now)


_TS = pa.timestamp("us")
_STR = pa.string()
_I64 = pa.int64()
_F64 = pa.float64()

RUNS_SCHEMA: Final = pa.schema(
    [
        pa.field("project", _STR, nullable=False),
        pa.field("run_id", _STR, nullable=False),
        ("task_id", _STR),
        pa.field("agent", _STR, nullable=False),
        ("version", _STR),
        ("model", _STR),
        ("user", _STR),
        ("team", _STR),
        pa.field("environment", _STR, nullable=False),
        ("suite", _STR),
        ("trial", _I64),
        pa.field("started_at", _TS, nullable=False),
        ("ended_at", _TS),
        pa.field("status", _STR, nullable=False),
        ("input_tokens", _I64),
        ("output_tokens", _I64),
        ("total_tokens", _I64),
        ("cost_usd", _F64),
        ("steps", _I64),
        ("tool_calls", _I64),
        ("tool_errors", _I64),
        ("handoffs", _I64),
        ("attributes", _STR),
    ]
)

SPANS_SCHEMA: Final = pa.schema(
    [
        pa.field("project", _STR, nullable=False),
        pa.field("trace_id", _STR, nullable=False),
        pa.field("span_id", _STR, nullable=False),
        ("parent_span_id", _STR),
        ("run_id", _STR),
        pa.field("name", _STR, nullable=False),
        pa.field("kind", _STR, nullable=False),
        ("agent", _STR),
        ("tool", _STR),
        ("model", _STR),
        pa.field("started_at", _TS, nullable=False),
        ("ended_at", _TS),
        pa.field("status", _STR, nullable=False),
        ("error_type", _STR),
        ("input_tokens", _I64),
        ("output_tokens", _I64),
        ("cost_usd", _F64),
        ("input_text", _STR),
        ("output_text", _STR),
        ("attributes", _STR),
        ("events", _STR),
    ]
)

OUTCOMES_SCHEMA: Final = pa.schema(
    [
        pa.field("project", _STR, nullable=False),
        pa.field("outcome_id", _STR, nullable=False),
        pa.field("run_id", _STR, nullable=False),
        pa.field("label", _STR, nullable=False),
        ("score", _F64),
        pa.field("source", _STR, nullable=False),
        ("evaluator", _STR),
        pa.field("recorded_at", _TS, nullable=False),
        ("evidence", _STR),
    ]
)

FINDINGS_SCHEMA: Final = pa.schema(
    [
        pa.field("project", _STR, nullable=False),
        pa.field("finding_id", _STR, nullable=False),
        ("run_id", _STR),
        ("span_id", _STR),
        pa.field("detector", _STR, nullable=False),
        pa.field("mode", _STR, nullable=False),
        pa.field("severity", _STR, nullable=False),
        ("agent", _STR),
        ("step", _I64),
        ("evidence", _STR),
        pa.field("created_at", _TS, nullable=False),
    ]
)

#: Table name -> (record model, Arrow schema). The order is the write order.
SCHEMAS: Final[dict[str, tuple[type[_Record], pa.Schema]]] = {
    "runs": (Run, RUNS_SCHEMA),
    "spans": (Span, SPANS_SCHEMA),
    "outcomes": (Outcome, OUTCOMES_SCHEMA),
    "findings": (Finding, FINDINGS_SCHEMA),
}
