"""The decode worker processes: OTLP bodies in, span batches out.

Decoding and mapping are pure Python, so ``agentslo serve`` runs them in worker
processes (``--decode-workers``) to spread them over the cores while the server
process answers HTTP and its writer thread commits. What crosses the process
boundary per request is kept small: the body and the project's name go in (the
mapping options, with their price table and redactor, are handed to each worker
once, at start), and a :class:`~agentslo.ingest.span_batch.SpanBatch` comes back
as one Arrow message.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from typing import Final

from agentslo.ingest.otlp import decode_json, decode_protobuf
from agentslo.ingest.semconv import MappingOptions, map_spans
from agentslo.ingest.span_batch import SpanBatch
from agentslo.server.otlp_http import JSON

__all__ = ["decode_and_map", "decode_in_worker", "exit_with_parent", "start_worker"]

#: How often a decode worker checks that the server process still exists.
_PARENT_POLL_SECONDS: Final = 1.0

#: The worker's mapping options: the server's, and one copy per project seen.
_BASE: list[MappingOptions] = [MappingOptions()]
_BY_PROJECT: dict[str, MappingOptions] = {}


def decode_and_map(body: bytes, encoding: str, options: MappingOptions) -> SpanBatch:
    """Decode an OTLP body and map its spans."""
    decoded, rejects = (decode_json if encoding == JSON else decode_protobuf)(body)
    return SpanBatch.of(map_spans(decoded, options, rejects))


def exit_with_parent(parent: int) -> None:
    """Exit this worker when the server process is gone.

    A worker of a server killed with SIGKILL would otherwise wait for work forever:
    it holds both ends of its own task pipe, so it never sees the end of it.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="agentslo-parent-watch", daemon=True).start()


def start_worker(parent: int, options: MappingOptions) -> None:
    """Worker initializer: watch the server process, keep the server's options."""
    exit_with_parent(parent)
    _BASE[0] = options
    _BY_PROJECT.clear()


def decode_in_worker(body: bytes, encoding: str, project: str) -> SpanBatch:
    """:func:`decode_and_map` with the server's options for ``project``."""
    options = _BY_PROJECT.get(project)
    if options is None:
        options = _BY_PROJECT[project] = replace(_BASE[0], project=project)
    return decode_and_map(body, encoding, options)
