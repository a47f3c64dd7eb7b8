"""What a gate compares: two arms, the metrics, their margins and the error rate."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from agentslo.metrics import FINDING_RATES, GROUP_COLUMNS, MEASURES, TRUSTED_SOURCES, check_sources

__all__ = [
    "DEFAULT_MARGINS",
    "MIN_RUNS_FOR_SAFE",
    "GateSpec",
    "Metric",
    "Selector",
    "parse_margins",
    "parse_metric",
    "parse_selector",
]

#: No metric is called ``safe`` before each arm has this many runs with data for it:
#: the ratio and percentile sequences are asymptotic, and a verdict of "no worse"
#: on a few dozen runs would be a promise the data cannot keep.
MIN_RUNS_FOR_SAFE: Final = 200
#: Margins when none is given: success may drop by 2 points; a finding rate may rise
#: by 1 point (finding rates are small: 2% -> 4% is a doubling, not noise); a
#: percentile or the cost per success may grow by 10%.
DEFAULT_MARGINS: Final = {
    "success": 0.02,
    "finding_rate": 0.01,
    "quantile": 0.10,
    "cost_per_success": 0.10,
}
_QUANTILE: Final = re.compile(r"^p(\d{1,2}(?:\.\d+)?):(\w+)$")
METRIC_HELP: Final = (
    "success, cost_per_success, p50|p95|p99:duration|cost|steps|tokens, or a finding rate ("
    + ", ".join(FINDING_RATES)
    + ")"
)


@dataclass(frozen=True)
class Selector:
    """An arm: runs whose columns equal every given value (``version=v42,agent=bot``)."""

    values: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.values)


def parse_selector(text: str | Mapping[str, object], *, arm: str = "arm") -> Selector:
    """Parse ``key=value[,key=value]`` (or a mapping) over the run columns a report groups by."""
    if isinstance(text, Mapping):
        pairs = [(str(k), str(v)) for k, v in text.items()]
    else:
        pairs = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            key, sep, value = part.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise ValueError(
                    f"{arm} selector {text!r}: expected key=value pairs such as version=v42"
                )
            pairs.append((key.strip(), value.strip()))
    if not pairs:
        raise ValueError(f"{arm} selector is empty; give key=value such as version=v42")
    for key, _ in pairs:
        if key not in GROUP_COLUMNS:
            raise ValueError(
                f"{arm} selector: unknown run column {key!r}; "
                f"choose from: {', '.join(GROUP_COLUMNS)}"
            )
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{arm} selector {text!r} names a column twice")
    return Selector(tuple(sorted(pairs)))


@dataclass(frozen=True)
class Metric:
    """One gated metric: ``success``, ``cost_per_success``, a percentile of a measure, or
    a finding rate (``loop_rate``...: the share of analysed runs with that finding)."""

    name: str
    kind: str  # "success" | "finding_rate" | "quantile" | "cost_per_success"
    measure: str | None = None
    quantile: float | None = None

    @property
    def lower_is_better(self) -> bool:
        return self.kind != "success"


def parse_metric(text: str) -> Metric:
    """Parse a metric name; raise ``ValueError`` listing the accepted names."""
    name = text.strip()
    if name == "success":
        return Metric(name, "success")
    if name == "cost_per_success":
        return Metric(name, "cost_per_success")
    if name in FINDING_RATES:
        return Metric(name, "finding_rate")
    match = _QUANTILE.match(name)
    if match and match.group(2) in MEASURES:
        q = float(match.group(1)) / 100.0
        if 0.0 < q < 1.0:
            return Metric(name, "quantile", match.group(2), q)
    raise ValueError(f"unknown metric {text!r}; use {METRIC_HELP}")


@dataclass(frozen=True)
class GateSpec:
    """A regression gate: is ``candidate`` no worse than ``baseline`` on every metric?

    ``margins`` maps metric names to the tolerated worsening: an absolute drop in
    success rate, an absolute rise of a finding rate, a relative increase (0.10 =
    10%) of a percentile or of the cost per success; each in [0, 1). ``alpha`` is
    the family-wise error rate across the metrics (Bonferroni). Runs start at ``since`` (None: all).
    """

    baseline: Selector
    candidate: Selector
    metrics: tuple[Metric, ...]
    margins: dict[str, float] = field(default_factory=dict)
    alpha: float = 0.05
    since: datetime | None = None
    name: str = ""
    project: str | None = None
    sources: tuple[str, ...] = TRUSTED_SOURCES

    def __post_init__(self) -> None:
        if not self.metrics:
            raise ValueError(f"no metric given; use {METRIC_HELP}")
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"metric listed twice in {', '.join(names)}")
        if not 0.0 < self.alpha < 0.5:
            raise ValueError(f"alpha {self.alpha} must be in (0, 0.5), e.g. 0.05")
        for metric, margin in self.margins.items():
            if metric not in names:
                raise ValueError(
                    f"margin for {metric!r}, which is not a gated metric ({', '.join(names)})"
                )
            if not 0.0 <= margin < 1.0:
                raise ValueError(
                    f"margin {metric}={margin} is outside [0, 1); give the tolerated worsening "
                    "as a fraction, e.g. success=0.02 (2 points), loop_rate=0.01 (1 point) or "
                    "p95:duration=0.1 (10%)"
                )
        if self.baseline == self.candidate:
            raise ValueError(
                f"baseline and candidate are the same selector ({self.baseline}); "
                "the arms must select different runs"
            )
        object.__setattr__(self, "sources", check_sources(self.sources))

    def margin(self, metric: Metric) -> float:
        """The margin for ``metric``: given, else the default for its kind."""
        return self.margins.get(metric.name, DEFAULT_MARGINS[metric.kind])

    @property
    def key(self) -> str:
        """A stable identity for recording decisions: the name, else the comparison."""
        return self.name or f"{self.baseline} -> {self.candidate}"


def parse_margins(items: Sequence[str]) -> dict[str, float]:
    """Parse ``metric=value`` margin options."""
    out: dict[str, float] = {}
    for item in items:
        metric, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not sep or number != number:
            raise ValueError(
                f"margin {item!r}: expected metric=number, e.g. success=0.02 or p95:duration=0.1"
            )
        out[metric.strip()] = number
    return out
