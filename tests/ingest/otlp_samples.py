"""Build OTLP trace export requests (protobuf and OTLP/JSON) from plain dicts."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

TRACE = "0af7651916cd43dd8448eb211c80319c"
NOW_NS = time.time_ns() - 60 * 10**9


def span(
    span_id: str,
    name: str,
    attrs: dict[str, Any] | None = None,
    *,
    trace: str = TRACE,
    parent: str | None = None,
    start_ms: int = 0,
    duration_ms: int = 100,
    status: int = 0,
    message: str = "",
    events: list[tuple[str, int, dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """A span as a dict; times relative to a minute ago."""
    start = NOW_NS + start_ms * 10**6
    return {
        "trace_id": trace,
        "span_id": span_id,
        "parent": parent,
        "name": name,
        "attrs": attrs or {},
        "start": start,
        "end": start + duration_ms * 10**6,
        "status": status,
        "message": message,
        "events": [(n, start + off * 10**6, a) for n, off, a in (events or [])],
    }


def _any(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        out = AnyValue()
        out.array_value.values.extend(_any(v) for v in value)
        return out
    return AnyValue(string_value=str(value))


def _kvs(attrs: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=_any(v)) for k, v in attrs.items()]


def proto_request(spans: list[dict[str, Any]], resource: dict[str, Any] | None = None) -> bytes:
    """A binary ExportTraceServiceRequest holding ``spans``."""
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.extend(_kvs(resource or {"service.name": "shop"}))
    ss = rs.scope_spans.add()
    ss.scope.name = "tests"
    for s in spans:
        pb = PbSpan(
            trace_id=bytes.fromhex(s["trace_id"]),
            span_id=bytes.fromhex(s["span_id"]),
            parent_span_id=bytes.fromhex(s["parent"]) if s["parent"] else b"",
            name=s["name"],
            kind=PbSpan.SPAN_KIND_INTERNAL,
            start_time_unix_nano=s["start"],
            end_time_unix_nano=s["end"],
        )
        pb.attributes.extend(_kvs(s["attrs"]))
        pb.status.code = s["status"]
        pb.status.message = s["message"]
        for name, t, attrs in s["events"]:
            event = pb.events.add()
            event.name = name
            event.time_unix_nano = t
            event.attributes.extend(_kvs(attrs))
        ss.spans.append(pb)
    return request.SerializeToString()


def _json_any(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_json_any(v) for v in value]}}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode()}
    return {"stringValue": str(value)}


def _json_kvs(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _json_any(v)} for k, v in attrs.items()]


def json_doc(spans: list[dict[str, Any]], resource: dict[str, Any] | None = None) -> dict[str, Any]:
    """An OTLP/JSON ExportTraceServiceRequest document holding ``spans``."""
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _json_kvs(resource or {"service.name": "shop"})},
                "scopeSpans": [
                    {
                        "scope": {"name": "tests"},
                        "spans": [
                            {
                                "traceId": s["trace_id"],
                                "spanId": s["span_id"],
                                **({"parentSpanId": s["parent"]} if s["parent"] else {}),
                                "name": s["name"],
                                "kind": 1,
                                "startTimeUnixNano": str(s["start"]),
                                "endTimeUnixNano": str(s["end"]),
                                "attributes": _json_kvs(s["attrs"]),
                                "status": {"code": s["status"], "message": s["message"]},
                                "events": [
                                    {
                                        "timeUnixNano": str(t),
                                        "name": n,
                                        "attributes": _json_kvs(a),
                                    }
                                    for n, t, a in s["events"]
                                ],
                            }
                            for s in spans
                        ],
                    }
                ],
            }
        ]
    }


def json_request(spans: list[dict[str, Any]], resource: dict[str, Any] | None = None) -> bytes:
    return json.dumps(json_doc(spans, resource)).encode()


def agent_trace(
    trace: str = TRACE, agent: str = "support", *, outcome: str | None = None
) -> list[dict[str, Any]]:
    """A small GenAI (v1.37 form) trace: agent root, two model calls, one tool call."""
    root_attrs: dict[str, Any] = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": agent,
    }
    if outcome:
        root_attrs |= {"agentslo.outcome": outcome, "agentslo.outcome.source": "verified"}
    llm = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 200,
    }
    return [
        span(
            "1000000000000001",
            "chat gpt-4o-mini",
            llm,
            trace=trace,
            parent="1000000000000000",
            start_ms=10,
        ),
        span(
            "1000000000000002",
            "execute_tool lookup",
            {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup"},
            trace=trace,
            parent="1000000000000000",
            start_ms=200,
        ),
        span(
            "1000000000000003",
            "chat gpt-4o-mini",
            llm,
            trace=trace,
            parent="1000000000000000",
            start_ms=300,
        ),
        span("1000000000000000", f"invoke_agent {agent}", root_attrs, trace=trace, duration_ms=500),
    ]
