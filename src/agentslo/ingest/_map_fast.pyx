# cython: language_level=3, boundscheck=False, wraparound=False
"""The semantic-convention mapping of :mod:`agentslo.ingest.semconv`, compiled for
the spans that make up most traffic.

A decode worker spends about half its time in the mapping, all of it in the
interpreter: a dozen attribute lookups, a handful of small decisions and 21 column
appends per span. This module maps a *plain* span (no events, no message-content,
outcome or cost attributes, integer times within range) in C, with the rules of
``semconv`` written out again below, function for function (``_kind``, ``_first``,
``_count``, ``_text``, ``_agent_name``, ``_status``). Everything else, and
everything that would produce a warning or a refusal, is handed to
``semconv._add_span`` as it is, so the messages exist once. Shapes, run hints,
prices and the attributes' JSON are semconv's own functions, called from here.

A Hypothesis test maps generated spans both ways (``map_spans(..., compiled=False)``)
and requires identical batches: rows, hints, outcomes, refusals and warnings.
"""

from agentslo.ingest.prices import _PER
from agentslo.ingest.semconv import (
    _MAX_NAME,
    _MAX_SHAPES,
    _MIN_START_NS,
    _OPENINFERENCE_KINDS,
    _OPERATION_KINDS,
    _PRICED,
    _SPAN_COLUMNS,
    _add_span,
    _attributes_json,
    _shape,
)

cdef Py_ssize_t MAX_NAME = _MAX_NAME
cdef long long MIN_START_NS = _MIN_START_NS
cdef long long INT64_MAX = 2**63 - 1
cdef long long MAX_COUNT = 2**53
cdef double PER = _PER
cdef dict OPERATION_KINDS = _OPERATION_KINDS
cdef dict OPENINFERENCE_KINDS = _OPENINFERENCE_KINDS
cdef frozenset PRICED = _PRICED
cdef tuple COLUMNS = _SPAN_COLUMNS
cdef tuple HANDOFF_NAMES = ("handoff", "transfer_to_")
cdef tuple AGENT_NAMES = ("invoke_agent", "agent run")
cdef tuple TOOL_NAMES = ("execute_tool", "running tool")
cdef tuple HANDOFF_TOOLS = ("transfer_to_", "handoff_to_")


cdef class _Roles:
    """A ``semconv._Shape`` as C fields: which keys of each role a key set has."""

    cdef bint plain
    cdef tuple agent, model, tool, input_tokens, output_tokens, kind_tokens
    cdef tuple cache_read, cache_write, reasoning

    def __cinit__(self, shape):
        self.plain = not (shape.content or shape.outcome or shape.cost or shape.cost_parts)
        self.agent = shape.agent
        self.model = shape.model
        self.tool = shape.tool
        self.input_tokens = shape.input_tokens
        self.output_tokens = shape.output_tokens
        self.kind_tokens = shape.kind_tokens
        self.cache_read = shape.cache_read
        self.cache_write = shape.cache_write
        self.reasoning = shape.reasoning


#: Attribute key tuple -> its roles; cleared when it reaches semconv's shape limit.
cdef dict ROLES = {}
cdef Py_ssize_t MAX_ROLES = _MAX_SHAPES


cdef inline _Roles _roles(dict attrs):
    keys = tuple(attrs)
    roles = ROLES.get(keys)
    if roles is None:
        roles = _Roles(_shape(attrs))
        if len(ROLES) >= MAX_ROLES:
            ROLES.clear()
        ROLES[keys] = roles
    return <_Roles>roles


cdef inline object _first(dict attrs, tuple keys):
    """semconv._first: the first value among ``keys`` that is neither None nor ''."""
    cdef object value
    for key in keys:
        value = attrs.get(key)
        if value is not None and not (isinstance(value, str) and not value):
            return value
    return None


cdef inline object _text(object value):
    """semconv._text: text cut to the name limit, None when empty."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text[:MAX_NAME] if text else None


#: What _plain_count returns for a value that needs semconv's checks and messages.
cdef object ODD = object()


cdef inline object _plain_count(dict attrs, tuple keys):
    """semconv._count where no warning can arise: the count, or None; ODD when some
    value is not a plain integer in range (semconv then maps the span)."""
    cdef object value
    for key in keys:
        value = attrs.get(key)
        if value is None:
            continue
        if type(value) is not int or value < 0 or value > MAX_COUNT:
            return ODD
        return value
    return None


cdef inline bint _is_handoff_tool(dict attrs, _Roles shape):
    tool = _first(attrs, shape.tool)
    return isinstance(tool, str) and tool.startswith(HANDOFF_TOOLS)


cdef object _kind(str name, dict attrs, _Roles shape):
    """semconv._kind."""
    operation = attrs.get("gen_ai.operation.name")
    if isinstance(operation, str):
        kind = OPERATION_KINDS.get(operation)
        if kind is not None:
            if kind == "tool" and _is_handoff_tool(attrs, shape):
                return "handoff"
            return kind
    oi_kind = attrs.get("openinference.span.kind")
    if isinstance(oi_kind, str):
        kind = OPENINFERENCE_KINDS.get(oi_kind.upper())
        if kind is not None:
            if kind == "tool" and _is_handoff_tool(attrs, shape):
                return "handoff"
            return kind
    lowered = name.lower()
    if lowered.startswith(HANDOFF_NAMES):
        return "handoff"
    if lowered.startswith(AGENT_NAMES):
        return "agent"
    if lowered.startswith(TOOL_NAMES):
        return "tool"
    if _first(attrs, shape.model) is not None or _first(attrs, shape.kind_tokens) is not None:
        return "llm"
    return "other"


cdef object _agent_name(str span_name, dict attrs, object kind, _Roles shape):
    """semconv._agent_name."""
    name = attrs.get("gen_ai.handoff.from_agent") if kind == "handoff" else None
    name = name or _first(attrs, shape.agent) or attrs.get("gen_ai.workflow.name")
    if name is None and kind == "agent":
        words = span_name.split(" ", 1)
        name = words[1] if len(words) == 2 and words[0] == "invoke_agent" else span_name
    return _text(name)


cdef object _status(object code, str message, object error_type):
    """semconv._status."""
    if code == 2 or error_type:
        lowered = (error_type or message or "").lower()
        if "timeout" in lowered or "timedout" in lowered:
            return "timeout"
        if "cancel" in lowered:
            return "cancelled"
        return "error"
    return "ok" if code == 1 else "unset"


cdef object _cost(object price, object input_tokens, object output_tokens, object cache_read,
                  object cache_write):
    """prices.ModelPrice.cost for plain counts (integers in 0..2**53, or None): the
    same operations on the same doubles, in the same order (built with
    ``-ffp-contract=off``, so no fused multiply-add changes a rounding)."""
    p_input, p_output = price.input, price.output
    p_read, p_write = price.cache_read, price.cache_write
    if not (
        type(p_input) is float
        and type(p_output) is float
        and (p_read is None or type(p_read) is float)
        and (p_write is None or type(p_write) is float)
    ):
        return price.cost(input_tokens, output_tokens, cache_read, cache_write)
    cdef long long inp = input_tokens or 0
    cdef long long out = output_tokens or 0
    cdef long long read = min(<long long>(cache_read or 0), inp)
    cdef long long write = min(<long long>(cache_write or 0), inp - read)
    cdef long long fresh = inp - read - write
    cdef double pi = p_input
    cdef double total = <double>fresh * pi
    total = total + <double>out * <double>p_output
    total = total + <double>read * (pi if p_read is None else <double>p_read)
    total = total + <double>write * (pi if p_write is None else <double>p_write)
    return total / PER


def map_spans_into(spans, m, batch):
    """Map ``spans`` into ``batch`` (a ``semconv.MappedBatch``) with mapper ``m``;
    return how many of them were plain (mapped here rather than by ``_add_span``)."""
    cdef Py_ssize_t plain = 0
    cdef dict cols = batch.spans
    cdef list c_project = cols["project"], c_trace = cols["trace_id"]
    cdef list c_span = cols["span_id"], c_parent = cols["parent_span_id"]
    cdef list c_run = cols["run_id"], c_name = cols["name"], c_kind = cols["kind"]
    cdef list c_agent = cols["agent"], c_tool = cols["tool"], c_model = cols["model"]
    cdef list c_start = cols["started_at"], c_end = cols["ended_at"]
    cdef list c_status = cols["status"], c_error = cols["error_type"]
    cdef list c_input = cols["input_tokens"], c_output = cols["output_tokens"]
    cdef list c_cost = cols["cost_usd"], c_input_text = cols["input_text"]
    cdef list c_output_text = cols["output_text"], c_attributes = cols["attributes"]
    cdef list c_events = cols["events"]
    cdef dict hints = batch.hints
    cdef tuple adders = tuple(cols[c].append for c in COLUMNS)
    options = m.o
    project = options.project
    prices = options.prices
    try:
        future_limit = m.now_ns + int(options.max_future_s * 1e9)
    except (OverflowError, ValueError):  # an infinite or NaN limit: semconv's business
        future_limit = None
    cdef long long start_ns, end_ns
    cdef dict attrs, kept, resource
    cdef _Roles shape
    cdef str name
    cdef object input_tokens, output_tokens, reasoning, cache_read, cache_write
    for span in spans:
        raw_start = span.start_ns
        raw_end = span.end_ns
        raw_code = span.status_code
        events = span.events
        # Times semconv._time_problem accepts, as C integers, and the exact types the
        # decoders build; anything else goes to _add_span, which maps it, or refuses
        # it with its message.
        if (
            future_limit is None
            or type(raw_start) is not int
            or type(raw_end) is not int
            or raw_start < MIN_START_NS
            or raw_start > future_limit
            or raw_start > INT64_MAX
            or raw_end < 0
            or raw_end > INT64_MAX
            or (raw_end and raw_end < raw_start)
            or type(events) is not list
            or events
            or type(span.name) is not str
            or type(span.status_message) is not str
            or type(span.attributes) is not dict
            or type(span.resource) is not dict
        ):
            _add_span(m, batch, adders, span)
            continue
        attrs = span.attributes
        shape = _roles(attrs)
        if not shape.plain:
            _add_span(m, batch, adders, span)
            continue
        input_tokens = _plain_count(attrs, shape.input_tokens)
        output_tokens = _plain_count(attrs, shape.output_tokens)
        reasoning = _plain_count(attrs, shape.reasoning)
        cache_read = _plain_count(attrs, shape.cache_read)
        cache_write = _plain_count(attrs, shape.cache_write)
        if (
            input_tokens is ODD
            or output_tokens is ODD
            or reasoning is ODD
            or cache_read is ODD
            or cache_write is ODD
        ):
            _add_span(m, batch, adders, span)
            continue
        start_ns = raw_start
        end_ns = raw_end
        name = span.name
        kind = _kind(name, attrs, shape)
        error_type = _text(attrs.get("error.type"))
        model = _first(attrs, shape.model) if shape.model else None
        kept = dict(attrs)
        if reasoning is not None:
            kept["agentslo.usage.reasoning_tokens"] = reasoning
        resource = span.resource
        if kind == "agent":
            hints[len(c_span)] = m.hints(attrs, resource)
        scope = span.scope
        if scope:
            kept.setdefault("otel.scope.name", scope)
        service = resource.get("service.name")
        if service is not None:
            kept.setdefault("service.name", service)
        trace_id = span.trace_id
        c_project.append(project)
        c_trace.append(trace_id)
        c_span.append(span.span_id)
        c_parent.append(span.parent_span_id)
        c_run.append(trace_id)
        c_name.append(name[:MAX_NAME] or "(unnamed)")
        c_kind.append(kind)
        c_agent.append(_agent_name(name, attrs, kind, shape))
        c_tool.append(
            _text(_first(attrs, shape.tool)) if kind == "tool" or kind == "handoff" else None
        )
        c_model.append(_text(model))
        c_start.append(start_ns // 1000)
        c_end.append(end_ns // 1000 if end_ns else None)
        c_status.append(_status(raw_code, span.status_message, error_type))
        c_error.append(error_type)
        c_input.append(input_tokens)
        c_output.append(output_tokens)
        # semconv._Mapper.cost, without cost attributes (plain spans carry none).
        cost = None
        if (
            kind in PRICED
            and prices is not None
            and (input_tokens is not None or output_tokens is not None)
        ):
            price = prices.lookup(model if isinstance(model, str) else None)
            if price is not None:
                cost = _cost(price, input_tokens, output_tokens, cache_read, cache_write)
        c_cost.append(cost)
        c_input_text.append(None)
        c_output_text.append(None)
        c_attributes.append(_attributes_json(kept))
        c_events.append("[]")
        plain += 1
    return plain
