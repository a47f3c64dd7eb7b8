"""POST /v1/traces follows the OTLP/HTTP specification, including its error cases."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from tests.ingest.otlp_samples import agent_trace, json_doc, json_request, proto_request, span

from agentslo.store import open_store

from .conftest import ThreadServer

PB = {"content-type": "application/x-protobuf"}
JS = {"content-type": "application/json"}


def stored_spans(server: ThreadServer) -> int:
    server.settle()
    reader = server.app.reader()
    try:
        return reader.count("spans")
    finally:
        reader.close()


def rpc_message(body: bytes) -> str:
    # google.rpc.Status: field 1 code (varint), field 2 message (string).
    assert body[0] == 0x08
    i = 2
    assert body[i] == 0x12
    length, shift, i = 0, 0, i + 1
    while True:
        byte = body[i]
        length |= (byte & 0x7F) << shift
        i += 1
        if not byte & 0x80:
            break
        shift += 7
    return body[i : i + length].decode()


def test_protobuf_export_is_acknowledged_and_stored(serve: Callable[..., ThreadServer]) -> None:
    server = serve(no_auth_project="default")
    with server.client() as client:
        r = client.post("/v1/traces", content=proto_request(agent_trace()), headers=PB)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-protobuf"
    response = ExportTraceServiceResponse.FromString(r.content)
    assert not response.HasField("partial_success")
    writer = server.app.writer
    assert writer is not None and writer.journaled == 1  # on disk before the 200
    assert stored_spans(server) == 4


def test_json_and_gzip(serve: Callable[..., ThreadServer]) -> None:
    server = serve(no_auth_project="default")
    with server.client() as client:
        r = client.post(
            "/v1/traces",
            content=gzip.compress(json_request(agent_trace())),
            headers={**JS, "content-encoding": "gzip"},
        )
    assert r.status_code == 200 and r.json() == {}
    assert r.headers["content-type"] == "application/json"
    assert stored_spans(server) == 4


def test_mixed_batch_keeps_the_valid_spans(serve: Callable[..., ThreadServer]) -> None:
    server = serve(no_auth_project="default")
    doc = json_doc(agent_trace())
    raw = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    raw[0]["spanId"] = "xyz"
    raw[1]["startTimeUnixNano"] = str(2**62)  # far future
    raw[2]["attributes"].append(
        {"key": "gen_ai.usage.output_tokens", "value": {"stringValue": "x"}}
    )
    with server.client() as client:
        r = client.post("/v1/traces", content=json.dumps(doc), headers=JS)
    assert r.status_code == 200
    partial = r.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "2"
    assert "spanId" in partial["errorMessage"] and "future" in partial["errorMessage"]
    assert "warning: attribute 'gen_ai.usage.output_tokens'" in partial["errorMessage"]
    assert stored_spans(server) == 2


def test_protobuf_partial_success(serve: Callable[..., ThreadServer]) -> None:
    server = serve(no_auth_project="default")
    spans = [*agent_trace(), span("0000000000000000", "zero id")]
    with server.client() as client:
        r = client.post("/v1/traces", content=proto_request(spans), headers=PB)
    response = ExportTraceServiceResponse.FromString(r.content)
    assert r.status_code == 200
    assert response.partial_success.rejected_spans == 1
    assert "zero id" in response.partial_success.error_message


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (b"\xff\x01garbage", PB, 400, "not a valid protobuf"),
        (b"{oops", JS, 400, "not valid JSON"),
        (b"{}", {"content-type": "text/plain"}, 415, "unsupported Content-Type"),
        (b"{}", {**JS, "content-encoding": "br"}, 415, "unsupported Content-Encoding"),
        (b"not gzip", {**JS, "content-encoding": "gzip"}, 400, "not valid gzip"),
    ],
)
def test_bad_requests(
    serve: Callable[..., ThreadServer],
    body: bytes,
    headers: dict[str, str],
    status: int,
    message: str,
) -> None:
    server = serve(no_auth_project="default")
    with server.client() as client:
        r = client.post("/v1/traces", content=body, headers=headers)
    assert r.status_code == status
    text = r.json()["message"] if "json" in r.headers["content-type"] else rpc_message(r.content)
    assert message in text


def test_all_spans_invalid_is_400(serve: Callable[..., ThreadServer]) -> None:
    server = serve(no_auth_project="default")
    with server.client() as client:
        r = client.post(
            "/v1/traces", content=proto_request([span("0000000000000000", "x")]), headers=PB
        )
    assert r.status_code == 400 and "no valid span" in rpc_message(r.content)


def test_too_large_bodies_are_413(serve: Callable[..., ThreadServer]) -> None:
    server = serve(no_auth_project="default", max_body=10_000, max_decoded=50_000)
    big = json_request([span("1000000000000001", "x", {"pad": "a" * 20_000})])
    bomb = gzip.compress(b'{"resourceSpans": []' + b" " * 200_000 + b"}")
    with server.client() as client:
        assert client.post("/v1/traces", content=big, headers=JS).status_code == 413
        r = client.post("/v1/traces", content=bomb, headers={**JS, "content-encoding": "gzip"})
    assert len(bomb) < 10_000 and r.status_code == 413
    assert "decompressed body exceeds" in r.json()["message"]


def test_a_full_queue_sheds_with_429_and_retry_after(serve: Callable[..., ThreadServer]) -> None:
    server = serve(no_auth_project="default", max_queued=5)
    writer = server.app.writer
    assert writer is not None
    release = threading.Event()
    commit = writer._commit

    def stalled(con: Any, jobs: Any) -> None:  # a slow disk: the writer holds its batch
        release.wait(30)
        commit(con, jobs)

    writer._commit = stalled  # type: ignore[method-assign]
    body = proto_request(agent_trace())
    with ThreadPoolExecutor(2) as pool, server.client() as client:
        first = pool.submit(client.post, "/v1/traces", content=body, headers=PB)
        while writer.queued == 0 or writer._queue:
            time.sleep(0.01)  # the writer took the first request and is stuck in it
        second = pool.submit(client.post, "/v1/traces", content=body, headers=PB)
        while not writer._queue:
            time.sleep(0.01)
        shed = client.post("/v1/traces", content=body, headers=PB)
        assert client.get("/readyz").status_code == 503
        release.set()
        assert first.result().status_code == 200 and second.result().status_code == 200
    assert shed.status_code == 429
    assert int(shed.headers["retry-after"]) >= 1
    assert "queue is full" in rpc_message(shed.content)
    assert stored_spans(server) == 4  # the same trace twice: stored once


def test_wrong_method_and_unknown_path(serve: Callable[..., ThreadServer]) -> None:
    server = serve(no_auth_project="default")
    with server.client() as client:
        assert client.get("/v1/traces").status_code == 405
        assert client.get("/nope").status_code == 404
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_acknowledged_spans_survive_a_restart(
    serve: Callable[..., ThreadServer], tmp_path: Any
) -> None:
    server = serve(no_auth_project="default")
    with server.client() as client:
        for i in range(5):
            trace = f"{i + 1:032x}"
            r = client.post("/v1/traces", content=proto_request(agent_trace(trace)), headers=PB)
            assert r.status_code == 200
    server.stop()
    with open_store(tmp_path / "serve.duckdb", read_only=True) as store:
        assert store.count("spans") == 20 and store.count("runs") == 5
