"""The compiled mapping of plain spans (``_map_fast.pyx``) gives what semconv gives.

``map_spans`` maps plain spans in C when the extension is built and every other
span in Python; ``map_spans(..., compiled=False)`` maps all of them in Python. The
two must give equal batches (rows, hints, outcomes, refusals, warnings) for any
spans, which Hypothesis checks on spans drawn from the attributes the mapping
reads, with the values that take its odd branches (booleans, floats and digit
strings as token counts, empty names, hand-off tools, bad clocks, events).
"""

from __future__ import annotations

import importlib.util
import shutil
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentslo.ingest import semconv
from agentslo.ingest.otlp import OtlpSpan, decode_protobuf
from agentslo.ingest.prices import ModelPrice, PriceTable, load_prices
from agentslo.ingest.semconv import CONTENT_ATTRIBUTES, MappingOptions, map_spans

needs_compiled = pytest.mark.skipif(
    not semconv.COMPILED, reason="the compiled mapping is not built (no C compiler)"
)

NOW = time.time_ns()

#: Every attribute key some mapping rule reads, and a few it does not.
_KEYS = sorted(
    {
        *semconv._AGENT_NAME,
        *semconv._MODEL,
        *semconv._PROVIDER,
        *semconv._TOOL,
        *semconv._INPUT_TOKENS,
        *semconv._OUTPUT_TOKENS,
        *semconv._CACHE_READ,
        *semconv._CACHE_WRITE,
        *semconv._REASONING,
        *semconv._COST,
        *semconv._COST_PARTS,
        *semconv._USER,
        *semconv._VERSION,
        *semconv._CONVERSATION,
        "gen_ai.operation.name",
        "openinference.span.kind",
        "gen_ai.handoff.from_agent",
        "gen_ai.workflow.name",
        "gen_ai.agent.id",
        "error.type",
        "agentslo.outcome",
        "agentslo.outcome.source",
        "agentslo.environment",
        "agentslo.trial",
        "agentslo.team",
        "agentslo.task.id",
        "agentslo.suite",
        "deployment.environment.name",
        "service.name",
        "http.method",
        "custom.flag",
        "llm.input_messages.0.message.content",
    }
    | set(list(CONTENT_ATTRIBUTES)[:4])
)

_WORDS = [
    "",
    "chat",
    "invoke_agent",
    "invoke_workflow",
    "execute_tool",
    "handoff",
    "agent_handoff",
    "embeddings",
    "create_agent",
    "AGENT",
    "llm",
    "Tool",
    "retriever",
    "transfer_to_billing",
    "handoff_to_sales",
    "lookup_order",
    "gpt-4o-mini",
    "gpt-4o-mini-2024-07-18",
    "claude-sonnet-4",
    "unknown-model",
    "support",
    "42",
    " 7 ",
    "-3",
    "TimeoutError",
    "cancelled",
    "success",
    "failure",
    "verified",
    "trial",
    "staging",
    "ünïcode ✓",
]

_VALUES = st.one_of(
    st.sampled_from(_WORDS),
    st.integers(min_value=-5, max_value=5000),
    st.sampled_from([0, 2**53, 2**53 + 1, 2**63 - 1, -(2**63), 2**64 + 5]),
    st.booleans(),
    st.sampled_from([0.0, 3.0, 2.5, -1.0, 1e12, float("nan"), float("inf")]),
    st.none(),
    st.lists(st.sampled_from(["a", 1, 2.0, True]), max_size=3),
    st.dictionaries(st.sampled_from(["k", "v"]), st.integers(0, 3), max_size=2),
    st.text(max_size=20),
)

_NAMES = st.one_of(
    st.sampled_from(
        [
            "",
            "chat gpt-4o-mini",
            "invoke_agent support",
            "invoke_agent",
            "Agent Run",
            "execute_tool lookup",
            "Running Tool x",
            "handoff",
            "transfer_to_billing",
            "GET /",
            "x" * 600,
        ]
    ),
    st.text(max_size=30),
)

_EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["exception", "gen_ai.evaluation.result", "gen_ai.choice", "log"]),
        st.sampled_from([0, NOW]),
        st.dictionaries(
            st.sampled_from(
                [
                    "exception.type",
                    "gen_ai.evaluation.score.label",
                    "gen_ai.evaluation.score.value",
                    "gen_ai.evaluation.name",
                    "gen_ai.input.messages",
                ]
            ),
            _VALUES,
            max_size=3,
        ),
    ),
    max_size=2,
)

_STARTS = st.sampled_from(
    [NOW - 10**9, NOW - 3600 * 10**9, 0, -5, 10**15, NOW + 10**13, 2**63 + 1, 2**64 - 1]
)


_PLAIN_VALUES = st.one_of(
    st.just(""),
    st.sampled_from(_WORDS),
    st.integers(0, 5000),
    st.sampled_from([2**53 - 1, 2**53, 2**53 + 1]),
)
#: The keys the mapping of a plain span reads, several per role, so that the order
#: of candidates matters.
_ROLE_KEYS = sorted(
    {
        *semconv._AGENT_NAME,
        *semconv._MODEL,
        *semconv._TOOL,
        *semconv._INPUT_TOKENS,
        *semconv._OUTPUT_TOKENS,
        *semconv._CACHE_READ,
        *semconv._CACHE_WRITE,
        *semconv._REASONING,
        "openinference.span.kind",
        "gen_ai.handoff.from_agent",
        "gen_ai.workflow.name",
        "error.type",
    }
)
#: Keys whose presence sends a span to the Python mapping.
_NOT_PLAIN = (*semconv._COST, *semconv._COST_PARTS, "agentslo.outcome", "llm.input_messages")


@st.composite
def _span(draw: st.DrawFn) -> OtlpSpan:
    # Half the spans have the common shape (valid times, no events, no contents,
    # outcome or cost attributes), so that both mappings are exercised often.
    plain = draw(st.booleans())
    start = draw(st.just(NOW - 10**9) if plain else _STARTS)
    ends = [0, start + 10**8] if plain else [0, start + 10**8, start - 1, 2**63, start + 1]
    end = draw(st.sampled_from(ends) if start > 0 else st.just(0))
    attrs = draw(
        st.dictionaries(st.sampled_from(_KEYS), _PLAIN_VALUES if plain else _VALUES, max_size=10)
    )
    if plain:
        attrs["gen_ai.operation.name"] = draw(
            st.sampled_from(["chat", "execute_tool", "invoke_agent", "handoff", "other"])
        )
        for key in list(attrs):
            if key in CONTENT_ATTRIBUTES or key.startswith(_NOT_PLAIN):
                del attrs[key]
    return OtlpSpan(
        trace_id=draw(st.sampled_from(["0af7651916cd43dd8448eb211c80319c", "ab" * 16])),
        span_id=draw(st.sampled_from(["b7ad6b7169203331", "00f067aa0ba902b7"])),
        parent_span_id=draw(st.sampled_from([None, "b7ad6b7169203331"])),
        name=draw(_NAMES),
        kind=draw(st.integers(0, 5)),
        start_ns=start,
        end_ns=end,
        attributes=attrs,
        resource=draw(
            st.dictionaries(
                st.sampled_from(["service.name", "service.version", "user.id", "agentslo.team"]),
                _VALUES,
                max_size=3,
            )
        ),
        scope=draw(st.sampled_from(["", "pydantic-ai", "bench"])),
        status_code=draw(st.sampled_from([0, 1, 2, 7])),
        status_message=draw(st.sampled_from(["", "Timeout waiting", "Cancelled", "boom"])),
        events=draw(_EVENTS) if not plain and draw(st.booleans()) else [],
    )


class _Text(str):
    """A str subclass (numpy.str_, say): the compiled mapping leaves it to Python."""


def _odd_types(span: OtlpSpan, which: int) -> OtlpSpan:
    """``span`` with one field of a type the decoders never build."""
    if which == 1:
        return _with(span, name=_Text(span.name))
    if which == 2:
        return _with(span, attributes=OrderedDict(span.attributes))
    if which == 3:
        return _with(span, resource=OrderedDict(span.resource))
    if which == 4:
        return _with(span, status_message=_Text(span.status_message))
    if which == 5:
        return _with(span, events=None)
    return span


_INT_PRICED = PriceTable({"gpt-4o-mini": ModelPrice(input=1, output=3)})  # type: ignore[arg-type]
_OPTIONS = st.builds(
    MappingOptions,
    project=st.sampled_from(["default", "team-a"]),
    capture_content=st.booleans(),
    prices=st.sampled_from([None, load_prices(), _INT_PRICED]),
    max_future_s=st.sampled_from([3600.0, 3600.0, 3600.0, 0.0, float("inf"), float("nan")]),
)


def _mapped(spans: list[OtlpSpan], options: MappingOptions, *, compiled: bool) -> Any:
    """The batch, or the type of what mapping raised (compared, not swallowed)."""
    try:
        return map_spans(spans, options, compiled=compiled)
    except Exception as exc:
        return type(exc)


@needs_compiled
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(_span(), st.sampled_from([0] * 10 + [1, 2, 3, 4, 5])), max_size=12),
    _OPTIONS,
)
def test_compiled_and_python_mappings_agree(
    drawn: list[tuple[OtlpSpan, int]], options: MappingOptions
) -> None:
    spans = [_odd_types(span, which) for span, which in drawn]
    compiled = _mapped(spans, options, compiled=True)
    python = _mapped(spans, options, compiled=False)
    assert compiled == python
    if isinstance(python, semconv.MappedBatch):
        # == takes 1 for True and 0.0 for -0.0: compare the rows' exact types and reprs.
        assert repr(compiled.spans) == repr(python.spans)


@needs_compiled
def test_plain_spans_take_the_compiled_path() -> None:
    """The property test would pass if every span fell back to Python: check that
    the common shape of real traffic (the benchmark's request) is mapped in C."""
    path = Path(__file__).resolve().parents[2] / "bench" / "ingest.py"
    spec = importlib.util.spec_from_file_location("bench_ingest", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    spans, _ = decode_protobuf(bench.template())
    options = MappingOptions(prices=load_prices())
    m = semconv._Mapper(options)
    batch = semconv.MappedBatch(spans={c: [] for c in semconv._SPAN_COLUMNS})
    assert semconv._map_compiled is not None
    assert semconv._map_compiled(spans, m, batch) == len(spans) == 100
    assert batch == map_spans(spans, options, compiled=False)
    # A span with events or contents is mapped by Python, in its place.
    odd = [spans[0], _with(spans[1], events=[("exception", NOW, {})]), spans[2]]
    batch = semconv.MappedBatch(spans={c: [] for c in semconv._SPAN_COLUMNS})
    assert semconv._map_compiled(odd, semconv._Mapper(options), batch) == 2
    assert batch.spans["span_id"] == [s.span_id for s in odd]


def _with(span: OtlpSpan, **changes: Any) -> OtlpSpan:
    fields = {f: getattr(span, f) for f in OtlpSpan.__slots__}
    fields.update(changes)
    return OtlpSpan(**fields)


def test_the_compiled_mapping_is_built_where_a_compiler_is() -> None:
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler here: agentslo maps every span in Python")
    assert semconv.COMPILED, "reinstall (`pip install -e .`) to build the compiled mapping"
