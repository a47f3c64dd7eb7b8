"""OTLP decoding: protobuf and OTLP/JSON give the same spans; bad spans are named."""

from __future__ import annotations

import json

import pytest

from agentslo.ingest.otlp import OtlpDecodeError, decode_json, decode_protobuf

from .otlp_samples import TRACE, agent_trace, json_doc, json_request, proto_request, span


def test_protobuf_and_json_decode_to_the_same_spans() -> None:
    spans = agent_trace()
    spans[0]["attrs"]["list"] = ["a", "b"]
    spans[0]["attrs"]["flag"] = True
    spans[0]["attrs"]["ratio"] = 0.5
    spans[3]["events"] = [
        ("gen_ai.evaluation.result", 5, {"gen_ai.evaluation.score.label": "pass"})
    ]
    from_pb, rej_pb = decode_protobuf(proto_request(spans))
    from_json, rej_json = decode_json(json_request(spans))
    assert rej_pb == rej_json == []
    assert from_pb == from_json
    first = from_pb[0]
    assert first.trace_id == TRACE and first.span_id == "1000000000000001"
    assert first.parent_span_id == "1000000000000000"
    assert first.attributes["gen_ai.usage.input_tokens"] == 1000
    assert first.attributes["list"] == ["a", "b"] and first.attributes["flag"] is True
    assert first.resource == {"service.name": "shop"} and first.scope == "tests"
    assert from_pb[3].parent_span_id is None
    assert from_pb[3].events[0][0] == "gen_ai.evaluation.result"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\xff\xff\xff", "not a valid protobuf"),
        (b"\x0a\x05\x0a\x03", "not a valid protobuf"),
    ],
)
def test_malformed_protobuf_is_a_decode_error(body: bytes, message: str) -> None:
    with pytest.raises(OtlpDecodeError, match=message):
        decode_protobuf(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"resourceSpans": 3}', "must be a JSON array"),
    ],
)
def test_invalid_json_is_a_decode_error(body: bytes, message: str) -> None:
    with pytest.raises(OtlpDecodeError, match=message):
        decode_json(body)


def test_bad_spans_are_rejected_by_name_and_the_rest_kept() -> None:
    spans = agent_trace()
    doc = json_doc(spans)
    raw = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    raw[0]["spanId"] = ""  # missing id
    raw[1]["traceId"] = "AAAAAAAAAAAAAAAAAAAAAA=="  # base64, not hex
    raw[2]["attributes"].append({"key": "bad", "value": {"intValue": "twelve"}})
    decoded, rejects = decode_json(json.dumps(doc).encode())
    assert [s.span_id for s in decoded] == ["1000000000000000"]
    problems = [str(r) for r in rejects]
    assert "spanId is missing" in problems[0]
    assert "not hex" in problems[1]
    assert "attribute 'bad'" in problems[2] and "integer" in problems[2]
    assert "'chat gpt-4o-mini'" in problems[0]


def test_protobuf_ids_of_the_wrong_size_or_all_zero_are_rejected() -> None:
    spans = [span("1000000000000001", "a"), span("0000000000000000", "b")]
    spans.append({**span("1000000000000003", "c"), "trace_id": "00" * 16})
    decoded, rejects = decode_protobuf(proto_request(spans))
    assert [s.name for s in decoded] == ["a"]
    assert [("all zeros" in str(r)) for r in rejects] == [True, True]


def test_deeply_nested_attributes_are_refused() -> None:
    value: dict[str, object] = {"stringValue": "x"}
    for _ in range(20):
        value = {"arrayValue": {"values": [value]}}
    doc = json_doc([span("1000000000000001", "deep")])
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"] = [
        {"key": "deep", "value": value}
    ]
    decoded, rejects = decode_json(json.dumps(doc).encode())
    assert decoded == []
    assert "nested deeper" in str(rejects[0])


def test_json_accepts_snake_case_names_and_enum_names() -> None:
    doc = {
        "resource_spans": [
            {
                "scope_spans": [
                    {
                        "spans": [
                            {
                                "trace_id": TRACE,
                                "span_id": "1000000000000001",
                                "name": "x",
                                "kind": "SPAN_KIND_INTERNAL",
                                "start_time_unix_nano": 1_700_000_000_000_000_000,
                                "status": {"code": "STATUS_CODE_ERROR"},
                            }
                        ]
                    }
                ]
            }
        ]
    }
    decoded, rejects = decode_json(json.dumps(doc).encode())
    assert rejects == []
    assert decoded[0].start_ns == 1_700_000_000_000_000_000 and decoded[0].status_code == 2


def test_an_all_zero_parent_is_a_root_in_both_forms() -> None:
    """Some SDKs write a root's parent out as zeros: protobuf and JSON agree it is a root."""
    spans = agent_trace()
    spans[3]["parent"] = "0" * 16
    from_pb, rej_pb = decode_protobuf(proto_request(spans))
    from_json, rej_json = decode_json(json_request(spans))
    assert rej_pb == rej_json == []
    assert from_pb == from_json
    assert from_pb[3].parent_span_id is None
