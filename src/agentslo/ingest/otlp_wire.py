"""A fast walk over the wire bytes of a protobuf ``ExportTraceServiceRequest``.

Reading spans through the protobuf runtime's message objects costs about a
microsecond per attribute (every ``kv.key``, ``kv.value`` and ``WhichOneof`` makes
a Python object), which made decoding the largest cost of the receiver. This
module reads the same bytes directly, after the runtime has parsed (and so
validated) the body: fields are found by their tag, ids and times are sliced out,
and each attribute's raw ``KeyValue`` bytes are looked up in a bounded cache of
decoded ``(key, value)`` pairs — instrumented agents repeat most attributes
(operation names, models, agent names) in every span, so most attributes cost one
dictionary lookup.

The walk covers what well-behaved exporters send. Anything it does not handle the
way the protobuf runtime would (a singular message field given twice, which
protobuf merges; an ``AnyValue`` with several members; an id or attribute that
must be refused) raises :class:`FallbackError`, and
:func:`agentslo.ingest.otlp.decode_protobuf` then reads the request through the
message objects instead, so both give the same spans and the same refusals.

The walk exists twice: :func:`walk_request_py` here, and the same code compiled
with Cython (``agentslo.ingest._wire_fast``, built at install when a C compiler is
there), which :func:`walk_request` is when it could be imported. The compiled walk
is about ten times faster; the tests hold both to the same results.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, Final

__all__ = ["COMPILED", "MAX_DEPTH", "FallbackError", "walk_request", "walk_request_py"]

_U64: Final = struct.Struct("<Q").unpack_from
_F64: Final = struct.Struct("<d").unpack_from
_INT64_SIGN: Final = 1 << 63
_INT64_WRAP: Final = 1 << 64
_MAX_CACHE: Final = 50_000
#: Only attributes and texts this short are cached: the repeated labels are short,
#: while prompts and messages are long, unique, and must not pin memory.
_MAX_CACHED_BYTES: Final = 256
_INT32_SIGN: Final = 1 << 31
_INT32_WRAP: Final = 1 << 32
#: Nested arrays / key-value lists deeper than this are refused (a bomb, not data);
#: ``agentslo.ingest.otlp.MAX_ATTRIBUTE_DEPTH`` is this value.
MAX_DEPTH: Final = 8

#: Raw KeyValue bytes -> (key, scalar value), shared by the requests of a process.
_KV_CACHE: dict[bytes, tuple[str, Any]] = {}
#: Raw UTF-8 bytes -> str, for span names and attribute keys.
_TEXT_CACHE: dict[bytes, str] = {}


class FallbackError(Exception):
    """The bytes need the protobuf runtime's reading (merges, refusals)."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it."""
    result = 0
    shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            if result >> 64:
                raise FallbackError("varint over 64 bits")  # protobuf truncates it
            return result, pos
        shift += 7
        if shift >= 70:
            raise FallbackError("varint too long")


def _skip(buf: bytes, pos: int, wire: int) -> int:
    """The position after an unknown field's value of wire type ``wire``."""
    if wire == 0:
        return _varint(buf, pos)[1]
    if wire == 1:
        return pos + 8
    if wire == 2:
        n, pos = _varint(buf, pos)
        return pos + n
    if wire == 5:
        return pos + 4
    raise FallbackError(f"wire type {wire}")


def _text(raw: bytes) -> str:
    text = _TEXT_CACHE.get(raw)
    if text is None:
        text = raw.decode()
        if len(raw) > _MAX_CACHED_BYTES:
            return text
        if len(_TEXT_CACHE) >= _MAX_CACHE:
            _TEXT_CACHE.clear()
        _TEXT_CACHE[raw] = text
    return text


def _signed(value: int) -> int:
    return value - _INT64_WRAP if value >= _INT64_SIGN else value


def _enum(value: int) -> int:
    """An enum field as protobuf reads it: the varint truncated to a signed int32."""
    value &= _INT32_WRAP - 1
    return value - _INT32_WRAP if value >= _INT32_SIGN else value


def _any_value(buf: bytes, pos: int, end: int, depth: int) -> Any:
    """An ``AnyValue`` as a Python value (None when empty)."""
    if pos >= end:
        return None
    tag, pos = _varint(buf, pos)
    if tag == 0x0A:  # string_value
        n, pos = _varint(buf, pos)
        value: Any = buf[pos : pos + n].decode()
        pos += n
    elif tag == 0x18:  # int_value
        raw, pos = _varint(buf, pos)
        value = _signed(raw)
    elif tag == 0x21:  # double_value
        value = _F64(buf, pos)[0]
        pos += 8
    elif tag == 0x10:  # bool_value
        raw, pos = _varint(buf, pos)
        value = raw != 0
    elif tag in (0x2A, 0x32):  # array_value, kvlist_value
        if depth >= MAX_DEPTH:
            raise FallbackError("nested too deep")
        n, pos = _varint(buf, pos)
        value = _values(buf, pos, pos + n, depth + 1, tag == 0x32)
        pos += n
    elif tag == 0x3A:  # bytes_value
        n, pos = _varint(buf, pos)
        value = buf[pos : pos + n].hex()
        pos += n
    else:
        raise FallbackError(f"AnyValue field tag {tag}")
    if pos != end:
        raise FallbackError("AnyValue with more than one field")
    return value


def _values(buf: bytes, pos: int, end: int, depth: int, kvlist: bool) -> Any:
    """The members of an ``ArrayValue`` (a list) or a ``KeyValueList`` (a dict)."""
    items: list[Any] = []
    pairs: dict[str, Any] = {}
    while pos < end:
        tag, pos = _varint(buf, pos)
        if tag != 0x0A:
            pos = _skip(buf, pos, tag & 7)
            continue
        n, pos = _varint(buf, pos)
        if kvlist:
            key, value = _key_value(buf, pos, pos + n, depth)
            pairs[key] = value
        else:
            items.append(_any_value(buf, pos, pos + n, depth))
        pos += n
    return pairs if kvlist else items


def _key_value(buf: bytes, pos: int, end: int, depth: int) -> tuple[str, Any]:
    key = ""
    value: Any = None
    seen_value = False
    while pos < end:
        tag, pos = _varint(buf, pos)
        if tag == 0x0A:
            n, pos = _varint(buf, pos)
            key = _text(buf[pos : pos + n])
            pos += n
        elif tag == 0x12:
            if seen_value:
                raise FallbackError("KeyValue.value given twice")
            seen_value = True
            n, pos = _varint(buf, pos)
            value = _any_value(buf, pos, pos + n, depth)
            pos += n
        else:
            pos = _skip(buf, pos, tag & 7)
    return key, value


def _attribute(raw: bytes) -> tuple[str, Any]:
    """The (key, value) of one attribute's ``KeyValue`` bytes, cached when scalar."""
    pair = _KV_CACHE.get(raw)
    if pair is None:
        pair = _key_value(raw, 0, len(raw), 0)
        if len(raw) <= _MAX_CACHED_BYTES and not isinstance(pair[1], list | dict):
            if len(_KV_CACHE) >= _MAX_CACHE:
                _KV_CACHE.clear()
            _KV_CACHE[raw] = pair
    return pair


def _attributes(buf: bytes, ranges: list[tuple[int, int]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for start, stop in ranges:
        key, value = _attribute(buf[start:stop])
        out[key] = value
    return out


def _fields(buf: bytes, pos: int, end: int) -> list[tuple[int, int, int]]:
    """(tag, start, stop) of the length-delimited fields of a message; others skipped."""
    found = []
    while pos < end:
        tag, pos = _varint(buf, pos)
        if tag & 7 != 2:
            pos = _skip(buf, pos, tag & 7)
            continue
        n, pos = _varint(buf, pos)
        found.append((tag, pos, pos + n))
        pos += n
    if pos != end:
        raise FallbackError("field runs past its message")
    return found


def _event(buf: bytes, pos: int, end: int) -> tuple[str, int, dict[str, Any]]:
    name = ""
    time_ns = 0
    attrs: dict[str, Any] = {}
    while pos < end:
        tag, pos = _varint(buf, pos)
        if tag == 0x09:
            time_ns = _U64(buf, pos)[0]
            pos += 8
        elif tag == 0x12:
            n, pos = _varint(buf, pos)
            name = _text(buf[pos : pos + n])
            pos += n
        elif tag == 0x1A:
            n, pos = _varint(buf, pos)
            key, value = _attribute(buf[pos : pos + n])
            attrs[key] = value
            pos += n
        else:
            pos = _skip(buf, pos, tag & 7)
    return name, time_ns, attrs


def _status(buf: bytes, pos: int, end: int) -> tuple[int, str]:
    code = 0
    message = ""
    while pos < end:
        tag, pos = _varint(buf, pos)
        if tag == 0x12:
            n, pos = _varint(buf, pos)
            message = buf[pos : pos + n].decode()
            pos += n
        elif tag == 0x18:
            raw, pos = _varint(buf, pos)
            code = _enum(raw)
        else:
            pos = _skip(buf, pos, tag & 7)
    return code, message


_ZERO_TRACE: Final = bytes(16)
_ZERO_SPAN: Final = bytes(8)


def _span(buf: bytes, pos: int, end: int) -> tuple[Any, ...]:
    """The fields of one ``Span`` as a tuple in :class:`OtlpSpan` order (ids hex)."""
    trace_id = span_id = parent = b""
    name = ""
    kind = start = stop = 0
    attrs: dict[str, Any] = {}
    events: list[tuple[str, int, dict[str, Any]]] = []
    code, message = 0, ""
    seen_status = False
    cache = _KV_CACHE
    while pos < end:
        tag = buf[pos]
        pos += 1
        if tag & 0x80:
            tag, pos = _varint(buf, pos - 1)
        wire = tag & 7
        if wire == 2:
            n = buf[pos]
            pos += 1
            if n & 0x80:
                n, pos = _varint(buf, pos - 1)
            field_end = pos + n
            if tag == 0x4A:  # attributes
                raw = buf[pos:field_end]
                pair = cache.get(raw)
                if pair is None:
                    pair = _attribute(raw)
                attrs[pair[0]] = pair[1]
            elif tag == 0x0A:
                trace_id = buf[pos:field_end]
            elif tag == 0x12:
                span_id = buf[pos:field_end]
            elif tag == 0x22:
                parent = buf[pos:field_end]
            elif tag == 0x2A:
                name = _text(buf[pos:field_end])
            elif tag == 0x5A:
                events.append(_event(buf, pos, field_end))
            elif tag == 0x7A:
                if seen_status:
                    raise FallbackError("Span.status given twice")
                seen_status = True
                code, message = _status(buf, pos, field_end)
            pos = field_end
        elif wire == 1:
            if tag == 0x39:
                start = _U64(buf, pos)[0]
            elif tag == 0x41:
                stop = _U64(buf, pos)[0]
            pos += 8
        elif wire == 0:
            value, pos = _varint(buf, pos)
            if tag == 0x30:
                kind = _enum(value)
        else:
            pos = _skip(buf, pos, wire)
    if pos != end:
        raise FallbackError("field runs past its span")
    if len(trace_id) != 16 or trace_id == _ZERO_TRACE:
        raise FallbackError("traceId to refuse")
    if len(span_id) != 8 or span_id == _ZERO_SPAN:
        raise FallbackError("spanId to refuse")
    parent_hex = parent.hex() if parent and parent != _ZERO_SPAN else None
    return (
        trace_id.hex(),
        span_id.hex(),
        parent_hex,
        name,
        kind,
        start,
        stop,
        attrs,
        code,
        message,
        events,
    )


def _single(fields: list[tuple[int, int, int]], tag: int) -> tuple[int, int] | None:
    found = [(start, stop) for t, start, stop in fields if t == tag]
    if len(found) > 1:
        raise FallbackError("a singular message field given twice")
    return found[0] if found else None


def walk_request_py(body: bytes) -> list[tuple[dict[str, Any], str, list[tuple[Any, ...]]]]:
    """``(resource attributes, scope name, span tuples)`` per scope of the request.

    ``body`` must already have parsed as an ``ExportTraceServiceRequest``; raise
    :class:`FallbackError` for what only the protobuf runtime reads exactly.
    """
    groups: list[tuple[dict[str, Any], str, list[tuple[Any, ...]]]] = []
    for tag, rs_start, rs_end in _fields(body, 0, len(body)):
        if tag != 0x0A:
            continue
        rs_fields = _fields(body, rs_start, rs_end)
        resource: dict[str, Any] = {}
        where = _single(rs_fields, 0x0A)
        if where is not None:
            attrs = [(s, e) for t, s, e in _fields(body, *where) if t == 0x0A]
            resource = _attributes(body, attrs)
        for ss_tag, ss_start, ss_end in rs_fields:
            if ss_tag != 0x12:
                continue
            ss_fields = _fields(body, ss_start, ss_end)
            scope = ""
            where = _single(ss_fields, 0x0A)
            if where is not None:
                for t, s, e in _fields(body, *where):
                    if t == 0x0A:
                        scope = body[s:e].decode()
            spans = [_span(body, s, e) for t, s, e in ss_fields if t == 0x12]
            groups.append((resource, scope, spans))
    return groups


Walk = Callable[[bytes], list[tuple[dict[str, Any], str, list[tuple[Any, ...]]]]]

_compiled_walk: Walk | None
try:
    from agentslo.ingest._wire_fast import walk_request as _compiled_walk
except ImportError:  # no C compiler at install time: the same walk in Python
    _compiled_walk = None

#: Whether :func:`walk_request` is the compiled walk.
COMPILED: Final = _compiled_walk is not None
#: The walk in use: compiled when built, else :func:`walk_request_py`.
walk_request: Walk = _compiled_walk if _compiled_walk is not None else walk_request_py
