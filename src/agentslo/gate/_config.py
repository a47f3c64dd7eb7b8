"""A YAML file listing gates, validated with errors that name the gate and the field.

```yaml
gates:
  - name: support-bot-v3
    baseline: {agent: support-bot, version: v2}
    candidate: {agent: support-bot, version: v3}
    metrics: [success, p95:duration, cost_per_success]
    margins: {success: 0.02}
    alpha: 0.05
    since: 7d
```

:func:`evaluate_gates` evaluates every gate of a file; a gate that cannot be
evaluated (an arm with no runs yet) is reported with its error rather than
stopping the others, which is what a server polling live traffic needs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentslo.durations import parse_instant
from agentslo.gate._evaluate import GateResult, evaluate_gate
from agentslo.gate._spec import GateSpec, parse_metric, parse_selector
from agentslo.metrics import TRUSTED_SOURCES

__all__ = ["GateOutcome", "evaluate_gates", "load_gates"]


class _GateModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    baseline: dict[str, str]
    candidate: dict[str, str]
    metrics: list[str] = Field(min_length=1)
    margins: dict[str, float] = Field(default_factory=dict)
    alpha: float = 0.05
    since: str | None = None
    project: str | None = None
    sources: list[str] = Field(default_factory=lambda: list(TRUSTED_SOURCES))


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gates: list[_GateModel] = Field(min_length=1)


def _problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}"


def _spec(model: _GateModel, now: datetime | None) -> GateSpec:
    return GateSpec(
        baseline=parse_selector(model.baseline, arm="baseline"),
        candidate=parse_selector(model.candidate, arm="candidate"),
        metrics=tuple(parse_metric(m) for m in model.metrics),
        margins=dict(model.margins),
        alpha=model.alpha,
        since=parse_instant(model.since, now=now) if model.since else None,
        name=model.name,
        project=model.project,
        sources=tuple(model.sources),
    )


def load_gates(path: str | os.PathLike[str], *, now: datetime | None = None) -> list[GateSpec]:
    """Read and validate a gates file; raise ``ValueError`` naming the file, gate and field."""
    source = Path(path)
    try:
        raw: Any = yaml.safe_load(source.read_text())
    except FileNotFoundError:
        raise ValueError(f"{source}: no such gates file") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{source}: not valid YAML ({exc})") from None
    try:
        parsed = _FileModel.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(
            f"{source}: {_problem(exc)}; a gates file is `gates:` followed by a list of "
            "gates with name, baseline, candidate and metrics (see docs/gates.md)"
        ) from None
    names = [g.name for g in parsed.gates]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(
            f"{source}: gate name {duplicated[0]!r} is used twice; names must be unique"
        )
    specs = []
    for index, model in enumerate(parsed.gates):
        try:
            specs.append(_spec(model, now))
        except ValueError as exc:
            raise ValueError(f"{source}: gates[{index}] ({model.name}): {exc}") from None
    return specs


@dataclass
class GateOutcome:
    """One gate of a file: its result, or the error that kept it from being evaluated."""

    spec: GateSpec
    result: GateResult | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.result is not None:
            return self.result.to_dict()
        return {"gate": self.spec.key, "decision": "error", "error": self.error}


def evaluate_gates(
    store: Any, path: str | os.PathLike[str], *, record: bool = True, now: datetime | None = None
) -> list[GateOutcome]:
    """Evaluate every gate in the file at ``path`` over ``store`` (for ``GET /v1/gates``)."""
    outcomes = []
    for spec in load_gates(path, now=now):
        try:
            outcomes.append(GateOutcome(spec, evaluate_gate(store, spec, record=record)))
        except ValueError as exc:
            outcomes.append(GateOutcome(spec, None, str(exc)))
    return outcomes
