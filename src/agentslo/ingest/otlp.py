"""Decode OTLP trace export requests (protobuf and OTLP/JSON) into plain spans.

Both encodings of ``ExportTraceServiceRequest`` come out as the same list of
:class:`OtlpSpan` (ids as lower-case hex, times as integer nanoseconds, attribute
values as Python values), so the semantic-convention mapping in
:mod:`agentslo.ingest.semconv` is written once.

A body that cannot be parsed at all raises :class:`OtlpDecodeError` (the receiver
answers 400). A span that parses but cannot be stored (missing or malformed ids,
a bad attribute value in JSON) is set aside as an :class:`OtlpReject` naming the
span and the problem, and the other spans of the request go on (partial success).

OTLP/JSON differs from the protobuf JSON mapping in ways this decoder follows:
trace and span ids are hex strings (not base64), enums are integers, 64-bit
integers may be strings, and field names are lowerCamelCase (snake_case is
accepted too).
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from dataclasses import dataclass, field
from typing import Any, Final

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from agentslo.ingest.otlp_wire import MAX_DEPTH, FallbackError, walk_request

__all__ = [
    "MAX_ATTRIBUTE_DEPTH",
    "OtlpDecodeError",
    "OtlpReject",
    "OtlpSpan",
    "decode_json",
    "decode_protobuf",
    "protobuf_runtime",
]

#: Nested arrays / key-value lists deeper than this are refused (a bomb, not data).
MAX_ATTRIBUTE_DEPTH: Final = MAX_DEPTH


class OtlpDecodeError(ValueError):
    """The body is not an ``ExportTraceServiceRequest`` at all (HTTP 400)."""


@dataclass(slots=True)
class OtlpSpan:
    """One span as OTLP carries it, encoding-neutral."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: int
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    status_code: int = 0
    status_message: str = ""
    events: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OtlpReject:
    """A span that could not be decoded, and why."""

    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


# -- protobuf --------------------------------------------------------------------------


def protobuf_runtime() -> str:
    """The protobuf runtime in use: ``upb`` (C, the default since protobuf 4.21),
    ``cpp`` or ``python`` (pure Python, several times slower to parse)."""
    from google.protobuf.internal import api_implementation

    return str(api_implementation.Type())


def _any_value(v: AnyValue, depth: int = 0) -> Any:
    which = v.WhichOneof("value")
    if which == "string_value":
        return v.string_value
    if which == "int_value":
        return v.int_value
    if which == "double_value":
        return v.double_value
    if which == "bool_value":
        return v.bool_value
    if which is None:
        return None
    if depth >= MAX_ATTRIBUTE_DEPTH:
        raise ValueError(f"attribute value nested deeper than {MAX_ATTRIBUTE_DEPTH} levels")
    if which == "array_value":
        return [_any_value(x, depth + 1) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _any_value(kv.value, depth + 1) for kv in v.kvlist_value.values}
    return v.bytes_value.hex()


def _attributes(kvs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in kvs:
        kv_: KeyValue = kv
        value = kv_.value
        which = value.WhichOneof("value")
        # The scalar cases inline: this loop runs for every attribute of every span.
        if which == "string_value":
            out[kv_.key] = value.string_value
        elif which == "int_value":
            out[kv_.key] = value.int_value
        else:
            out[kv_.key] = _any_value(value)
    return out


def _hex_id(raw: bytes, size: int, what: str) -> str:
    if len(raw) != size:
        if not raw:
            raise ValueError(f"{what} is missing")
        raise ValueError(f"{what} has {len(raw)} bytes; OTLP requires {size}")
    if not any(raw):
        raise ValueError(f"{what} is all zeros (invalid in OpenTelemetry)")
    return raw.hex()


def decode_protobuf(body: bytes) -> tuple[list[OtlpSpan], list[OtlpReject]]:
    """Spans of a binary ``ExportTraceServiceRequest``; raise ``OtlpDecodeError``.

    The protobuf runtime parses (and so validates) the body; the spans are then read
    straight off its bytes (:mod:`agentslo.ingest.otlp_wire`), or, for what only the
    runtime reads exactly (merged fields, spans to refuse), through its messages.
    """
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise OtlpDecodeError(
            f"body is not a valid protobuf ExportTraceServiceRequest ({exc}); send "
            "Content-Type: application/json for OTLP/JSON bodies"
        ) from exc
    try:
        return _wire_spans(body), []
    except (FallbackError, IndexError, struct.error, UnicodeDecodeError):
        return _message_spans(request)


def _wire_spans(body: bytes) -> list[OtlpSpan]:
    spans: list[OtlpSpan] = []
    append = spans.append
    # The compiled walk takes ``bytes`` only (a bytearray or memoryview is copied).
    for resource, scope, fields in walk_request(body if type(body) is bytes else bytes(body)):
        for t, sid, parent, name, kind, start, end, attrs, code, message, events in fields:
            append(
                OtlpSpan(
                    t, sid, parent, name, kind, start, end, attrs, resource, scope, code,
                    message, events,
                )
            )  # fmt: skip
    return spans


def _message_spans(request: ExportTraceServiceRequest) -> tuple[list[OtlpSpan], list[OtlpReject]]:
    """The spans of a parsed request, read through its message objects."""
    spans: list[OtlpSpan] = []
    rejects: list[OtlpReject] = []
    for ri, rs in enumerate(request.resource_spans):
        try:
            resource = _attributes(rs.resource.attributes)
        except ValueError as exc:
            where = f"resourceSpans[{ri}].resource"
            n = sum(len(ss.spans) for ss in rs.scope_spans)
            rejects.extend(OtlpReject(where, str(exc)) for _ in range(n))
            continue
        for si, ss in enumerate(rs.scope_spans):
            scope = ss.scope.name
            for pi, s in enumerate(ss.spans):
                where = f"resourceSpans[{ri}].scopeSpans[{si}].spans[{pi}] ({s.name!r})"
                try:
                    trace_id = _hex_id(s.trace_id, 16, "traceId")
                    span_id = _hex_id(s.span_id, 8, "spanId")
                    parent = s.parent_span_id.hex() if s.parent_span_id else None
                    events = [
                        (e.name, e.time_unix_nano, _attributes(e.attributes)) for e in s.events
                    ]
                    spans.append(
                        OtlpSpan(
                            trace_id,
                            span_id,
                            parent if parent and parent != "0" * 16 else None,
                            s.name,
                            s.kind,
                            s.start_time_unix_nano,
                            s.end_time_unix_nano,
                            _attributes(s.attributes),
                            resource,
                            scope,
                            s.status.code,
                            s.status.message,
                            events,
                        )
                    )
                except ValueError as exc:
                    rejects.append(OtlpReject(where, str(exc)))
    return spans, rejects


# -- OTLP/JSON -----------------------------------------------------------------------


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _list(obj: dict[str, Any], camel: str, snake: str, where: str) -> list[Any]:
    value = _get(obj, camel, snake)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{where}.{camel} must be a JSON array, got {type(value).__name__}")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a JSON object, got {type(value).__name__}")
    return value


def _json_int(value: Any, what: str) -> int:
    """An int64 field: OTLP/JSON allows a number or a decimal string."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise ValueError(f"{what} must be an integer (or a decimal string), got {value!r:.60}")


_SCALARS: Final = {
    "stringValue": str,
    "string_value": str,
    "boolValue": bool,
    "bool_value": bool,
}


def _json_any(value: Any, what: str, depth: int = 0) -> Any:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an AnyValue object, got {type(value).__name__}")
    if not value:
        return None
    if depth >= MAX_ATTRIBUTE_DEPTH:
        raise ValueError(f"{what} nested deeper than {MAX_ATTRIBUTE_DEPTH} levels")
    (kind, inner), *rest = value.items()
    if rest:
        raise ValueError(f"{what} holds several values ({', '.join(value)}); AnyValue holds one")
    expected = _SCALARS.get(kind)
    if expected is not None:
        if not isinstance(inner, expected):
            raise ValueError(f"{what}.{kind} must be a {expected.__name__}, got {inner!r:.60}")
        return inner
    if kind in ("intValue", "int_value"):
        return _json_int(inner, f"{what}.{kind}")
    if kind in ("doubleValue", "double_value"):
        if isinstance(inner, bool) or not isinstance(inner, int | float | str):
            raise ValueError(f"{what}.{kind} must be a number, got {inner!r:.60}")
        try:
            return float(inner)
        except ValueError as exc:
            raise ValueError(f"{what}.{kind} must be a number, got {inner!r:.60}") from exc
    if kind in ("arrayValue", "array_value"):
        values = _list(_object(inner, f"{what}.{kind}"), "values", "values", f"{what}.{kind}")
        return [_json_any(v, f"{what}.{kind}.values[{i}]", depth + 1) for i, v in enumerate(values)]
    if kind in ("kvlistValue", "kvlist_value"):
        values = _list(_object(inner, f"{what}.{kind}"), "values", "values", f"{what}.{kind}")
        return _json_attributes(values, f"{what}.{kind}", depth + 1)
    if kind in ("bytesValue", "bytes_value"):
        try:
            return base64.b64decode(str(inner), validate=True).hex()
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"{what}.{kind} must be base64, got {inner!r:.60}") from exc
    raise ValueError(f"{what} has unknown value kind {kind!r}")


def _json_attributes(items: list[Any], where: str, depth: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, item in enumerate(items):
        kv = _object(item, f"{where}[{i}]")
        key = kv.get("key")
        if not isinstance(key, str):
            raise ValueError(f"{where}[{i}].key must be a string, got {key!r:.60}")
        out[key] = _json_any(kv.get("value", {}), f"attribute {key!r}", depth)
    return out


def _json_hex_id(value: Any, size: int, what: str) -> str:
    if value is None or value == "":
        raise ValueError(f"{what} is missing")
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a hex string, got {type(value).__name__}")
    try:
        raw = bytes.fromhex(value)
    except ValueError as exc:
        raise ValueError(
            f"{what} {value!r:.60} is not hex (OTLP/JSON ids are hex, not base64)"
        ) from exc
    return _hex_id(raw, size, what)


def _json_span(s: dict[str, Any], resource: dict[str, Any], scope: str) -> OtlpSpan:
    trace_id = _json_hex_id(_get(s, "traceId", "trace_id"), 16, "traceId")
    span_id = _json_hex_id(_get(s, "spanId", "span_id"), 8, "spanId")
    parent_raw = _get(s, "parentSpanId", "parent_span_id")
    # An all-zero parent is a root, as in the protobuf form (some SDKs write it out).
    is_root = not parent_raw or (isinstance(parent_raw, str) and not parent_raw.strip("0"))
    parent = None if is_root else _json_hex_id(parent_raw, 8, "parentSpanId")
    name = s.get("name", "")
    if not isinstance(name, str):
        raise ValueError(f"name must be a string, got {name!r:.60}")
    kind = s.get("kind", 0)
    kind = 0 if isinstance(kind, str) else _json_int(kind, "kind")
    status = _object(s.get("status"), "status")
    code = status.get("code", 0)
    code = (
        {"STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}.get(code, 0)
        if isinstance(code, str)
        else code
    )
    message = status.get("message", "")
    events = []
    for i, raw_event in enumerate(_list(s, "events", "events", "span")):
        e = _object(raw_event, f"events[{i}]")
        events.append(
            (
                str(e.get("name", "")),
                _json_int(_get(e, "timeUnixNano", "time_unix_nano") or 0, f"events[{i}].time"),
                _json_attributes(_list(e, "attributes", "attributes", f"events[{i}]"), "event"),
            )
        )
    return OtlpSpan(
        trace_id,
        span_id,
        parent,
        name,
        kind,
        _json_int(_get(s, "startTimeUnixNano", "start_time_unix_nano") or 0, "startTimeUnixNano"),
        _json_int(_get(s, "endTimeUnixNano", "end_time_unix_nano") or 0, "endTimeUnixNano"),
        _json_attributes(_list(s, "attributes", "attributes", "span"), "attributes"),
        resource,
        scope,
        _json_int(code, "status.code"),
        message if isinstance(message, str) else str(message),
        events,
    )


def decode_json(body: bytes) -> tuple[list[OtlpSpan], list[OtlpReject]]:
    """Spans of an OTLP/JSON ``ExportTraceServiceRequest``; raise ``OtlpDecodeError``."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise OtlpDecodeError(f"body is not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise OtlpDecodeError(
            f"body must be a JSON object with resourceSpans, got {type(doc).__name__}"
        )
    try:
        resource_spans = _list(doc, "resourceSpans", "resource_spans", "body")
    except ValueError as exc:
        raise OtlpDecodeError(str(exc)) from exc
    spans: list[OtlpSpan] = []
    rejects: list[OtlpReject] = []
    for ri, rs_raw in enumerate(resource_spans):
        where_r = f"resourceSpans[{ri}]"
        try:
            rs = _object(rs_raw, where_r)
            res = _object(rs.get("resource"), f"{where_r}.resource")
            resource = _json_attributes(
                _list(res, "attributes", "attributes", f"{where_r}.resource"), "resource"
            )
            scope_spans = _list(rs, "scopeSpans", "scope_spans", where_r)
        except ValueError as exc:
            rejects.append(OtlpReject(where_r, str(exc)))
            continue
        for si, ss_raw in enumerate(scope_spans):
            where_s = f"{where_r}.scopeSpans[{si}]"
            try:
                ss = _object(ss_raw, where_s)
                scope_obj = _object(ss.get("scope"), f"{where_s}.scope")
                scope = str(scope_obj.get("name", ""))
                raw_spans = _list(ss, "spans", "spans", where_s)
            except ValueError as exc:
                rejects.append(OtlpReject(where_s, str(exc)))
                continue
            for pi, raw in enumerate(raw_spans):
                where = f"{where_s}.spans[{pi}]"
                try:
                    s = _object(raw, where)
                    name = s.get("name")
                    if isinstance(name, str):
                        where = f"{where} ({name[:80]!r})"
                    spans.append(_json_span(s, resource, scope))
                except (ValueError, RecursionError) as exc:
                    rejects.append(OtlpReject(where, str(exc)))
    return spans, rejects
