"""Real clients against a live ``agentslo serve`` process: the OpenTelemetry SDK's
OTLP exporter, a pydantic-ai agent with its built-in instrumentation, and a
``kill -9`` in the middle of a load that must lose no acknowledged span."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode, get_current_span
from tests.ingest.otlp_samples import agent_trace, proto_request

from agentslo.store import open_store
from agentslo.store.api_keys import create_key
from agentslo.store.journal_dir import journal_path

AGENTSLO = str(Path(sys.executable).with_name("agentslo"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, db: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                AGENTSLO,
                "serve",
                "--db",
                str(db),
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                *args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"agentslo serve did not start: {err}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    db = tmp_path / "live.duckdb"
    with open_store(db) as store:
        key = create_key(store.con, "shop").token
    server = LiveServer(db)
    yield server, key
    server.stop()


def provider(server: LiveServer, key: str) -> TracerProvider:
    tp = TracerProvider(resource=Resource.create({"service.name": "shop", "service.version": "3"}))
    exporter = OTLPSpanExporter(
        endpoint=f"{server.url}/v1/traces", headers={"authorization": f"Bearer {key}"}
    )
    tp.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=50))
    return tp


def test_the_otel_sdk_exporter(live: tuple[LiveServer, str]) -> None:
    server, key = live
    tp = provider(server, key)
    tracer = tp.get_tracer("checkout")
    for i in range(5):
        with tracer.start_as_current_span("invoke_agent checkout") as root:
            root.set_attribute("gen_ai.operation.name", "invoke_agent")
            root.set_attribute("gen_ai.agent.name", "checkout")
            root.set_attribute("gen_ai.agent.version", "v7")
            for _ in range(2):
                with tracer.start_as_current_span("chat claude-sonnet-4") as llm:
                    llm.set_attributes(
                        {
                            "gen_ai.operation.name": "chat",
                            "gen_ai.provider.name": "anthropic",
                            "gen_ai.request.model": "claude-sonnet-4",
                            "gen_ai.usage.input_tokens": 100,
                            "gen_ai.usage.output_tokens": 10,
                        }
                    )
            with tracer.start_as_current_span("execute_tool pay") as tool:
                tool.set_attributes(
                    {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "pay"}
                )
                if i == 0:
                    tool.set_status(Status(StatusCode.ERROR))
                    tool.set_attribute("error.type", "CardDeclined")
            root.set_attribute("agentslo.outcome", "failure" if i == 0 else "success")
            root.set_attribute("agentslo.outcome.source", "verified")
    assert tp.force_flush(10_000)
    tp.shutdown()
    with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {key}"}) as c:
        report = c.get("/v1/report", params={"by": "agent,version"}).json()
    (group,) = report["groups"]
    assert group["keys"] == {"agent": "checkout", "version": "v7"}
    assert group["runs"] == 5 and group["successes"] == 4
    assert group["steps"]["p50"] == 2.0
    assert group["total_tokens"] == 5 * 220
    assert group["total_cost"] == pytest.approx(5 * 2 * (100 * 3 + 10 * 15) / 1e6)


def test_a_pydantic_ai_agent_with_tools(live: tuple[LiveServer, str]) -> None:
    pydantic_ai = pytest.importorskip("pydantic_ai")
    from pydantic_ai.models.instrumented import InstrumentationSettings
    from pydantic_ai.models.test import TestModel

    server, key = live
    tp = provider(server, key)
    agent = pydantic_ai.Agent(TestModel(), name="support")
    agent.instrument = InstrumentationSettings(tracer_provider=tp)
    trace_ids: list[str] = []

    @agent.tool_plain
    def order_status(order_id: str) -> str:
        """Look an order up."""
        span = get_current_span()
        trace_ids.append(format(span.get_span_context().trace_id, "032x"))
        span.set_attribute("agentslo.outcome", "success")  # the agent's own claim
        return "shipped"

    for _ in range(3):
        agent.run_sync("Where is order 42?")
    assert tp.force_flush(10_000)
    tp.shutdown()
    auth = {"authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.url, headers=auth) as c:
        verdict = {
            "id": "check-1",
            "run_id": trace_ids[0],
            "label": "failure",
            "source": "verified",
            "evaluator": "order-db",
        }
        assert c.post("/v1/outcomes", json=[verdict]).json()["accepted"] == 1
        trusted = c.get("/v1/report").json()
        claimed = c.get("/v1/report", params={"count_claimed": "true"}).json()
        slo_missing = c.get("/v1/slo")
    (group,) = trusted["groups"]
    assert group["keys"] == {"agent": "support"}
    assert group["runs"] == 3 and group["with_outcome"] == 1 and group["successes"] == 0
    assert group["steps"]["p50"] == 2.0  # a model call, the tool, a model call
    assert group["total_tokens"] > 0
    assert claimed["groups"][0]["with_outcome"] == 3
    assert claimed["groups"][0]["claimed_success_rate"] == 1.0
    assert slo_missing.status_code == 404
    server.stop()
    with open_store(server_db(live), read_only=True) as store:
        rows = store.con.execute(
            "SELECT kind, count(*) FROM spans GROUP BY 1 ORDER BY 1"
        ).fetchall()
        tools = store.con.execute("SELECT DISTINCT tool FROM spans WHERE kind = 'tool'").fetchall()
        runs = store.con.execute("SELECT sum(tool_calls), sum(steps) FROM runs").fetchone()
    assert dict(rows) == {"agent": 3, "llm": 6, "tool": 3}
    assert tools == [("order_status",)]
    assert runs == (3, 6)


def server_db(live: tuple[LiveServer, str]) -> Path:
    args = live[0].proc.args
    assert isinstance(args, list)
    return Path(args[args.index("--db") + 1])


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc; empty where there is none)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_kill_9_mid_load_loses_no_acknowledged_span(tmp_path: Path) -> None:
    db = tmp_path / "kill.duckdb"
    server = LiveServer(db, "--no-auth")
    acked: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(worker: int) -> None:
        with httpx.Client(base_url=server.url, timeout=10) as c:
            n = 0
            while not stop.is_set():
                n += 1
                traces = [f"{worker:08x}{n:08x}{k:016x}" for k in range(10)]
                spans = [s for t in traces for s in agent_trace(t)]
                try:
                    r = c.post(
                        "/v1/traces",
                        content=proto_request(spans),
                        headers={"content-type": "application/x-protobuf"},
                    )
                except httpx.TransportError:
                    return  # the server died: this request was never acknowledged
                if r.status_code == 200:
                    with lock:
                        acked.extend(traces)

    threads = [threading.Thread(target=client, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acked) < 400 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = _children(server.proc.pid)
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)
    stop.set()
    for t in threads:
        t.join(20)
    assert len(acked) >= 400
    # The decode workers of the killed server do not live on as orphans.
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)]
    # Restart on the same file: everything acknowledged is there, runs included.
    restarted = LiveServer(db, "--no-auth")
    try:
        with httpx.Client(base_url=restarted.url) as c:
            report = c.get("/v1/report", params={"by": ""}).json()
    finally:
        restarted.stop()
    # The restart replayed what the journal held beyond the database; its clean stop
    # left the journal empty.
    assert not list(journal_path(db).glob("*.log"))
    with open_store(db, read_only=True) as store:
        store.con.execute("CREATE TEMP TABLE acked (trace_id VARCHAR)")
        store.con.executemany("INSERT INTO acked VALUES (?)", [(t,) for t in acked])
        missing_spans = store.con.execute(
            "SELECT count(*) FROM acked a WHERE (SELECT count(*) FROM spans s "
            "WHERE s.trace_id = a.trace_id) <> 4"
        ).fetchone()
        missing_runs = store.con.execute(
            "SELECT count(*) FROM acked a ANTI JOIN runs r ON r.run_id = a.trace_id"
        ).fetchone()
    assert missing_spans == (0,) and missing_runs == (0,)
    assert report["overall"]["runs"] >= len(acked)
