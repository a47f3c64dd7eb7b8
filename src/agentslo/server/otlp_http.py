"""OTLP/HTTP, as the specification defines it: content types, encodings, responses.

- ``Content-Type``: ``application/x-protobuf`` or ``application/json``; anything
  else is 415. The response uses the request's encoding.
- ``Content-Encoding``: ``gzip`` or none (``identity``); anything else is 415. The
  decompressed size is capped (413), so a small bomb cannot exhaust memory.
- Success: 200 with an ``ExportTraceServiceResponse``; when some spans were refused,
  its ``partial_success`` carries ``rejected_spans`` and an ``error_message``
  naming them (the message may also carry warnings with nothing rejected).
- Errors: a ``google.rpc.Status`` body with the message (400 malformed, 413 too
  large, 415 unsupported), 429/503 with ``Retry-After`` when shedding load.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)

__all__ = [
    "JSON",
    "PROTOBUF",
    "HttpError",
    "decompress",
    "encoding_of",
    "export_response",
    "status_body",
]

PROTOBUF: Final = "application/x-protobuf"
JSON: Final = "application/json"
_MAX_MESSAGE: Final = 2000


@dataclass
class HttpError(Exception):
    """An error answer: status code, message, and headers such as Retry-After."""

    status: int
    message: str
    headers: Sequence[tuple[str, str]] = ()

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"


def encoding_of(content_type: str | None) -> str:
    """``PROTOBUF`` or ``JSON`` for a Content-Type header; 415 otherwise."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in (PROTOBUF, JSON):
        return media
    raise HttpError(
        415,
        f"unsupported Content-Type {content_type!r}; OTLP/HTTP takes {PROTOBUF} or {JSON}",
    )


def decompress(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The body after ``Content-Encoding`` (gzip or identity), at most ``limit`` bytes."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise HttpError(415, f"unsupported Content-Encoding {content_encoding!r}; use gzip or none")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise HttpError(400, f"body is not valid gzip ({exc})") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise HttpError(413, f"decompressed body exceeds {limit} bytes; send smaller batches")
    if not inflater.eof:
        raise HttpError(400, "gzip body is truncated")
    return out


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


#: HTTP status -> google.rpc.Code, for the Status body.
_RPC_CODES: Final = {400: 3, 401: 16, 403: 7, 404: 5, 413: 3, 415: 3, 429: 8, 503: 14}


def status_body(encoding: str, status: int, message: str) -> bytes:
    """A ``google.rpc.Status`` with ``message``, in ``encoding``."""
    code = _RPC_CODES.get(status, 2)
    message = message[:_MAX_MESSAGE]
    if encoding == JSON:
        return json.dumps({"code": code, "message": message}).encode()
    raw = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(raw)) + raw


#: The answer to a request with nothing to report, per encoding (every clean export).
_NO_NEWS: Final = {
    JSON: b"{}",
    PROTOBUF: bytes(ExportTraceServiceResponse().SerializeToString()),
}


def export_response(encoding: str, rejected: int, message: str) -> bytes:
    """An ``ExportTraceServiceResponse`` (with ``partial_success`` when there is news)."""
    if not rejected and not message:
        return _NO_NEWS[encoding]
    message = message[:_MAX_MESSAGE]
    if encoding == JSON:
        if not rejected and not message:
            return b"{}"
        partial: dict[str, object] = {"errorMessage": message}
        if rejected:
            partial["rejectedSpans"] = str(rejected)
        return json.dumps({"partialSuccess": partial}).encode()
    response = ExportTraceServiceResponse()
    if rejected or message:
        response.partial_success.CopyFrom(
            ExportTracePartialSuccess(rejected_spans=rejected, error_message=message)
        )
    return bytes(response.SerializeToString())
