"""Decode workers map with the server's options, handed over once, per project."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.ingest.otlp_samples import agent_trace, proto_request

from agentslo.ingest.prices import load_prices
from agentslo.ingest.semconv import MappingOptions
from agentslo.server.decode_pool import (
    _SOCKET_BUFFER,
    DecodePool,
    decode_in_worker,
    start_worker,
)
from agentslo.server.otlp_http import PROTOBUF

from .conftest import ThreadServer


def test_a_worker_maps_with_the_servers_options_for_each_project() -> None:
    # The parent given is this process's own parent: the watch thread stays idle.
    start_worker(os.getppid(), MappingOptions(project="unused", prices=load_prices()))
    body = proto_request(agent_trace())
    for project in ("shop", "billing"):
        batch = decode_in_worker(body, PROTOBUF, project)
        assert set(batch.spans.column("project").to_pylist()) == {project}
        costs = [c for c, k in zip(batch.spans.column("cost_usd").to_pylist(),
                                   batch.spans.column("kind").to_pylist(), strict=True)
                 if k == "llm"]  # fmt: skip
        assert costs and all(c is not None and c > 0 for c in costs)  # priced by the table


def _post(client: httpx.Client, trace: str) -> httpx.Response:
    return client.post(
        "/v1/traces",
        content=proto_request(agent_trace(trace)),
        headers={"content-type": "application/x-protobuf"},
    )


def test_a_dead_worker_fails_only_its_requests_and_is_replaced(
    serve: Callable[..., ThreadServer],
) -> None:
    server = serve(decode_workers=1, no_auth_project="default")
    pool = server.app._pool
    assert pool is not None
    with server.client() as c:
        assert _post(c, "a1" * 16).status_code == 200
        (worker,) = pool._workers
        assert worker is not None
        os.kill(worker.process.pid, signal.SIGKILL)
        # Until the replacement is up, requests are answered 503 with Retry-After
        # (the exporter retries them), never with a broken server.
        deadline = time.monotonic() + 60
        answers = []
        while time.monotonic() < deadline:
            r = _post(c, f"{len(answers):032x}")
            answers.append(r.status_code)
            if r.status_code == 200 and pool.restarts == 1:
                break
            assert r.status_code == 503 and r.headers["retry-after"] == "1", r.text
            time.sleep(0.05)
        assert answers[-1] == 200 and pool.restarts == 1
        assert c.get("/readyz").status_code == 200
        report = c.get("/v1/report", params={"by": ""}).json()
    # The first trace and the one accepted after the restart are stored.
    assert report["overall"]["runs"] == 2


def test_a_failed_restart_is_retried(serve: Callable[..., ThreadServer]) -> None:
    """No fds or memory at the moment of the restart: the pool tries again."""
    server = serve(decode_workers=1, no_auth_project="default")
    pool = server.app._pool
    assert pool is not None
    spawn, failures = pool._spawn, []

    def flaky() -> Any:
        if not failures:
            failures.append(1)
            raise OSError(24, "Too many open files")
        return spawn()

    pool._spawn = flaky  # type: ignore[method-assign]
    with server.client() as c:
        assert _post(c, "b1" * 16).status_code == 200
        (worker,) = pool._workers
        assert worker is not None
        os.kill(worker.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while pool.restarts == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert failures == [1] and pool.restarts == 1
        assert _post(c, "b2" * 16).status_code == 200


def test_a_workers_socket_holds_many_request_frames() -> None:
    """Each end's send buffer is raised (up to the kernel's cap), so that a worker has
    the next requests to read while the event loop waits for the interpreter lock."""
    cap_file = Path("/proc/sys/net/core/wmem_max")
    if not cap_file.exists():
        pytest.skip("no /proc/sys/net/core/wmem_max: the kernel's cap is unknown here")
    expected = min(_SOCKET_BUFFER, int(cap_file.read_text()))
    pool = DecodePool(1, MappingOptions())
    pool.start()
    try:
        (worker,) = [w for w in pool._workers if w is not None]
        # Linux reports twice the size asked for (its bookkeeping included).
        assert worker.sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) >= expected
    finally:
        pool.close()
