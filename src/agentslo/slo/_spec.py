"""OpenSLO v1 SLO specs over agentslo's runs: parsing, validation, and the resolved model.

A spec file holds one or more YAML documents (``---``). ``kind: SLO`` documents
are the objectives; ``kind: SLI`` documents are indicators that an SLO names with
``indicatorRef``. Other OpenSLO kinds (Service, DataSource, AlertPolicy, ...) may
sit in the same file and are skipped. Fields OpenSLO defines but agentslo does not
use (labels, annotations, descriptions, alert policies, display names) are
accepted and ignored; anything else is an error, because a misspelt field silently
ignored is an SLO silently measuring the wrong thing.

The indicator's data source is ``metricSource: {type: agentslo, spec: {query: ...}}``,
a query over the runs in the store (see ``docs/slo.md`` for the list). Every error
names the file, the document, the path inside it (``spec.objectives[0].target``)
and what is allowed there.
"""

from __future__ import annotations

import os
import re
import types
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from agentslo.durations import format_duration, parse_duration
from agentslo.metrics import FINDING_RATES, TRUSTED_SOURCES
from agentslo.model import ENVIRONMENTS, OUTCOME_SOURCES

__all__ = [
    "BUDGETING_METHODS",
    "FILTER_FIELDS",
    "FINDING_QUERIES",
    "RATIO_QUERIES",
    "THRESHOLD_OPS",
    "THRESHOLD_QUERIES",
    "Indicator",
    "MetricQuery",
    "SLOSpec",
    "SLOSpecError",
    "load_slos",
]

RatioQueryName = Literal[
    "runs",
    "verified",
    "success",
    "failure",
    "finished",
    "ok",
    "errored",
    "duration_below",
    "duration_known",
    "cost_below",
    "cost_known",
    # finding rates (agentslo.metrics.FINDING_RATES): runs a detector flagged
    "loop_rate",
    "unrecovered_fault_rate",
    "handoff_loss_rate",
    "claim_gap_rate",
    "drift_rate",
    "premature_end_rate",
]
ThresholdQueryName = Literal["duration", "cost"]
Op = Literal["lt", "lte", "gt", "gte"]
BudgetingMethod = Literal["Occurrences", "Timeslices"]
SourceName = Literal["verified", "human", "judge", "claimed"]

#: Queries allowed in ``ratioMetric.good|bad|total.metricSource.spec.query``.
RATIO_QUERIES: Final[tuple[str, ...]] = get_args(RatioQueryName)
#: Queries allowed in ``thresholdMetric.metricSource.spec.query``.
THRESHOLD_QUERIES: Final[tuple[str, ...]] = get_args(ThresholdQueryName)
THRESHOLD_OPS: Final[tuple[str, ...]] = get_args(Op)
#: Ratio queries that count runs with a finding (``ratioMetric.bad`` only): the
#: finding rates of ``agentslo report --findings``, by the same names.
FINDING_QUERIES: Final[tuple[str, ...]] = tuple(q for q in RATIO_QUERIES if q in FINDING_RATES)
BUDGETING_METHODS: Final[tuple[str, ...]] = get_args(BudgetingMethod)
#: Run columns a metric source may filter on (also the Prometheus labels).
FILTER_FIELDS: Final = ("project", "agent", "version", "model", "team", "environment", "suite")

_OTHER_KINDS: Final = (
    "Service",
    "DataSource",
    "AlertPolicy",
    "AlertCondition",
    "AlertNotificationTarget",
)
_KINDS: Final = ("SLO", "SLI", *_OTHER_KINDS)
_API_VERSION: Final = "openslo/v1"
_DURATION_QUERIES: Final = frozenset({"duration_below", "duration_known"})
_THRESHOLD_FREE: Final = frozenset(RATIO_QUERIES) - _DURATION_QUERIES - {"cost_below"}


class SLOSpecError(ValueError):
    """An SLO spec cannot be used: names the file, the document, the path and the fix.

    ``file``, ``document`` (1-based, or None for file-level problems), ``path`` (the
    dotted path in the document, e.g. ``spec.objectives[0].target``) and ``allowed``
    (allowed fields or values, possibly empty) describe the first problem found; the
    message lists every problem.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str,
        document: int | None = None,
        path: str = "",
        allowed: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.file = file
        self.document = document
        self.path = path
        self.allowed = tuple(allowed)


# -- the resolved model (public) -----------------------------------------------------


@dataclass(frozen=True)
class MetricQuery:
    """Which runs one side of an indicator counts, among the runs started in a window.

    ``query`` is one of ``runs``, ``verified``, ``success``, ``failure``,
    ``finished``, ``ok``, ``errored``, ``duration``, ``duration_known``, ``cost``,
    ``cost_known`` or a finding rate of :data:`FINDING_QUERIES` (runs with a finding
    of that rate's mode), ``duration_below``/``cost_below`` in a spec becoming
    ``duration``/``cost`` with ``op="lte"``. ``op``/``threshold`` (seconds or USD)
    apply to the duration and cost queries; ``filter`` maps a run column to the
    values it may take.
    """

    query: str
    op: str | None = None
    threshold: float | None = None
    filter: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Indicator:
    """The SLI: the fraction of ``total`` runs that are good.

    Exactly one of ``good`` and ``bad`` is set. Good (or bad) runs are always
    counted among the ``total`` runs, so the SLI lies in [0, 1] whatever the
    filters. ``sources`` are the outcome sources that decide success.

    When ``bad`` is a finding query, the total is further limited to the runs that
    query's detector analysed (see :attr:`finding_rate`): a run not analysed yet is
    neither good nor bad.
    """

    name: str | None
    kind: Literal["ratio", "threshold"]
    total: MetricQuery
    good: MetricQuery | None
    bad: MetricQuery | None
    sources: tuple[str, ...]

    @property
    def finding_rate(self) -> str | None:
        """The finding rate the bad runs are counted by (``loop_rate``...), or None."""
        if self.bad is not None and self.bad.query in FINDING_QUERIES:
            return self.bad.query
        return None


@dataclass(frozen=True)
class SLOSpec:
    """One objective of one OpenSLO ``SLO`` document, with its indicator resolved.

    An SLO document with several objectives yields one ``SLOSpec`` per objective
    (``objective_index`` tells them apart); each is evaluated on its own.
    """

    name: str
    display_name: str
    objective: str
    objective_index: int
    target: float
    window: timedelta
    budgeting_method: str
    indicator: Indicator
    time_slice_target: float | None = None
    time_slice_window: timedelta | None = None
    description: str | None = None
    service: str | None = None
    source: str = ""

    @property
    def key(self) -> str:
        """``name`` plus the objective index when the document has several."""
        return self.name if self.objective_index == 0 else f"{self.name}#{self.objective_index}"

    @property
    def window_text(self) -> str:
        """The window as written in specs, e.g. ``28d``."""
        return format_duration(self.window)


# -- the OpenSLO documents, as pydantic models (private) ------------------------------


class _Strict(BaseModel):
    """Unknown fields are errors, so a typo cannot silently change what is measured."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _strings(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(
        f"expected a string or a non-empty list of strings, got {value!r} "
        "(quote values that look like numbers, e.g. version: '1.10')"
    )


Strings = Annotated[tuple[str, ...], BeforeValidator(_strings)]
Sources = Annotated[tuple[SourceName, ...], Field(min_length=1)]


class _Filter(_Strict):
    project: Strings | None = None
    agent: Strings | None = None
    version: Strings | None = None
    model: Strings | None = None
    team: Strings | None = None
    environment: Strings | None = None
    suite: Strings | None = None

    @field_validator("environment")
    @classmethod
    def _known_environment(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for item in value or ():
            if item not in ENVIRONMENTS:
                raise ValueError(
                    f"unknown environment {item!r}; allowed: {', '.join(ENVIRONMENTS)}"
                )
        return value

    def as_mapping(self) -> dict[str, tuple[str, ...]]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


def _duration_seconds(value: Any, what: str) -> float:
    """Seconds from ``30s``/``1h30m`` or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a duration like 30s or 5m, got {value!r}")
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError(f"{what} must be positive, got {value!r}")
        return float(value)
    if isinstance(value, str):
        return _parse_window(value, what).total_seconds()
    raise ValueError(f"{what} must be a duration like 30s or 5m, got {value!r}")


def _parse_window(text: str, what: str) -> timedelta:
    if re.search(r"\d\s*[MQY]\b", text):
        raise ValueError(
            f"{what} {text!r} uses a calendar unit (M, Q, Y), which needs a calendar-aligned "
            "window; agentslo evaluates rolling windows: use days or weeks, e.g. 28d or 4w"
        )
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


def _cost(value: Any, what: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    raise ValueError(f"{what} must be a non-negative number of US dollars, got {value!r}")


class _RatioQuery(_Strict):
    query: RatioQueryName
    threshold: float | None = Field(default=None, validate_default=True)
    filter: _Filter | None = None
    sources: Sources | None = None

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold_for_query(cls, value: Any, info: ValidationInfo) -> Any:
        query = info.data.get("query")
        if query is None:
            return value if value is None or isinstance(value, int | float) else None
        if query in _THRESHOLD_FREE:
            if value is not None:
                raise ValueError(f"query {query!r} takes no threshold; remove it")
            return None
        if value is None:
            example = "30s" if query in _DURATION_QUERIES else "0.5 (USD)"
            raise ValueError(f"query {query!r} needs a threshold, e.g. threshold: {example}")
        if query in _DURATION_QUERIES:
            return _duration_seconds(value, "threshold")
        return _cost(value, "threshold")


class _ThresholdQuery(_Strict):
    query: ThresholdQueryName
    filter: _Filter | None = None
    sources: Sources | None = None


class _RatioSource(_Strict):
    metric_source_ref: str | None = Field(default=None, alias="metricSourceRef")
    type: Literal["agentslo"]
    spec: _RatioQuery


class _ThresholdSource(_Strict):
    metric_source_ref: str | None = Field(default=None, alias="metricSourceRef")
    type: Literal["agentslo"]
    spec: _ThresholdQuery


class _RatioPart(_Strict):
    metric_source: _RatioSource = Field(alias="metricSource")


class _RatioMetric(_Strict):
    counter: bool | None = None
    good: _RatioPart | None = None
    bad: _RatioPart | None = None
    total: _RatioPart | None = None


class _ThresholdMetric(_Strict):
    metric_source: _ThresholdSource = Field(alias="metricSource")


class _SLIBody(_Strict):
    description: str | None = None
    threshold_metric: _ThresholdMetric | None = Field(default=None, alias="thresholdMetric")
    ratio_metric: _RatioMetric | None = Field(default=None, alias="ratioMetric")


class _Metadata(_Strict):
    name: str = Field(min_length=1)
    display_name: str | None = Field(default=None, alias="displayName")
    labels: dict[str, Any] | None = None
    annotations: dict[str, Any] | None = None


class _InlineSLI(_Strict):
    metadata: _Metadata | None = None
    spec: _SLIBody


class _SLIDocument(_Strict):
    api_version: Literal["openslo/v1"] = Field(alias="apiVersion")
    kind: Literal["SLI"]
    metadata: _Metadata
    spec: _SLIBody


def _plain_value(value: Any) -> Any:
    if value is None or (isinstance(value, int | float | str) and not isinstance(value, bool)):
        return value
    raise ValueError(f"expected a number or a duration like 30s, got {value!r}")


class _TimeWindow(_Strict):
    duration: timedelta
    is_rolling: bool = Field(default=True, alias="isRolling")
    calendar: dict[str, Any] | None = None

    @field_validator("duration", mode="before")
    @classmethod
    def _window(cls, value: Any) -> timedelta:
        if not isinstance(value, str):
            raise ValueError(f"expected a duration like 28d or 4w, got {value!r}")
        return _parse_window(value, "duration")


class _Objective(_Strict):
    display_name: str | None = Field(default=None, alias="displayName")
    op: Op | None = None
    value: Annotated[float | str | None, BeforeValidator(_plain_value)] = None
    target: float | None = Field(default=None, gt=0, lt=1)
    target_percent: float | None = Field(default=None, gt=0, lt=100, alias="targetPercent")
    time_slice_target: float | None = Field(default=None, gt=0, le=1, alias="timeSliceTarget")
    time_slice_window: Annotated[float | str | None, BeforeValidator(_plain_value)] = Field(
        default=None, alias="timeSliceWindow"
    )


class _SLOBody(_Strict):
    description: str | None = None
    service: str | None = None
    indicator: _InlineSLI | None = None
    indicator_ref: str | None = Field(default=None, alias="indicatorRef")
    time_window: Annotated[list[_TimeWindow], Field(min_length=1, max_length=1)] = Field(
        alias="timeWindow"
    )
    budgeting_method: BudgetingMethod = Field(alias="budgetingMethod")
    objectives: Annotated[list[_Objective], Field(min_length=1)]
    alert_policies: list[Any] | None = Field(default=None, alias="alertPolicies")


class _SLODocument(_Strict):
    api_version: Literal["openslo/v1"] = Field(alias="apiVersion")
    kind: Literal["SLO"]
    metadata: _Metadata
    spec: _SLOBody


# -- errors ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Where:
    """Where a document sits, for error messages."""

    file: str
    document: int
    label: str = ""

    def error(self, path: str, problem: str, allowed: Sequence[str] = ()) -> SLOSpecError:
        return SLOSpecError(
            self._line(path, problem, allowed),
            file=self.file,
            document=self.document,
            path=path,
            allowed=allowed,
        )

    def prefix(self) -> str:
        label = f" ({self.label})" if self.label else ""
        return f"{self.file}: document {self.document}{label}"

    def _line(self, path: str, problem: str, allowed: Sequence[str]) -> str:
        where = f"{self.prefix()}: {path}: " if path else f"{self.prefix()}: "
        tail = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return f"{where}{problem}{tail}"


def _path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _strip_type(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin is Union or origin is types.UnionType:
            members = [a for a in get_args(tp) if a is not type(None)]
            tp = members[0] if members else None
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_at(root: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The pydantic model found at ``loc`` under ``root`` (to list its allowed fields)."""
    tp: Any = root
    for part in loc:
        tp = _strip_type(tp)
        if isinstance(part, int):
            args = get_args(tp)
            tp = args[0] if get_origin(tp) in (list, tuple) and args else None
        elif _is_model(tp):
            fields = {f.alias or name: f for name, f in tp.model_fields.items()}
            tp = fields[part].annotation if part in fields else None
        else:
            return None
    tp = _strip_type(tp)
    return tp if _is_model(tp) else None


#: Plain-words ranges for the numeric fields, used in place of pydantic's messages.
_RANGES: Final = {
    "target": "a fraction strictly between 0 and 1, e.g. 0.99",
    "targetPercent": "a percentage strictly between 0 and 100, e.g. 99",
    "timeSliceTarget": "a fraction in (0, 1], e.g. 0.95",
}


def _problem(root: type[BaseModel], error: Mapping[str, Any]) -> tuple[str, str, list[str]]:
    """(path, problem, allowed) for one pydantic error, in the spec's own words."""
    loc = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        model = _model_at(root, loc[:-1])
        return _path(loc), "unknown field", _field_names(model) if model else []
    if kind == "missing":
        return _path(loc), "required field is missing", []
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        return _path(loc), f"{value!r} is not allowed", allowed
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        model = _model_at(root, loc)
        fields = _field_names(model) if model else []
        return _path(loc), f"expected a mapping of fields, got {value!r}", fields
    if kind.startswith(("greater_than", "less_than")) and loc and loc[-1] in _RANGES:
        return _path(loc), f"must be {_RANGES[str(loc[-1])]} (got {value!r})", []
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind.startswith(("greater_than", "less_than", "too_short", "too_long")):
        message += f" (got {value!r})"
    return _path(loc), message, []


def _validation_error(
    exc: ValidationError, root: type[BaseModel], where: _Where, prefix: Sequence[int | str] = ()
) -> SLOSpecError:
    problems = [_problem(root, e) for e in exc.errors()]
    rebased = [(_path([*prefix, p]) if p else _path(prefix), m, a) for p, m, a in problems]
    first_path, first_message, first_allowed = rebased[0]
    first = where.error(first_path, first_message, first_allowed)
    if len(rebased) == 1:
        return first
    lines = [f"{where.prefix()}: {len(rebased)} problems:"]
    for path, message, allowed in rebased:
        tail = f"; allowed: {', '.join(allowed)}" if allowed else ""
        lines.append(f"  {path}: {message}{tail}")
    return SLOSpecError(
        "\n".join(lines),
        file=where.file,
        document=where.document,
        path=first_path,
        allowed=first_allowed,
    )


# -- from documents to specs ------------------------------------------------------------


@dataclass(frozen=True)
class _SLITemplate:
    """An indicator before the objective supplies ``op``/``value`` (threshold metrics)."""

    name: str | None
    body: _SLIBody
    where: _Where
    path: str


def _source_set(
    parts: Sequence[tuple[_RatioQuery | _ThresholdQuery, str]], where: _Where
) -> tuple[str, ...]:
    """The outcome sources of an indicator (most trusted first); all sides must agree."""
    given: dict[tuple[str, ...], str] = {}
    for query, path in parts:
        if query.sources is not None:
            ordered = tuple(s for s in OUTCOME_SOURCES if s in query.sources)
            given.setdefault(ordered, f"{path}.sources")
    if len(given) > 1:
        paths = list(given.values())
        raise where.error(
            paths[0],
            f"{' and '.join(paths)} differ; good and total must count the same outcome sources",
        )
    return next(iter(given), TRUSTED_SOURCES)


#: The total counted when ``ratioMetric.total`` is omitted, by the good (or bad) query:
#: the runs on which that query can be decided, so undecided runs never count as bad.
_DEFAULT_TOTAL: Final[dict[str, str]] = {
    "success": "verified",
    "failure": "verified",
    "verified": "runs",
    "runs": "runs",
    "finished": "runs",
    "ok": "finished",
    "errored": "finished",
    "duration": "duration_known",
    "duration_known": "runs",
    "cost": "cost_known",
    "cost_known": "runs",
    # a finding query: every run, limited by the evaluator to the runs its detector analysed
    **dict.fromkeys(FINDING_RATES, "runs"),
}


def _ratio_query(spec: _RatioQuery) -> MetricQuery:
    flt = spec.filter.as_mapping() if spec.filter else {}
    if spec.query == "duration_below":
        return MetricQuery("duration", "lte", spec.threshold, flt)
    if spec.query == "cost_below":
        return MetricQuery("cost", "lte", spec.threshold, flt)
    if spec.query == "duration_known":
        return MetricQuery("duration_known", "lte", spec.threshold, flt)
    return MetricQuery(spec.query, None, None, flt)


def _default_total(side: MetricQuery) -> MetricQuery:
    query = _DEFAULT_TOTAL[side.query]
    if query == "duration_known":
        return MetricQuery(query, side.op, side.threshold, side.filter)
    return MetricQuery(query, None, None, side.filter)


def _ratio_indicator(template: _SLITemplate, metric: _RatioMetric) -> Indicator:
    where, base = template.where, f"{template.path}.ratioMetric"
    if metric.good is not None and metric.bad is None:
        part, side_name = metric.good, "good"
    elif metric.bad is not None and metric.good is None:
        part, side_name = metric.bad, "bad"
    else:
        raise where.error(base, "give exactly one of good and bad (with total)", ["good", "bad"])
    side_spec = part.metric_source.spec
    side_path = f"{base}.{side_name}.metricSource.spec"
    parts: list[tuple[_RatioQuery | _ThresholdQuery, str]] = [(side_spec, side_path)]
    if side_name == "good" and side_spec.query in FINDING_QUERIES:
        raise where.error(
            f"{side_path}.query",
            f"{side_spec.query!r} counts runs with a finding, which are bad runs: put it "
            f"under ratioMetric.bad (bad: {{metricSource: {{type: agentslo, spec: {{query: "
            f"{side_spec.query}}}}}}}); good runs are then the analysed runs without one",
        )
    side = _ratio_query(side_spec)
    if metric.total is not None:
        total_spec = metric.total.metric_source.spec
        total_path = f"{base}.total.metricSource.spec"
        if total_spec.query in FINDING_QUERIES:
            allowed = [q for q in RATIO_QUERIES if q not in FINDING_QUERIES]
            raise where.error(
                f"{total_path}.query",
                f"{total_spec.query!r} is a finding query and belongs under ratioMetric.bad; "
                "the total of a finding-rate SLO is always limited to the runs the detector "
                "analysed (omit total, or narrow it with one of the run queries)",
                allowed,
            )
        parts.append((total_spec, total_path))
        total = _ratio_query(total_spec)
    else:
        total = _default_total(side)
    sources = _source_set(parts, where)
    good, bad = (side, None) if side_name == "good" else (None, side)
    return Indicator(template.name, "ratio", total, good, bad, sources)


def _threshold_indicator(
    template: _SLITemplate,
    metric: _ThresholdMetric,
    objective: _Objective,
    where: _Where,
    path: str,
) -> Indicator:
    spec = metric.metric_source.spec
    if objective.op is None or objective.value is None:
        missing = "op" if objective.op is None else "value"
        raise where.error(
            f"{path}.{missing}",
            "a thresholdMetric objective needs op and value, e.g. op: lte, value: 30s",
            list(THRESHOLD_OPS) if missing == "op" else [],
        )
    try:
        if spec.query == "duration":
            threshold = _duration_seconds(objective.value, "value")
        else:
            threshold = _cost(objective.value, "value")
    except ValueError as exc:
        raise where.error(f"{path}.value", str(exc)) from None
    flt = spec.filter.as_mapping() if spec.filter else {}
    good = MetricQuery(spec.query, objective.op, threshold, flt)
    sources = _source_set([(spec, f"{template.path}.thresholdMetric.metricSource.spec")], where)
    return Indicator(template.name, "threshold", _default_total(good), good, None, sources)


def _check_body(template: _SLITemplate) -> None:
    body, where = template.body, template.where
    if (body.ratio_metric is None) == (body.threshold_metric is None):
        raise where.error(
            template.path,
            "an indicator needs exactly one of ratioMetric and thresholdMetric",
            ["ratioMetric", "thresholdMetric"],
        )
    if body.ratio_metric is not None:
        _ratio_indicator(template, body.ratio_metric)


def _objective_indicator(
    template: _SLITemplate, objective: _Objective, where: _Where, path: str
) -> Indicator:
    """The indicator of one objective (a thresholdMetric takes op/value from it)."""
    threshold, ratio = template.body.threshold_metric, template.body.ratio_metric
    if threshold is not None:
        return _threshold_indicator(template, threshold, objective, where, path)
    for name in ("op", "value"):
        if getattr(objective, name) is not None:
            raise where.error(
                f"{path}.{name}",
                "op and value apply to thresholdMetric indicators only; for a ratioMetric "
                "put the threshold in the metric source (query: duration_below, "
                "threshold: 30s)",
            )
    if ratio is None:
        raise where.error(
            template.path,
            "an indicator needs exactly one of ratioMetric and thresholdMetric",
            ["ratioMetric", "thresholdMetric"],
        )
    return _ratio_indicator(template, ratio)


def _time_slices(
    objective: _Objective, method: str, window: timedelta, where: _Where, path: str
) -> tuple[float | None, timedelta | None]:
    if method == "Occurrences":
        for name, value in (
            ("timeSliceTarget", objective.time_slice_target),
            ("timeSliceWindow", objective.time_slice_window),
        ):
            if value is not None:
                raise where.error(
                    f"{path}.{name}", "applies to budgetingMethod: Timeslices only; remove it"
                )
        return None, None
    if objective.time_slice_target is None:
        raise where.error(
            f"{path}.timeSliceTarget",
            "Timeslices needs timeSliceTarget, the good-run ratio that makes a slice good "
            "(e.g. 0.95)",
        )
    if objective.time_slice_window is None:
        raise where.error(f"{path}.timeSliceWindow", "Timeslices needs timeSliceWindow, e.g. 5m")
    try:
        seconds = _duration_seconds(objective.time_slice_window, "timeSliceWindow")
    except ValueError as exc:
        raise where.error(f"{path}.timeSliceWindow", str(exc)) from None
    slice_window = timedelta(seconds=seconds)
    if slice_window > window or window % slice_window:
        raise where.error(
            f"{path}.timeSliceWindow",
            f"{format_duration(slice_window)} must divide the window "
            f"{format_duration(window)} into whole slices (e.g. 1m, 5m, 1h)",
        )
    return objective.time_slice_target, slice_window


def _objective_target(objective: _Objective, where: _Where, path: str) -> float:
    if objective.target is not None and objective.target_percent is None:
        return objective.target
    if objective.target_percent is not None and objective.target is None:
        return objective.target_percent / 100
    raise where.error(
        f"{path}.target",
        "give exactly one of target (a fraction in (0, 1), e.g. 0.99) and targetPercent",
        ["target", "targetPercent"],
    )


def _slo_specs(doc: _SLODocument, where: _Where, slis: Mapping[str, _SLITemplate]) -> list[SLOSpec]:
    body = doc.spec
    if body.indicator is not None and body.indicator_ref is None:
        name = body.indicator.metadata.name if body.indicator.metadata else None
        template = _SLITemplate(name, body.indicator.spec, where, "spec.indicator.spec")
        _check_body(template)
    elif body.indicator_ref is not None and body.indicator is None:
        if body.indicator_ref not in slis:
            raise where.error(
                "spec.indicatorRef",
                f"no SLI document named {body.indicator_ref!r} in the files given",
                sorted(slis),
            )
        template = slis[body.indicator_ref]
    else:
        raise where.error(
            "spec",
            "an SLO needs exactly one of indicator (an inline SLI) and indicatorRef "
            "(the name of an SLI document)",
            ["indicator", "indicatorRef"],
        )
    window_spec = body.time_window[0]
    if not window_spec.is_rolling or window_spec.calendar is not None:
        raise where.error(
            "spec.timeWindow[0].isRolling",
            "calendar-aligned windows are not supported; use a rolling window "
            "(isRolling: true, no calendar)",
        )
    window = window_spec.duration
    specs = []
    for index, objective in enumerate(body.objectives):
        path = f"spec.objectives[{index}]"
        target = _objective_target(objective, where, path)
        slice_target, slice_window = _time_slices(
            objective, body.budgeting_method, window, where, path
        )
        indicator = _objective_indicator(template, objective, where, path)
        specs.append(
            SLOSpec(
                name=doc.metadata.name,
                display_name=doc.metadata.display_name or doc.metadata.name,
                objective=objective.display_name or f"objective {index}",
                objective_index=index,
                target=target,
                window=window,
                budgeting_method=body.budgeting_method,
                indicator=indicator,
                time_slice_target=slice_target,
                time_slice_window=slice_window,
                description=body.description,
                service=body.service,
                source=where.file,
            )
        )
    return specs


# -- files ---------------------------------------------------------------------------


def _files(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
            if not found:
                raise SLOSpecError(
                    f"{path}: no *.yaml or *.yml files in this folder", file=str(path)
                )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise SLOSpecError(
                f"{path}: no such file; give OpenSLO YAML files (or folders of them)",
                file=str(path),
            )
    return files


def _documents(path: Path) -> Iterator[tuple[_Where, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SLOSpecError(f"{path}: cannot read the file ({exc})", file=str(path)) from exc
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SLOSpecError(f"{path}: {at}invalid YAML: {problem}", file=str(path)) from exc
    for index, raw in enumerate(documents, start=1):
        if raw is None:
            continue
        label = ""
        if isinstance(raw, dict):
            name = (
                (raw.get("metadata") or {}).get("name")
                if isinstance(raw.get("metadata"), dict)
                else None
            )
            label = f"{raw.get('kind', '?')} {name!r}" if name else str(raw.get("kind", ""))
        yield _Where(str(path), index, label), raw


def _kind(raw: Any, where: _Where) -> str:
    if not isinstance(raw, dict):
        raise where.error("", f"expected a mapping (an OpenSLO document), got {raw!r}")
    if raw.get("apiVersion") != _API_VERSION:
        problem = (
            "required field is missing"
            if "apiVersion" not in raw
            else f"{raw['apiVersion']!r} is not allowed"
        )
        raise where.error("apiVersion", problem, [_API_VERSION])
    kind = raw.get("kind")
    if kind not in _KINDS:
        problem = "required field is missing" if kind is None else f"{kind!r} is not allowed"
        raise where.error("kind", problem, list(_KINDS))
    return str(kind)


def load_slos(paths: Sequence[str | os.PathLike[str]]) -> list[SLOSpec]:
    """Read OpenSLO v1 files (or folders of ``*.yaml``) into one ``SLOSpec`` per objective.

    ``indicatorRef`` resolves against the ``SLI`` documents of all the files given.
    Raises ``SLOSpecError`` (a ``ValueError``) naming the file, the document, the
    path in it and the allowed fields or values.
    """
    slo_docs: list[tuple[_Where, _SLODocument]] = []
    slis: dict[str, _SLITemplate] = {}
    files = _files(paths)
    for path in files:
        for where, raw in _documents(path):
            kind = _kind(raw, where)
            if kind == "SLO":
                try:
                    slo_docs.append((where, _SLODocument.model_validate(raw)))
                except ValidationError as exc:
                    raise _validation_error(exc, _SLODocument, where) from None
            elif kind == "SLI":
                try:
                    sli = _SLIDocument.model_validate(raw)
                except ValidationError as exc:
                    raise _validation_error(exc, _SLIDocument, where) from None
                name = sli.metadata.name
                if name in slis:
                    other = slis[name].where
                    raise where.error(
                        "metadata.name",
                        f"SLI {name!r} is already defined in {other.file} document "
                        f"{other.document}; SLI names must be unique",
                    )
                template = _SLITemplate(name, sli.spec, where, "spec")
                _check_body(template)
                slis[name] = template
    specs: list[SLOSpec] = []
    seen: dict[str, _Where] = {}
    for where, doc in slo_docs:
        name = doc.metadata.name
        if name in seen:
            other = seen[name]
            raise where.error(
                "metadata.name",
                f"SLO {name!r} is already defined in {other.file} document {other.document}; "
                "SLO names must be unique",
            )
        seen[name] = where
        specs.extend(_slo_specs(doc, where, slis))
    if not specs:
        shown = ", ".join(str(p) for p in files)
        raise SLOSpecError(
            f"{shown}: no SLO documents found (an SLO document has apiVersion: openslo/v1 "
            "and kind: SLO)",
            file=str(files[0]) if files else "",
        )
    return specs
