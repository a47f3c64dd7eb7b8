"""The load generator's open loop (``bench/ingest.py --rate``) measures latency from
when a request was due, so that a receiver falling behind cannot slow the load
down and hide it (coordinated omission)."""

from __future__ import annotations

import argparse
import importlib.util
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


def _bench() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "ingest.py"
    spec = importlib.util.spec_from_file_location("bench_ingest_pacing", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def slow_server() -> Iterator[tuple[str, int]]:
    """An HTTP/1.1 server on loopback that answers each request after 40 ms."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while not stop.is_set():
                head_end = buffer.find(b"\r\n\r\n")
                if head_end < 0:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                    continue
                head = buffer[:head_end].decode("latin-1").lower()
                length = int(head.split("content-length:")[1].split("\r\n")[0])
                while len(buffer) < head_end + 4 + length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                buffer = buffer[head_end + 4 + length :]
                time.sleep(0.04)
                conn.sendall(_ANSWER)

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()
    stop.set()
    thread.join()
    listener.close()


def test_open_loop_latency_counts_the_wait_for_a_busy_connection(
    slow_server: tuple[str, int],
) -> None:
    bench = _bench()
    host, port = slow_server
    start = time.monotonic()
    # Due every 10 ms on one connection that takes 40 ms per answer: it falls
    # further behind with each request, and the latencies must say so.
    latencies, codes, acked, lag, _ = bench._connection(
        0, host, port, "/v1/traces", b"x" * 100, start, start + 0.3, 0.01
    )
    assert codes == {200: 30}
    assert len(acked) == 30 * bench.TRACES_PER_REQUEST
    assert latencies[-1] > 0.9  # due at 0.29 s, answered after 30 x 40 ms
    assert latencies == sorted(latencies)
    assert lag > 0.8


def test_closed_loop_latency_is_the_answer_time(slow_server: tuple[str, int]) -> None:
    bench = _bench()
    host, port = slow_server
    start = time.monotonic()
    latencies, codes, _, lag, last = bench._connection(
        0, host, port, "/v1/traces", b"x" * 100, start, start + 0.3
    )
    assert 5 <= codes[200] <= 9
    assert all(0.035 < x < 0.3 for x in latencies)
    assert lag == 0.0
    assert last >= start + 0.3


@pytest.mark.parametrize("text", ["0", "-5", "abc"])
def test_a_rate_or_count_that_is_not_above_zero_is_refused(text: str) -> None:
    """A zero or negative rate would schedule requests that are never due."""
    with pytest.raises(argparse.ArgumentTypeError, match=repr(text)):
        _bench()._positive(float)(text)
