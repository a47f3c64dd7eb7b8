"""Load generator for OTLP/HTTP trace receivers: agentslo serve, and Arize Phoenix.

Sends realistic agent traces (10 spans each: an ``invoke_agent`` root, 5 model
calls with token usage, 4 tool calls; GenAI v1.37 attributes) in requests of 100
spans from several concurrent clients, for a fixed time, and reports:

- accepted spans/s: spans in requests answered 200, per second of the run (from
  the first send to the last answer);
- stored spans/s: spans found in the receiver's store afterwards, per second of
  the run (waiting for the receiver to flush what it buffered);
- for agentslo, committed-by-the-end spans/s: spans its database held when the
  load ended (read from ``/metrics``), per second of the run, and the backlog it
  still had to commit. agentslo answers once a request is journaled, so this is
  the rate the database itself kept up with, and the figure to quote as sustained;
- p50/p99 acknowledgement latency, rejections (non-200 answers), and loss: spans
  acknowledged but not stored.

Two kinds of load:

- **closed loop** (the default): each connection sends its next request when the
  last is answered. It measures the most the receiver takes at that concurrency,
  but a receiver that stalls also stalls the load, so a stall shows in the
  latencies of the few requests in flight only.
- **open loop** (``--rate SPANS_PER_S``): requests are due on a schedule spread over
  all connections, answered or not, and each latency runs from when its request
  was due. This is a fleet of exporters that do not wait for the receiver: a
  stall delays every request due meanwhile, and a receiver slower than the rate
  falls further behind (``worst_send_lag_ms`` says how far). Give enough
  connections for the rate times the answers' latency.

Run::

    python bench/ingest.py --duration 30 --clients 4 --threads 8   # agentslo only
    python bench/ingest.py --phoenix /path/to/venv/bin/phoenix    # and Phoenix, same load
    python bench/ingest.py --duration 120 --threads 32 --rate 50000  # open loop

Clients patch unique trace ids into a pre-serialised protobuf body (``bytes.replace``),
so that the load generator spends its CPU on sending rather than on encoding, and
run in a separate process from the receiver. The machine is shared by both: on 2
cores the figures are a floor for the receiver, not its ceiling.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

SPANS_PER_TRACE = 10
TRACES_PER_REQUEST = 10
#: Trace ids are TRACE_MARK + 4 bytes of slot, span ids SPAN_MARK + 4 bytes; each
#: request replaces both marks with fresh bytes (ids unique across the run).
TRACE_MARK = b"\xa5\x5a\xa5\x5a\xa5\x5a\xa5\x5a\xa5\x5a\xa5\x5a"
SPAN_MARK = b"\xc3\x3c\xc3\x3c"


def _kv(key: str, value: Any) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def _trace_spans(slot: int, start_ns: int) -> list[Span]:
    trace_id = TRACE_MARK + slot.to_bytes(4, "big")
    root_id = SPAN_MARK + (slot * 16 + 1).to_bytes(4, "big")
    spans = []
    t = start_ns
    for i in range(5):
        llm = Span(
            trace_id=trace_id,
            span_id=SPAN_MARK + (slot * 16 + 2 + i).to_bytes(4, "big"),
            parent_span_id=root_id,
            name="chat gpt-4o-mini",
            kind=Span.SPAN_KIND_CLIENT,
            start_time_unix_nano=t,
            end_time_unix_nano=t + 900_000_000,
        )
        llm.attributes.extend(
            [
                _kv("gen_ai.operation.name", "chat"),
                _kv("gen_ai.provider.name", "openai"),
                _kv("gen_ai.request.model", "gpt-4o-mini"),
                _kv("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
                _kv("gen_ai.agent.name", "support"),
                _kv("gen_ai.usage.input_tokens", 1200 + 100 * i),
                _kv("gen_ai.usage.output_tokens", 150),
                _kv("gen_ai.response.finish_reasons", "stop"),
            ]
        )
        spans.append(llm)
        t += 1_000_000_000
        if i < 4:
            tool = Span(
                trace_id=trace_id,
                span_id=SPAN_MARK + (slot * 16 + 8 + i).to_bytes(4, "big"),
                parent_span_id=root_id,
                name="execute_tool lookup_order",
                kind=Span.SPAN_KIND_INTERNAL,
                start_time_unix_nano=t,
                end_time_unix_nano=t + 200_000_000,
            )
            tool.attributes.extend(
                [
                    _kv("gen_ai.operation.name", "execute_tool"),
                    _kv("gen_ai.tool.name", "lookup_order"),
                    _kv("gen_ai.tool.call.id", f"call_{slot}_{i}"),
                    _kv("gen_ai.agent.name", "support"),
                ]
            )
            spans.append(tool)
            t += 250_000_000
    root = Span(
        trace_id=trace_id,
        span_id=root_id,
        name="invoke_agent support",
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start_ns - 1_000_000,
        end_time_unix_nano=t,
    )
    root.attributes.extend(
        [
            _kv("gen_ai.operation.name", "invoke_agent"),
            _kv("gen_ai.agent.name", "support"),
            _kv("gen_ai.agent.version", "2026-11-01"),
            _kv("gen_ai.conversation.id", f"conv-{slot}"),
            _kv("user.id", f"user-{slot % 97}"),
        ]
    )
    spans.append(root)
    return spans


def template() -> bytes:
    """One request: 10 traces of 10 spans, trace ids marked for patching."""
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.extend(
        [_kv("service.name", "support-bot"), _kv("service.version", "1.4.2")]
    )
    ss = rs.scope_spans.add()
    ss.scope.name = "bench"
    start = time.time_ns() - 60 * 10**9
    for slot in range(TRACES_PER_REQUEST):
        ss.spans.extend(_trace_spans(slot, start))
    return request.SerializeToString()


class _RawClient:
    """A keep-alive HTTP/1.1 client over a plain socket: one ``sendall`` per request
    and a minimal response parser, so the generator spends little of the CPU it
    shares with the receiver (``http.client`` costs several times more per request)."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.address = (host, port)
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/x-protobuf\r\nContent-Length: "
        ).encode()
        self.sock: socket.socket | None = None
        self.buffer = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buffer = sock, b""
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def post(self, body: bytes) -> int:
        """Send ``body``; return the response's status code (0: connection failed)."""
        try:
            sock = self.sock or self._connect()
            sock.sendall(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
            return self._response(sock)
        except (OSError, ValueError):
            self.close()
            return 0

    def _response(self, sock: socket.socket) -> int:
        data = self.buffer
        while (end := data.find(b"\r\n\r\n")) < 0:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        head = data[:end].decode("latin-1").lower()
        status = int(head[9:12])
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name == "content-length":
                length = int(value)
        data = data[end + 4 :]
        while len(data) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        self.buffer = data[length:]
        if "connection: close" in head:
            self.close()
        return status


def _connection(
    worker: int,
    host: str,
    port: int,
    path: str,
    body: bytes,
    start: float,
    until: float,
    period: float | None = None,
) -> tuple[list[float], dict[int, int], list[bytes], float, float]:
    """Send requests on one connection from ``start`` until ``until`` (monotonic).

    Closed loop (``period`` None): the next request goes as soon as the last is
    answered. Open loop: a request is due every ``period`` seconds from ``start``,
    whether or not the receiver keeps up, and its latency runs from when it was
    due, not from when the connection got round to sending it, so a receiver that
    falls behind shows it in the latencies instead of slowing the load down (no
    coordinated omission). Returns the latencies, the status codes, the
    acknowledged trace ids, the largest delay of a send past its due time, and
    when the last answer came.
    """
    latencies: list[float] = []
    codes: dict[int, int] = {}
    acked_traces: list[bytes] = []
    client = _RawClient(host, port, path)
    n = 0
    due = start
    worst_lag = 0.0
    time.sleep(max(0.0, start - time.monotonic()))
    while True:
        now = time.monotonic()
        if period is not None:
            if due >= until:
                break
            if due > now:
                time.sleep(due - now)
            else:
                worst_lag = max(worst_lag, now - due)
            started = due
            due += period
        elif now >= until:
            break
        else:
            started = now
        n += 1
        trace_nonce = worker.to_bytes(2, "big") + n.to_bytes(6, "big") + os.urandom(4)
        # Span ids need be unique within their trace only (the trace nonce is).
        span_nonce = (worker % 256).to_bytes(1, "big") + (n % (1 << 24)).to_bytes(3, "big")
        request = body.replace(TRACE_MARK, trace_nonce).replace(SPAN_MARK, span_nonce)
        status = client.post(request)
        latencies.append(time.monotonic() - started)
        codes[status] = codes.get(status, 0) + 1
        if status == 200:
            acked_traces.extend(trace_nonce + slot.to_bytes(4, "big")
                                for slot in range(TRACES_PER_REQUEST))  # fmt: skip
        elif status in (429, 503) and period is None:
            time.sleep(0.05)
    client.close()
    return latencies, codes, acked_traces, worst_lag, time.monotonic()


def _client(
    process: int,
    threads: int,
    host: str,
    port: int,
    path: str,
    body: bytes,
    start: float,
    until: float,
    out: Any,
    pacing: tuple[float, int] | None = None,
) -> None:
    """One client process with ``threads`` connections, each sending in a loop, or,
    with ``pacing`` = (requests per second of all processes, number of processes),
    each on a schedule: the requests of all connections of all processes are due
    evenly spread in time."""
    cpu_started = time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        futures = []
        for t in range(threads):
            first, period = start, None
            if pacing is not None:
                rate, processes = pacing
                connections = threads * processes
                period = connections / rate
                first = start + period * (t * processes + process) / connections
            worker = process * threads + t
            futures.append(
                pool.submit(_connection, worker, host, port, path, body, first, until, period)
            )
        results = [f.result() for f in futures]
    codes: dict[int, int] = {}
    for r in results:
        for code, count in r[1].items():
            codes[code] = codes.get(code, 0) + count
    out.put(
        (
            [x for r in results for x in r[0]],
            codes,
            [t.hex() for r in results for t in r[2]],
            time.process_time() - cpu_started,
            max((r[3] for r in results), default=0.0),
            max((r[4] for r in results), default=start),
        )
    )


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its live
    descendants (the receiver's decode workers), read from Linux's ``/proc``."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / tick
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            pending.extend(int(c) for c in task.read_text().split())
    return total


def drive(
    url: str,
    duration: float,
    clients: int,
    threads: int = 1,
    server_pid: int | None = None,
    rate: float | None = None,
) -> dict[str, Any]:
    """Send the load for ``duration`` seconds; return what the clients saw (and the
    CPU seconds the receiver's process tree and the clients used meanwhile).

    Without ``rate`` each connection sends as fast as it is answered (the most the
    receiver takes at this concurrency); with ``rate`` (spans per second) the load
    is offered at that rate whatever the answers (see :func:`_connection`).
    """
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    body = template()
    start = time.monotonic() + 0.5  # the client processes are forked by then
    until = start + duration
    pacing = (rate / (SPANS_PER_TRACE * TRACES_PER_REQUEST), clients) if rate else None
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [
        ctx.Process(
            target=_client,
            args=(w, threads, host, int(port), "/v1/traces", body, start, until, out, pacing),
        )
        for w in range(clients)
    ]
    server_cpu = tree_cpu_seconds(server_pid) if server_pid is not None else 0.0
    load_started = os.getloadavg()[0]
    for p in procs:
        p.start()
    results = []
    while len(results) < len(procs):
        try:
            results.append(out.get(timeout=5))
        except queue.Empty:
            if time.monotonic() > until + 60 or not any(p.is_alive() for p in procs):
                raise RuntimeError("a client process died without reporting") from None
    for p in procs:
        p.join()
    # From the first send to the last answer.
    elapsed = max(r[5] for r in results) - start
    if server_pid is not None:
        server_cpu = tree_cpu_seconds(server_pid) - server_cpu
    latencies = sorted(x for r in results for x in r[0])
    codes: dict[int, int] = {}
    for r in results:
        for code, count in r[1].items():
            codes[code] = codes.get(code, 0) + count
    acked = [t for r in results for t in r[2]]
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "seconds": elapsed,
        "requests": len(latencies),
        "codes": codes,
        "acked_traces": acked,
        "accepted_spans": len(acked) * SPANS_PER_TRACE,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "server_cpu_s": server_cpu if server_pid is not None else None,
        "client_cpu_s": sum(r[3] for r in results),
        "load_average": (load_started, os.getloadavg()[0]),
        "offered_spans_per_s": rate,
        "worst_send_lag_s": max(r[4] for r in results),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    host, port = url.split("//", 1)[1].split(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            with socket.create_connection((host, int(port.split("/")[0])), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def _committed_now(url: str) -> dict[str, Any]:
    """Spans in the database and still waiting for it, read from ``/metrics`` as the load
    ends: acknowledged spans are journaled first, so the rate the database itself
    kept up with is the committed spans at the end over the run's seconds."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as r:
        text = r.read().decode()
    found: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name.startswith("agentslo_ingest_"):
            found[name.removeprefix("agentslo_ingest_")] = float(value)
    syncs = found.get("journal_syncs_total", 0)
    return {
        "committed_at_end": int(found.get("spans_committed_total", 0)),
        "backlog_at_end": int(found.get("queue_items", 0)),
        "journal_sync_mean_ms": found.get("journal_seconds_total", 0) / syncs * 1000
        if syncs
        else None,
        "journal_sync_max_ms": found.get("journal_max_seconds", 0) * 1000,
        "checkpoints": int(found.get("checkpoints_total", 0)),
        "checkpoint_seconds": found.get("checkpoint_seconds_total", 0),
    }


def run_agentslo(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    db = work / "bench.duckdb"
    port = _free_port()
    agentslo = shutil.which("agentslo") or str(Path(sys.executable).with_name("agentslo"))
    proc = subprocess.Popen(
        [agentslo, "serve", "--no-auth", "--db", str(db), "--port", str(port),
         "--log-level", "warning", *args.serve_arg],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url, proc)
        time.sleep(1.0)
        result = drive(url, args.duration, args.clients, args.threads, proc.pid, args.rate)
        result.update(_committed_now(url))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    stored = con.execute("SELECT count(*) FROM spans").fetchone()[0]
    runs = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    con.execute("CREATE TEMP TABLE acked (trace_id VARCHAR)")
    con.executemany("INSERT INTO acked VALUES (?)", [(t,) for t in result["acked_traces"]])
    lost = con.execute(
        "SELECT count(*) FROM acked a ANTI JOIN (SELECT DISTINCT trace_id FROM spans) s "
        "USING (trace_id)"
    ).fetchone()[0]
    con.close()
    result.update(stored_spans=stored, runs=runs, lost_traces=lost)
    return result


def _phoenix_count(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return int(con.execute("SELECT count(*) FROM spans").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return -1


def run_phoenix(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    home = work / "phoenix"
    home.mkdir()
    port = _free_port()
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(home),
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(_free_port()),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    proc = subprocess.Popen(
        [args.phoenix, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    db = home / "phoenix.db"
    try:
        _wait_http(url, proc)
        time.sleep(3.0)
        result = drive(url, args.duration, args.clients, args.threads, proc.pid)
        # Phoenix answers before it writes: wait until its store stops growing.
        last, stable_since = -1, time.monotonic()
        flush_deadline = time.monotonic() + 300
        while time.monotonic() < flush_deadline:
            count = _phoenix_count(db)
            if count != last:
                last, stable_since = count, time.monotonic()
            elif time.monotonic() - stable_since > 5:
                break
            time.sleep(1)
        result["flush_seconds"] = time.monotonic() - stable_since
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    stored = _phoenix_count(db)
    result.update(
        stored_spans=stored,
        runs=None,
        lost_traces=(result["accepted_spans"] - stored) // SPANS_PER_TRACE,
    )
    return result


def _summary(name: str, r: dict[str, Any]) -> dict[str, Any]:
    return {
        "receiver": name,
        "seconds": round(r["seconds"], 1),
        "offered_spans_per_s": r["offered_spans_per_s"] or "closed loop",
        "worst_send_lag_ms": round(r["worst_send_lag_s"] * 1000, 1),
        "requests": r["requests"],
        "status_codes": r["codes"],
        "accepted_spans_per_s": round(r["accepted_spans"] / r["seconds"]),
        "stored_spans_per_s": round(r["stored_spans"] / r["seconds"]),
        **(
            {
                "committed_by_end_spans_per_s": round(r["committed_at_end"] / r["seconds"]),
                "backlog_at_end_spans": r["backlog_at_end"],
                "journal_sync_mean_ms": _round(r["journal_sync_mean_ms"], 2),
                "journal_sync_max_ms": round(r["journal_sync_max_ms"], 1),
                "checkpoints": r["checkpoints"],
                "checkpoint_seconds": round(r["checkpoint_seconds"], 1),
            }
            if "committed_at_end" in r
            else {}
        ),
        "ack_p50_ms": round(r["p50_ms"], 1),
        "ack_p99_ms": round(r["p99_ms"], 1),
        "rejected_requests": sum(c for code, c in r["codes"].items() if code != 200),
        "lost_acknowledged_traces": r["lost_traces"],
        "stored_spans": r["stored_spans"],
        "runs": r["runs"],
        "server_cpu_us_per_stored_span": _per_span(r["server_cpu_s"], r["stored_spans"]),
        "client_cpu_us_per_sent_span": _per_span(
            r["client_cpu_s"], r["requests"] * SPANS_PER_TRACE * TRACES_PER_REQUEST
        ),
        "server_cpu_cores": round(r["server_cpu_s"] / r["seconds"], 2),
        "client_cpu_cores": round(r["client_cpu_s"] / r["seconds"], 2),
        "load_average_start_end": [round(x, 2) for x in r["load_average"]],
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _per_span(cpu_s: float | None, spans: int) -> float | None:
    return None if cpu_s is None or spans <= 0 else round(cpu_s / spans * 1e6, 1)


def _positive(kind: type[int] | type[float]) -> Any:
    """An argparse type: a number of ``kind`` above zero (a zero or negative rate
    would schedule requests that are never due, or all due at once, forever)."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r}: give a number above 0")
        return value

    return parse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=_positive(float), default=30.0, help="seconds of load")
    parser.add_argument("--clients", type=_positive(int), default=4, help="client processes")
    parser.add_argument(
        "--threads",
        type=_positive(int),
        default=8,
        help="connections per client process, each in a loop",
    )
    parser.add_argument(
        "--rate",
        type=_positive(float),
        help="offer this many spans/s on a schedule (open loop) instead of sending as fast "
        "as answered; give enough connections (--threads) for the answers' latency",
    )
    parser.add_argument("--phoenix", help="path of the `phoenix` executable to compare with")
    parser.add_argument("--skip-agentslo", action="store_true")
    parser.add_argument(
        "--serve-arg",
        action="append",
        default=[],
        help="extra argument for `agentslo serve` (repeatable): --serve-arg=--decode-workers=1",
    )
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="agentslo-bench-") as tmp:
        work = Path(tmp)
        if not args.skip_agentslo:
            rows.append(_summary("agentslo serve", run_agentslo(args, work)))
        if args.phoenix:
            rows.append(_summary("arize-phoenix", run_phoenix(args, work)))
    if len(rows) == 2 and rows[1]["stored_spans_per_s"]:
        ratio = rows[0]["stored_spans_per_s"] / rows[1]["stored_spans_per_s"]
        rows[0]["stored_rate_vs_phoenix"] = round(ratio, 1)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
