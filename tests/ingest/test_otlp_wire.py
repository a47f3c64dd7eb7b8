"""The fast read of protobuf bodies gives exactly what the message objects give.

``decode_protobuf`` reads spans straight off the wire bytes and falls back to the
protobuf runtime's message objects for what only those read exactly. Both must
agree on every body: generated requests (every ``AnyValue`` kind, nesting past
the depth limit, bad ids, repeated fields, unknown fields) are decoded both ways
and compared.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agentslo.ingest import otlp_wire
from agentslo.ingest.otlp import (
    OtlpSpan,
    _message_spans,
    _wire_spans,
    decode_protobuf,
    protobuf_runtime,
)
from agentslo.ingest.otlp_wire import walk_request, walk_request_py

from .otlp_samples import agent_trace, proto_request

_KEYS = st.sampled_from(
    ["gen_ai.operation.name", "gen_ai.request.model", "gen_ai.usage.input_tokens", "k", ""]
) | st.text(max_size=12)


def _scalar() -> st.SearchStrategy[AnyValue]:
    return st.one_of(
        st.just(AnyValue()),
        st.text(max_size=20).map(lambda v: AnyValue(string_value=v)),
        st.integers(-(2**63), 2**63 - 1).map(lambda v: AnyValue(int_value=v)),
        st.floats(allow_nan=False).map(lambda v: AnyValue(double_value=v)),
        st.booleans().map(lambda v: AnyValue(bool_value=v)),
        st.binary(max_size=8).map(lambda v: AnyValue(bytes_value=v)),
    )


def _array(values: list[AnyValue]) -> AnyValue:
    out = AnyValue()
    out.array_value.values.extend(values)
    return out


def _kvlist(pairs: list[tuple[str, AnyValue]]) -> AnyValue:
    out = AnyValue()
    out.kvlist_value.values.extend(KeyValue(key=k, value=v) for k, v in pairs)
    return out


#: Values nested up to 11 levels: past the depth limit of 8 now and then.
_VALUES = st.recursive(
    _scalar(),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(_array),
        st.lists(st.tuples(_KEYS, inner), max_size=3).map(_kvlist),
    ),
    max_leaves=10,
)
_IDS16 = st.sampled_from([b"", bytes(16), b"\x01" * 15]) | st.binary(min_size=16, max_size=16)
_IDS8 = st.sampled_from([b"", bytes(8), b"\x02" * 9]) | st.binary(min_size=8, max_size=8)


_SHALLOW = st.one_of(_scalar(), st.lists(_scalar(), max_size=3).map(_array))


@st.composite
def _span(draw: st.DrawFn, well_formed: bool = False) -> Span:
    """A span; now and then (never when ``well_formed``) with ids to refuse and
    attribute values nested past the depth limit."""
    bad = not well_formed and draw(st.integers(0, 4)) == 0
    values = _VALUES if bad else _SHALLOW
    attrs = st.lists(st.tuples(_KEYS, values), max_size=6)
    span = Span(
        trace_id=draw(_IDS16 if bad else st.binary(min_size=16, max_size=16).filter(any)),
        span_id=draw(_IDS8 if bad else st.binary(min_size=8, max_size=8).filter(any)),
        parent_span_id=draw(_IDS8),
        name=draw(st.text(max_size=16)),
        kind=draw(st.integers(-3, 6)),
        start_time_unix_nano=draw(st.integers(0, 2**64 - 1)),
        end_time_unix_nano=draw(st.integers(0, 2**64 - 1)),
        trace_state=draw(st.text(max_size=4)),
        flags=draw(st.integers(0, 2**32 - 1)),
    )
    span.attributes.extend(KeyValue(key=k, value=v) for k, v in draw(attrs))
    for _ in range(draw(st.integers(0, 2))):
        event = span.events.add(
            name=draw(st.text(max_size=8)), time_unix_nano=draw(st.integers(0, 2**64 - 1))
        )
        event.attributes.extend(KeyValue(key=k, value=v) for k, v in draw(attrs))
    if draw(st.booleans()):
        span.status.code = draw(st.integers(0, 2))
        span.status.message = draw(st.text(max_size=8))
    span.links.add(trace_id=b"\x03" * 16, span_id=b"\x04" * 8)
    return span


@st.composite
def _request(draw: st.DrawFn, well_formed: bool = False) -> bytes:
    request = ExportTraceServiceRequest()
    resource_values = _SHALLOW if well_formed else _VALUES
    for _ in range(draw(st.integers(0, 2))):
        rs = request.resource_spans.add()
        attrs = draw(st.lists(st.tuples(_KEYS, resource_values), max_size=4))
        rs.resource.attributes.extend(KeyValue(key=k, value=v) for k, v in attrs)
        for _ in range(draw(st.integers(0, 2))):
            ss = rs.scope_spans.add()
            ss.scope.name = draw(st.text(max_size=8))
            ss.spans.extend(draw(st.lists(_span(well_formed), max_size=4)))
    body = request.SerializeToString()
    # Protobuf merges a singular message field that appears twice, and keeps unknown
    # fields: append some of each at the top level (a second copy of the request
    # is a valid concatenation, so is an unknown varint field 15).
    tail = draw(st.sampled_from([b"", body, b"\x78\x01", b"\x7a\x00"]))
    return body + tail


def _reference(body: bytes) -> tuple[list[OtlpSpan], list[Any]]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    return _message_spans(request)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_request())
def test_wire_and_message_reads_agree(body: bytes) -> None:
    assert decode_protobuf(body) == _reference(body)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_request(well_formed=True))
def test_well_formed_requests_are_read_off_the_wire(body: bytes) -> None:
    spans, rejects = _reference(body)
    assert not rejects
    assert _wire_spans(body) == spans  # raises FallbackError if the wire read gave up


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field(tag: int, raw: bytes) -> bytes:
    return bytes([tag]) + _varint(len(raw)) + raw


_SECOND = {
    "status": Span(status={"message": "second", "code": 2}),
    "trace_id": Span(trace_id=b"\x05" * 16),
    "span_id": Span(span_id=b"\x06" * 8),
    "attribute": Span(attributes=[KeyValue(key="k", value=AnyValue(int_value=9))]),
}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_span(), min_size=1, max_size=3), st.sampled_from(sorted(_SECOND)))
def test_fields_given_twice_read_as_protobuf_merges_them(spans: list[Span], which: str) -> None:
    # Serialised spans concatenated with a second copy of one field: protobuf merges
    # (a message field) or overrides (a scalar) — the wire bytes keep both copies.
    raw = [s.SerializeToString() for s in spans]
    raw[0] += _SECOND[which].SerializeToString()
    scope = b"".join(_field(0x12, r) for r in raw)
    body = _field(0x0A, _field(0x12, scope))
    assert decode_protobuf(body) == _reference(body)


def _one_span(extra: bytes) -> bytes:
    """A request of one span (ids, name, start time) followed by ``extra`` span bytes."""
    span = Span(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="n", start_time_unix_nano=5)
    return _field(0x0A, _field(0x12, _field(0x12, span.SerializeToString() + extra)))


def _int_attribute(raw_varint: bytes, tag: int = 0x18) -> bytes:
    any_value = bytes([tag]) + raw_varint
    return _field(0x4A, _field(0x0A, b"k") + _field(0x12, any_value))


#: Varints protobuf truncates: enums to a signed int32, everything to 64 bits.
_OUT_OF_RANGE = {
    "kind over int32": bytes([0x30]) + _varint(2**32 + 1),
    "status code over int32": _field(0x7A, bytes([0x18]) + _varint(2**32 + 2)),
    "kind over 64 bits": bytes([0x30, 0x81] + [0x80] * 8 + [0x7F]),
    "int_value over 64 bits": _int_attribute(bytes([0xFF] * 9 + [0x7F])),
    "bool_value of 2**64": _int_attribute(bytes([0x80] * 9 + [0x02]), tag=0x10),
}


def test_out_of_range_varints_read_as_protobuf_truncates_them() -> None:
    for label, extra in _OUT_OF_RANGE.items():
        body = _one_span(extra)
        assert decode_protobuf(body) == _reference(body), label


def test_long_attribute_values_are_not_cached() -> None:
    """Prompts are long and unique: caching them would pin memory in every worker."""
    long_text = "x" * 10_000
    span = Span(trace_id=b"\x03" * 16, span_id=b"\x04" * 8, name="n", start_time_unix_nano=5)
    span.attributes.add(key="gen_ai.prompt", value=AnyValue(string_value=long_text))
    span.attributes.add(key="gen_ai.system", value=AnyValue(string_value="openai"))
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.append(span)
    (read,), _ = decode_protobuf(request.SerializeToString())
    assert read.attributes["gen_ai.prompt"] == long_text
    cached = list(otlp_wire._KV_CACHE.values()) + list(otlp_wire._TEXT_CACHE.values())
    assert all(long_text not in str(value) for value in cached)
    assert ("gen_ai.system", "openai") in otlp_wire._KV_CACHE.values()


def test_the_wire_read_is_taken_for_ordinary_requests() -> None:
    body = proto_request(agent_trace(outcome="success"))
    (group,) = walk_request(body)
    assert len(group[2]) == 4
    spans, rejects = _reference(body)
    assert _wire_spans(body) == spans and not rejects


def test_cached_attribute_values_are_not_shared_when_mutable() -> None:
    body = proto_request(agent_trace())
    span = Span(trace_id=b"\x07" * 16, span_id=b"\x08" * 8, name="s", start_time_unix_nano=5)
    span.attributes.add(key="list", value=_array([AnyValue(int_value=1)]))
    span.attributes.add(key="text", value=AnyValue(string_value="same"))
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.append(span)
    body = request.SerializeToString()
    first, _ = decode_protobuf(body)
    first[0].attributes["list"].append(2)
    second, _ = decode_protobuf(body)
    assert second[0].attributes == {"list": [1], "text": "same"}


def test_the_fast_protobuf_runtime_is_in_use_and_a_slow_one_is_recognised() -> None:
    assert protobuf_runtime() == "upb"
    probe = "from agentslo.ingest.otlp import protobuf_runtime; print(protobuf_runtime())"
    env = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
    found = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "python"


#: What the caller of a walk catches and falls back on (``decode_protobuf``).
_FALLBACK = (otlp_wire.FallbackError, IndexError, struct.error, UnicodeDecodeError)


def _outcome(walk: otlp_wire.Walk, body: bytes) -> Any:
    try:
        return walk(body)
    except _FALLBACK:
        return "fallback"


def test_the_compiled_walk_is_built_where_a_compiler_is() -> None:
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler here: agentslo runs the pure-Python walk")
    assert otlp_wire.COMPILED, "reinstall (`pip install -e .`) to build the compiled walk"
    assert walk_request is not walk_request_py


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_request())
def test_compiled_and_python_walks_agree(body: bytes) -> None:
    assert _outcome(walk_request, body) == _outcome(walk_request_py, body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_request(well_formed=True), st.data())
def test_the_compiled_walk_only_refuses_bytes_it_was_not_meant_for(
    body: bytes, data: st.DataObject
) -> None:
    """Bytes the protobuf runtime never validated (cut, flipped, spliced): the
    compiled walk reads inside the buffer and raises only what the caller catches."""
    if body:
        at = data.draw(st.integers(0, len(body) - 1))
        how = data.draw(st.sampled_from(["cut", "flip", "insert", "lengthen"]))
        noise = data.draw(st.binary(min_size=1, max_size=4))
        if how == "cut":
            body = body[:at]
        elif how == "flip":
            body = body[:at] + bytes([body[at] ^ noise[0]]) + body[at + 1 :]
        elif how == "insert":
            body = body[:at] + noise + body[at:]
        else:
            body = body[:at] + b"\xff\xff\xff\xff\x0f" + body[at:]
    _outcome(walk_request, body)  # must return or raise a fallback exception, not crash


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_the_compiled_walk_survives_arbitrary_bytes(body: bytes) -> None:
    _outcome(walk_request, body)
