"""Semantic-convention mapping: OpenTelemetry spans -> agentslo span rows and outcomes.

Three dialects are read, per attribute, whichever the span carries:

- OpenTelemetry GenAI, v1.36/v1.37 (what today's frameworks emit) and the latest
  experimental form: ``gen_ai.operation.name`` (``invoke_agent``, ``create_agent``,
  ``invoke_workflow``, ``execute_tool``, ``chat``, ``text_completion``,
  ``generate_content``, ``embeddings``), ``gen_ai.agent.*``, ``gen_ai.request.model``
  / ``gen_ai.response.model``, ``gen_ai.provider.name`` (``gen_ai.system`` before),
  ``gen_ai.usage.input_tokens`` / ``output_tokens`` (``prompt_tokens`` /
  ``completion_tokens`` before), the cache and reasoning variants,
  ``gen_ai.tool.*``, ``error.type``;
- OpenInference: ``openinference.span.kind``, ``llm.model_name``,
  ``llm.token_count.*``, ``llm.cost.*``, ``session.id``, ``user.id``,
  ``agent.name``, ``tool.name``, ``input.value`` / ``output.value``;
- agentslo's own: ``agentslo.outcome`` + ``agentslo.outcome.source`` (and
  ``.score``, ``.evaluator``), ``agentslo.environment``, ``agentslo.task.id``,
  ``agentslo.team``, ``agentslo.suite``, ``agentslo.trial``, ``agentslo.agent.version``.

The full table is in ``docs/serve.md``. Message contents (prompts, completions,
tool arguments and results) are dropped unless :class:`MappingOptions` says to
capture them, and then pass through the redactor first.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from agentslo.ingest.otlp import OtlpReject, OtlpSpan
from agentslo.ingest.prices import PriceTable
from agentslo.ingest.redact import Redactor

__all__ = [
    "COMPILED",
    "CONTENT_ATTRIBUTES",
    "MappedBatch",
    "MappingOptions",
    "RunHints",
    "map_spans",
    "outcome_label",
]

_MAX_NAME: Final = 512
_NS_PER_US: Final = 1000
#: Earliest accepted start time (2000-01-01): earlier values are unset clocks.
_MIN_START_NS: Final = 946_684_800 * 10**9

#: gen_ai.operation.name -> span kind.
_OPERATION_KINDS: Final[dict[str, str]] = {
    "invoke_agent": "agent",
    "invoke_workflow": "agent",
    "create_agent": "other",
    "execute_tool": "tool",
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "embeddings": "llm",
    "handoff": "handoff",
    # The OpenAI Agents SDK's instrumentation (opentelemetry-instrumentation-openai-agents-v2).
    "agent_handoff": "handoff",
}
#: openinference.span.kind -> span kind.
_OPENINFERENCE_KINDS: Final[dict[str, str]] = {
    "AGENT": "agent",
    "CHAIN": "chain",
    "LLM": "llm",
    "TOOL": "tool",
    "RETRIEVER": "tool",
    "EMBEDDING": "llm",
    "RERANKER": "tool",
    "GUARDRAIL": "chain",
    "EVALUATOR": "other",
    "PROMPT": "other",
}

_AGENT_NAME: Final = ("gen_ai.agent.name", "agent.name", "agent_name", "graph.node.id")
_MODEL: Final = ("gen_ai.response.model", "gen_ai.request.model", "llm.model_name", "model_name")
_PROVIDER: Final = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
_TOOL: Final = ("gen_ai.tool.name", "tool.name", "tool_name")
_INPUT_TOKENS: Final = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "gen_ai.aggregated_usage.input_tokens",
)
_OUTPUT_TOKENS: Final = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "gen_ai.aggregated_usage.output_tokens",
)
_CACHE_READ: Final = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "gen_ai.usage.cached_input_tokens",
    "llm.token_count.prompt_details.cache_read",
)
_CACHE_WRITE: Final = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
)
_REASONING: Final = (
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
)
_COST: Final = ("agentslo.cost_usd", "llm.cost.total", "gen_ai.usage.cost")
_COST_PARTS: Final = ("llm.cost.prompt", "llm.cost.completion")
_USER: Final = ("user.id", "enduser.id", "gen_ai.user.id")
_VERSION: Final = ("gen_ai.agent.version", "agentslo.agent.version", "agent.version")
_CONVERSATION: Final = ("gen_ai.conversation.id", "session.id")

#: Attributes that carry message contents: dropped unless contents are captured.
CONTENT_ATTRIBUTES: Final = frozenset(
    {
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.prompt",
        "gen_ai.completion",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
        "gen_ai.tool.definitions",
        "input.value",
        "output.value",
        "pydantic_ai.all_messages",
        "all_messages_events",
        "final_result",
        "tool_arguments",
        "tool_response",
        "events",
    }
)
_CONTENT_PREFIXES: Final = (
    "llm.input_messages",
    "llm.output_messages",
    "llm.prompts",
    "gen_ai.prompt.",
    "gen_ai.completion.",
)
_CONTENT_EVENTS: Final = (
    "gen_ai.content.",
    "gen_ai.user.message",
    "gen_ai.system.message",
    "gen_ai.assistant.message",
    "gen_ai.tool.message",
    "gen_ai.choice",
    "gen_ai.client.inference.operation.details",
)
_INPUT_TEXT: Final = (
    "gen_ai.input.messages",
    "input.value",
    "gen_ai.tool.call.arguments",
    "gen_ai.prompt",
    "tool_arguments",
)
_OUTPUT_TEXT: Final = (
    "gen_ai.output.messages",
    "output.value",
    "gen_ai.tool.call.result",
    "gen_ai.completion",
    "tool_response",
    "final_result",
)

_OUTCOME_WORDS: Final[dict[str, str]] = {
    "success": "success",
    "succeeded": "success",
    "pass": "success",
    "passed": "success",
    "true": "success",
    "correct": "success",
    "yes": "success",
    "resolved": "success",
    "failure": "failure",
    "fail": "failure",
    "failed": "failure",
    "false": "failure",
    "incorrect": "failure",
    "no": "failure",
    "error": "failure",
    "unresolved": "failure",
    "partial": "partial",
    "partially_correct": "partial",
}
_SOURCES: Final = frozenset({"verified", "human", "judge", "claimed"})
#: Kinds whose token counts are priced as model calls (a tool's are not).
_PRICED: Final = frozenset({"llm", "agent", "other", "chain"})
_ENVIRONMENTS: Final = frozenset({"production", "trial", "benchmark"})
_JSON: Final = json.JSONEncoder(separators=(",", ":"), sort_keys=True, default=str)


def outcome_label(value: Any) -> str | None:
    """``success`` / ``failure`` / ``partial`` for the words evaluators use, else None."""
    if isinstance(value, bool):
        return "success" if value else "failure"
    if not isinstance(value, str):
        return None
    return _OUTCOME_WORDS.get(value.strip().lower())


@dataclass(frozen=True)
class MappingOptions:
    """How spans become rows: project, contents, prices, clock skew allowed."""

    project: str = "default"
    capture_content: bool = False
    redactor: Redactor | None = None
    prices: PriceTable | None = None
    #: Spans starting later than now + this are refused (a broken clock, not data).
    max_future_s: float = 3600.0
    #: "Now" for that check, in ns since the epoch (None: the clock). A journal
    #: replay passes the time the request arrived, so that it refuses what the
    #: answer refused, whenever it runs.
    now_ns: int | None = None


@dataclass(slots=True)
class RunHints:
    """What an agent span says about the run it may be the root of."""

    version: str | None = None
    user: str | None = None
    team: str | None = None
    environment: str = "production"
    task_id: str | None = None
    suite: str | None = None
    trial: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class MappedBatch:
    """The rows of one request: span columns, outcome rows, hints, and what was refused."""

    spans: dict[str, list[Any]]
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    hints: dict[int, RunHints] = field(default_factory=dict)
    rejects: list[OtlpReject] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def span_count(self) -> int:
        return len(self.spans["span_id"])


_SPAN_COLUMNS: Final = (
    "project",
    "trace_id",
    "span_id",
    "parent_span_id",
    "run_id",
    "name",
    "kind",
    "agent",
    "tool",
    "model",
    "started_at",
    "ended_at",
    "status",
    "error_type",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "input_text",
    "output_text",
    "attributes",
    "events",
)


def _first(attrs: dict[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return value
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text[:_MAX_NAME] if text else None


class _Problems:
    """Warnings about attribute values that were ignored, deduplicated per request."""

    def __init__(self) -> None:
        self.seen: dict[str, None] = {}

    def add(self, message: str) -> None:
        if len(self.seen) < 20:
            self.seen[message] = None


def _count(attrs: dict[str, Any], keys: Sequence[str], problems: _Problems) -> int | None:
    for key in keys:
        value = attrs.get(key)
        if value is None:
            continue
        if isinstance(value, bool):
            problems.add(f"attribute {key!r} must be a non-negative integer, got a boolean")
            continue
        if isinstance(value, int):
            number = value
        elif (isinstance(value, float) and value.is_integer()) or (
            # isdecimal, not isdigit: '²' is a digit that int() refuses.
            isinstance(value, str) and value.strip().isdecimal()
        ):
            number = int(value)
        else:
            problems.add(f"attribute {key!r} must be a non-negative integer, got {value!r:.40}")
            continue
        if number < 0 or number > 2**53:
            problems.add(f"attribute {key!r} is out of range ({number}); ignored")
            continue
        return number
    return None


def _amount(attrs: dict[str, Any], key: str, problems: _Problems) -> float | None:
    value = attrs.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        problems.add(f"attribute {key!r} must be a number, got {value!r:.40}")
        return None
    try:
        number = float(value)
    except ValueError:
        problems.add(f"attribute {key!r} must be a number, got {value!r:.40}")
        return None
    if not (0.0 <= number < 1e9):
        problems.add(f"attribute {key!r} must be a non-negative amount, got {value!r:.40}")
        return None
    return number


def _kind(span: OtlpSpan, attrs: dict[str, Any], shape: _Shape) -> str:
    operation = attrs.get("gen_ai.operation.name")
    if isinstance(operation, str):
        kind = _OPERATION_KINDS.get(operation)
        if kind is not None:
            if kind == "tool" and _is_handoff_tool(attrs, shape):
                return "handoff"
            return kind
    oi_kind = attrs.get("openinference.span.kind")
    if isinstance(oi_kind, str):
        kind = _OPENINFERENCE_KINDS.get(oi_kind.upper())
        if kind is not None:
            if kind == "tool" and _is_handoff_tool(attrs, shape):
                return "handoff"
            return kind
    name = span.name.lower()
    if name.startswith(("handoff", "transfer_to_")):
        return "handoff"
    if name.startswith(("invoke_agent", "agent run")):
        return "agent"
    if name.startswith(("execute_tool", "running tool")):
        return "tool"
    if _first(attrs, shape.model) is not None or _first(attrs, shape.kind_tokens) is not None:
        return "llm"
    return "other"


def _is_handoff_tool(attrs: dict[str, Any], shape: _Shape) -> bool:
    tool = _first(attrs, shape.tool)
    return isinstance(tool, str) and tool.startswith(("transfer_to_", "handoff_to_"))


def _agent_name(span: OtlpSpan, attrs: dict[str, Any], kind: str, shape: _Shape) -> str | None:
    # A hand-off belongs to the agent handing over, whatever agent label the span carries.
    name = attrs.get("gen_ai.handoff.from_agent") if kind == "handoff" else None
    name = name or _first(attrs, shape.agent) or attrs.get("gen_ai.workflow.name")
    if name is None and kind == "agent":
        words = span.name.split(" ", 1)
        name = words[1] if len(words) == 2 and words[0] == "invoke_agent" else span.name
    return _text(name)


def _status(span: OtlpSpan, error_type: str | None) -> str:
    if span.status_code == 2 or error_type:
        lowered = (error_type or span.status_message or "").lower()
        if "timeout" in lowered or "timedout" in lowered:
            return "timeout"
        if "cancel" in lowered:
            return "cancelled"
        return "error"
    return "ok" if span.status_code == 1 else "unset"


def _is_content(key: str) -> bool:
    return key in CONTENT_ATTRIBUTES or key.startswith(_CONTENT_PREFIXES)


def _content_text(value: Any) -> str:
    return value if isinstance(value, str) else _JSON.encode(value)


class _Shape:
    """What the mapping needs to know of one set of attribute keys.

    Spans from one instrumentation carry the same keys span after span, so the
    keys of each role (model, tokens, cost, ...) that a span has, and whether any
    key holds message contents, are worked out once per key set and reused: the
    mapping then looks up only keys that are there.
    """

    __slots__ = (
        "agent",
        "cache_read",
        "cache_write",
        "content",
        "cost",
        "cost_parts",
        "input_tokens",
        "kind_tokens",
        "model",
        "outcome",
        "output_tokens",
        "reasoning",
        "tool",
    )

    def __init__(self, keys: tuple[str, ...]) -> None:
        present = set(keys)

        def having(candidates: Sequence[str]) -> tuple[str, ...]:
            return tuple(k for k in candidates if k in present)

        self.agent = having(_AGENT_NAME)
        self.model = having(_MODEL)
        self.tool = having(_TOOL)
        self.input_tokens = having(_INPUT_TOKENS)
        self.output_tokens = having(_OUTPUT_TOKENS)
        self.kind_tokens = having(_INPUT_TOKENS[:3])
        self.cache_read = having(_CACHE_READ)
        self.cache_write = having(_CACHE_WRITE)
        self.reasoning = having(_REASONING)
        self.cost = having(_COST)
        self.cost_parts = having(_COST_PARTS)
        self.content = any(_is_content(k) for k in keys)
        self.outcome = "agentslo.outcome" in present


_ORJSON_OPTIONS: Final = orjson.OPT_SORT_KEYS


def _attributes_json(attrs: dict[str, Any]) -> str:
    """``attrs`` as compact JSON with sorted keys.

    orjson writes it about ten times faster than the standard library (0.7 µs
    against 7 µs for a model call's ten attributes, measured), which is a fifth of
    a decode worker's time per span. Text is kept as UTF-8 rather than escaped, and
    a NaN or infinite number becomes ``null`` (valid JSON, where the standard
    library writes ``NaN``). What orjson refuses (integers beyond 64 bits) is
    written by the standard library.
    """
    try:
        return orjson.dumps(attrs, option=_ORJSON_OPTIONS, default=str).decode()
    except orjson.JSONEncodeError:
        return _JSON.encode(attrs)


_SHAPES: dict[tuple[str, ...], _Shape] = {}
_MAX_SHAPES: Final = 4096


def _shape(attrs: dict[str, Any]) -> _Shape:
    keys = tuple(attrs)
    shape = _SHAPES.get(keys)
    if shape is None:
        shape = _Shape(keys)
        if len(_SHAPES) >= _MAX_SHAPES:
            _SHAPES.clear()
        _SHAPES[keys] = shape
    return shape


class _Mapper:
    def __init__(self, options: MappingOptions) -> None:
        self.o = options
        self.now_ns = time.time_ns() if options.now_ns is None else options.now_ns
        self.problems = _Problems()

    def contents(
        self, attrs: dict[str, Any], keys: Sequence[str], shape: _Shape
    ) -> tuple[str | None, dict[str, Any]]:
        """(the first content text among ``keys``, attributes to store)."""
        if not shape.content:
            return None, dict(attrs)
        kept: dict[str, Any] = {}
        text: str | None = None
        for key, value in attrs.items():
            if not _is_content(key):
                kept[key] = value
            elif self.o.capture_content:
                redacted = self._redact(_content_text(value))
                kept[key] = redacted
                if text is None and key in keys:
                    text = redacted
        return text, kept

    def _redact(self, text: str) -> str:
        return self.o.redactor(text) if self.o.redactor is not None else text

    def events(self, span: OtlpSpan) -> list[dict[str, Any]]:
        out = []
        for name, time_ns, attrs in span.events:
            if name.startswith(_CONTENT_EVENTS):
                if not self.o.capture_content:
                    continue
                attrs = {k: self._redact(_content_text(v)) for k, v in attrs.items()}
            else:
                attrs = {
                    k: (self._redact(_content_text(v)) if _is_content(k) else v)
                    for k, v in attrs.items()
                    if self.o.capture_content or not _is_content(k)
                }
            out.append({"name": name, "time_unix_nano": time_ns, "attributes": attrs})
        return out

    def cost(
        self,
        attrs: dict[str, Any],
        model: Any,
        tokens: tuple[Any, Any],
        shape: _Shape,
        *,
        priced: bool = True,
    ) -> float | None:
        """The span's own cost attribute, else (when ``priced``) tokens at the model's price."""
        for key in shape.cost:
            amount = _amount(attrs, key, self.problems)
            if amount is not None:
                return amount
        if shape.cost_parts:
            parts = [_amount(attrs, k, self.problems) for k in shape.cost_parts]
            if any(p is not None for p in parts):
                return sum(p or 0.0 for p in parts)
        if not priced or self.o.prices is None or (tokens[0] is None and tokens[1] is None):
            return None
        price = self.o.prices.lookup(model if isinstance(model, str) else None)
        if price is None:
            return None
        return price.cost(
            tokens[0],
            tokens[1],
            _count(attrs, shape.cache_read, self.problems) if shape.cache_read else None,
            _count(attrs, shape.cache_write, self.problems) if shape.cache_write else None,
        )

    def hints(self, attrs: dict[str, Any], resource: dict[str, Any]) -> RunHints:
        merged = {**resource, **attrs}
        environment = merged.get("agentslo.environment")
        if environment is not None and (
            not isinstance(environment, str) or environment not in _ENVIRONMENTS
        ):
            self.problems.add(
                f"attribute 'agentslo.environment' must be one of "
                f"{', '.join(sorted(_ENVIRONMENTS))}, got {environment!r:.40}; used production"
            )
            environment = None
        trial = _count(merged, ("agentslo.trial",), self.problems)
        extra = {
            "conversation_id": _first(merged, _CONVERSATION),
            "provider": _first(merged, _PROVIDER),
            "service.name": merged.get("service.name"),
            "deployment.environment": _first(
                merged, ("deployment.environment.name", "deployment.environment")
            ),
            "agent.id": merged.get("gen_ai.agent.id"),
        }
        return RunHints(
            version=_text(_first(merged, _VERSION) or resource.get("service.version")),
            user=_text(_first(merged, _USER)),
            team=_text(merged.get("agentslo.team")),
            environment=str(environment or "production"),
            task_id=_text(merged.get("agentslo.task.id")),
            suite=_text(merged.get("agentslo.suite")),
            trial=trial,
            attributes={k: v for k, v in extra.items() if v is not None},
        )

    def outcomes(self, span: OtlpSpan, attrs: dict[str, Any], end_us: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        raw = attrs.get("agentslo.outcome")
        if raw is not None:
            label = outcome_label(raw)
            source = attrs.get("agentslo.outcome.source", "claimed")
            if label is None:
                self.problems.add(
                    f"attribute 'agentslo.outcome' must be success, failure or partial, "
                    f"got {raw!r:.40}; ignored"
                )
            elif not isinstance(source, str) or source not in _SOURCES:
                self.problems.add(
                    f"attribute 'agentslo.outcome.source' must be one of "
                    f"{', '.join(sorted(_SOURCES))}, got {source!r:.40}; outcome ignored"
                )
            else:
                score = _amount(attrs, "agentslo.outcome.score", self.problems)
                found.append(
                    self.outcome(
                        span,
                        "attr",
                        label,
                        str(source),
                        score,
                        _text(attrs.get("agentslo.outcome.evaluator")),
                        end_us,
                        None,
                    )
                )
        for index, (name, time_ns, event_attrs) in enumerate(span.events):
            if name != "gen_ai.evaluation.result":
                continue
            label = outcome_label(event_attrs.get("gen_ai.evaluation.score.label"))
            score = _amount(event_attrs, "gen_ai.evaluation.score.value", self.problems)
            if label is None:
                self.problems.add(
                    "event 'gen_ai.evaluation.result' without a pass/fail "
                    "'gen_ai.evaluation.score.label'; ignored"
                )
                continue
            source = event_attrs.get("agentslo.outcome.source", "judge")
            if not isinstance(source, str) or source not in _SOURCES:
                source = "judge"
            evidence = {
                k: v
                for k, v in (
                    ("explanation", event_attrs.get("gen_ai.evaluation.explanation")),
                    ("score_label", event_attrs.get("gen_ai.evaluation.score.label")),
                )
                if v is not None
            }
            found.append(
                self.outcome(
                    span,
                    f"event{index}",
                    label,
                    str(source),
                    score if score is not None and score <= 1.0 else None,
                    _text(event_attrs.get("gen_ai.evaluation.name")),
                    (time_ns // _NS_PER_US) if time_ns else end_us,
                    evidence or None,
                )
            )
        return found

    def outcome(
        self,
        span: OtlpSpan,
        slot: str,
        label: str,
        source: str,
        score: float | None,
        evaluator: str | None,
        recorded_us: int,
        evidence: dict[str, Any] | None,
    ) -> dict[str, Any]:
        key = f"{self.o.project}\x1f{span.trace_id}\x1f{span.span_id}\x1f{slot}"
        return {
            "project": self.o.project,
            "outcome_id": "otlp-" + hashlib.sha1(key.encode()).hexdigest(),
            "run_id": span.trace_id,
            "label": label,
            "score": score if score is None or score <= 1.0 else None,
            "source": source,
            "evaluator": evaluator,
            "recorded_at": recorded_us,
            "evidence": None if evidence is None else _JSON.encode(evidence),
        }


def _time_problem(span: OtlpSpan, now_ns: int, max_future_s: float) -> str | None:
    if span.start_ns <= 0:
        return "startTimeUnixNano is missing"
    if span.start_ns < _MIN_START_NS:
        return f"startTimeUnixNano {span.start_ns} is before 2000-01-01 (a clock not set?)"
    if span.start_ns > now_ns + int(max_future_s * 1e9):
        return (
            f"startTimeUnixNano {span.start_ns} is more than {max_future_s:g} s in the future; "
            "check the sender's clock"
        )
    if span.end_ns and span.end_ns < span.start_ns:
        return "endTimeUnixNano is before startTimeUnixNano"
    if span.end_ns > 2**63 - 1:
        return "endTimeUnixNano is out of range"
    return None


def map_spans(
    spans: Sequence[OtlpSpan],
    options: MappingOptions,
    rejects: Sequence[OtlpReject] = (),
    *,
    compiled: bool = True,
) -> MappedBatch:
    """Map decoded spans to span rows (column lists), outcomes and run hints.

    Times come out as integer microseconds since the epoch, for Arrow to take as
    ``timestamp('us')`` without a detour through ``datetime``.

    With the compiled mapping built (:data:`COMPILED`) and ``compiled`` left true,
    the spans of the common shape (no events, no message contents, no outcome or
    cost attributes) are mapped in C by ``agentslo.ingest._map_fast`` and the others
    by :func:`_add_span`, here; both give the same rows (a property test holds them
    equal). ``compiled=False`` maps every span here.
    """
    m = _Mapper(options)
    cols: dict[str, list[Any]] = {c: [] for c in _SPAN_COLUMNS}
    batch = MappedBatch(spans=cols, rejects=list(rejects))
    if compiled and _map_compiled is not None:
        _map_compiled(spans, m, batch)
    else:
        adders = tuple(cols[c].append for c in _SPAN_COLUMNS)
        for span in spans:
            _add_span(m, batch, adders, span)
    batch.warnings = list(m.problems.seen)
    return batch


def _add_span(
    m: _Mapper, batch: MappedBatch, adders: tuple[Callable[[Any], None], ...], span: OtlpSpan
) -> None:
    """Map one span into ``batch`` (``adders``: the append of each span column, in order)."""
    options = m.o
    problems = m.problems
    problem = _time_problem(span, m.now_ns, options.max_future_s)
    if problem is not None:
        batch.rejects.append(OtlpReject(f"span {span.span_id} ({span.name[:80]!r})", problem))
        return
    (
        add_project, add_trace, add_span, add_parent, add_run, add_name, add_kind, add_agent,
        add_tool, add_model, add_start, add_end, add_status, add_error, add_input, add_output,
        add_cost, add_input_text, add_output_text, add_attributes, add_events,
    ) = adders  # fmt: skip
    attrs = span.attributes
    shape = _shape(attrs)
    kind = _kind(span, attrs, shape)
    error_type = _text(attrs.get("error.type"))
    if error_type is None and span.status_code == 2:
        exc = next((a for n, _, a in span.events if n == "exception"), None)
        error_type = _text(exc.get("exception.type")) if exc else None
    model = _first(attrs, shape.model) if shape.model else None
    tokens = (
        _count(attrs, shape.input_tokens, problems) if shape.input_tokens else None,
        _count(attrs, shape.output_tokens, problems) if shape.output_tokens else None,
    )
    input_text, kept = m.contents(attrs, _INPUT_TEXT, shape)
    output_text: str | None = None
    if options.capture_content:
        output_text = next((kept[k] for k in _OUTPUT_TEXT if isinstance(kept.get(k), str)), None)
    if shape.reasoning:
        reasoning = _count(attrs, shape.reasoning, problems)
        if reasoning is not None:
            kept["agentslo.usage.reasoning_tokens"] = reasoning
    end_us = span.end_ns // _NS_PER_US if span.end_ns else None
    start_us = span.start_ns // _NS_PER_US
    if kind == "agent":
        batch.hints[len(batch.spans["span_id"])] = m.hints(attrs, span.resource)
    if shape.outcome or span.events:
        batch.outcomes.extend(m.outcomes(span, attrs, end_us or start_us))
    if span.scope:
        kept.setdefault("otel.scope.name", span.scope)
    service = span.resource.get("service.name")
    if service is not None:
        kept.setdefault("service.name", service)
    add_project(options.project)
    add_trace(span.trace_id)
    add_span(span.span_id)
    add_parent(span.parent_span_id)
    add_run(span.trace_id)
    add_name(span.name[:_MAX_NAME] or "(unnamed)")
    add_kind(kind)
    add_agent(_agent_name(span, attrs, kind, shape))
    add_tool(_text(_first(attrs, shape.tool)) if kind in ("tool", "handoff") else None)
    add_model(_text(model))
    add_start(start_us)
    add_end(end_us)
    add_status(_status(span, error_type))
    add_error(error_type)
    add_input(tokens[0])
    add_output(tokens[1])
    add_cost(m.cost(attrs, model, tokens, shape, priced=kind in _PRICED))
    add_input_text(input_text)
    add_output_text(output_text)
    add_attributes(_attributes_json(kept))
    add_events(_JSON.encode(m.events(span)) if span.events else "[]")


_map_compiled: Callable[[Sequence[OtlpSpan], _Mapper, MappedBatch], int] | None
try:
    from agentslo.ingest._map_fast import map_spans_into as _map_compiled
except ImportError:  # no C compiler at install: every span is mapped by _add_span
    _map_compiled = None

#: Whether the compiled mapping of common spans is in use (see :func:`map_spans`).
COMPILED: Final = _map_compiled is not None
