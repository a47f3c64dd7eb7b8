"""The ASGI application behind ``agentslo serve``.

Plain ASGI (no framework): the receiver's hot path is one route, and every layer
between the socket and the writer costs throughput. Endpoints:

- ``POST /v1/traces``   OTLP/HTTP trace export (protobuf or JSON, gzip)
- ``POST /v1/outcomes`` late outcomes, JSON, idempotent on the client's ``id``
- ``GET /v1/report``    the JSON of ``agentslo report --json``
- ``GET /v1/slo``       the JSON of ``agentslo slo check --json``
- ``GET /metrics``      Prometheus exposition
- ``GET /healthz``      the process is up; ``GET /readyz`` it can take writes now

Every endpoint but the health checks acts for the project of the request's key.
Reads run in worker threads on their own DuckDB cursors and see every commit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qs

from pydantic import ValidationError

from agentslo.cli.slo import check_payload
from agentslo.durations import parse_duration, parse_instant
from agentslo.ingest.otlp import OtlpDecodeError
from agentslo.ingest.semconv import MappingOptions
from agentslo.metrics import ALL_SOURCES, TRUSTED_SOURCES, ReportQuery, fleet_report
from agentslo.model import Outcome
from agentslo.server.auth import Authenticator, AuthError, Principal
from agentslo.server.config import ServerConfig
from agentslo.server.decode_pool import (
    DecodePool,
    WorkerLostError,
    decode_and_map,
    freeze_startup_objects,
)
from agentslo.server.gates import GateEvaluator
from agentslo.server.journal import Journal, Record, journal_path
from agentslo.server.otlp_http import (
    JSON,
    PROTOBUF,
    HttpError,
    decompress,
    encoding_of,
    export_response,
    status_body,
)
from agentslo.server.prometheus import CONTENT_TYPE, IngestCounters, exposition
from agentslo.server.writer import IngestWriter, Job, OverloadedError, UnavailableError
from agentslo.slo import SLOSpec, SLOStatus, evaluate_slos
from agentslo.store import Store, open_store

__all__ = ["AgentsloApp", "create_app", "decode_and_map"]

log = logging.getLogger("agentslo.server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_MAX_OUTCOMES: Final = 10_000
_MAX_WARNINGS: Final = 5
_EPOCH: Final = datetime(1970, 1, 1)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(_json_safe(payload), default=str).encode()


class _Request:
    """What a handler needs of an HTTP request."""

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive
        self.headers: dict[str, str] = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
        }
        self.query = {
            k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()
        }

    async def body(self, limit: int) -> bytes:
        declared = self.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise HttpError(
                413, f"body of {declared} bytes exceeds {limit} bytes; send smaller batches"
            )
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise HttpError(400, "the client went away before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise HttpError(413, f"body exceeds {limit} bytes; send smaller batches")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    headers: tuple[tuple[str, str], ...] | list[tuple[str, str]] = (),
) -> None:
    raw_headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        *((k.encode(), v.encode()) for k, v in headers),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def _scoped(slo: SLOSpec, project: str) -> SLOSpec:
    """``slo`` counting only the runs of ``project``."""
    ind = slo.indicator
    total = replace(ind.total, filter={**ind.total.filter, "project": (project,)})
    return replace(slo, indicator=replace(ind, total=total))


class AgentsloApp:
    """The ASGI callable. Build with :func:`create_app`."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.store: Store | None = None
        self.writer: IngestWriter | None = None
        self.auth: Authenticator | None = None
        self.counters = IngestCounters()
        self._cursor_lock = threading.Lock()
        self._slo_cache: dict[str | None, tuple[float, list[SLOStatus]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._options: dict[str, MappingOptions] = {}
        self._pool: DecodePool | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def startup(self) -> None:
        """Open the store and start the writer (the ASGI lifespan calls this)."""
        self.store = open_store(self.config.db)
        if self.config.store_threads is not None:
            self.store.con.execute(f"SET threads = {max(1, int(self.config.store_threads))}")
        self.auth = Authenticator(self.reader, no_auth_project=self.config.no_auth_project)
        self.writer = IngestWriter(
            self.store.cursor(),
            max_queued=self.config.max_queued,
            max_batch=self.config.max_batch,
            min_group=self.config.min_group,
            linger_s=self.config.linger_s,
            journal=Journal(journal_path(self.config.db)),
        )
        self.writer.start(rebuild=self._rebuild)
        if self.config.decode_workers > 0:
            # Mapping is Python: worker processes spread it over the cores while this
            # process answers HTTP and its writer thread commits.
            self._pool = DecodePool(
                self.config.decode_workers,
                self.options(self.config.no_auth_project or "default"),
            )
            self._pool.start()
        freeze_startup_objects()

    def shutdown(self) -> None:
        """Commit what is queued, then close the store."""
        for task in self._tasks:
            task.cancel()
        if self._pool is not None:
            self._pool.close()
        if self.writer is not None:
            self.writer.stop()
            self.writer.store.close()
        if self.store is not None:
            self.store.close()

    def _rebuild(self, record: Record) -> Job:
        """The job of a journaled request, for its replay: decoded and mapped again,
        refusing the spans its answer refused (the clock as it was on arrival)."""
        if record.kind == "outcomes":
            return Job(outcomes=json.loads(record.payload))
        options = replace(self.options(record.project), now_ns=record.received_ns)
        return Job(mapped=decode_and_map(record.payload, record.encoding, options))

    def reader(self) -> Store:
        """A cursor on the store for one read (close it after)."""
        assert self.store is not None
        with self._cursor_lock:
            return self.store.cursor()

    def options(self, project: str) -> MappingOptions:
        found = self._options.get(project)
        if found is None:
            c = self.config
            found = MappingOptions(
                project=project,
                capture_content=c.capture_content,
                redactor=c.redactor,
                prices=c.prices,
                max_future_s=c.max_future_s,
            )
            self._options[project] = found
        return found

    # -- ASGI ------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = _Request(scope, receive)
        path, method = scope["path"], scope["method"]
        route = _ROUTES.get(path)
        if route is None:
            await _respond(send, 404, _json_bytes({"error": f"no endpoint {path}"}), JSON)
            return
        wanted, handler = route
        if method != wanted:
            await _respond(
                send,
                405,
                _json_bytes({"error": f"{path} takes {wanted}, not {method}"}),
                JSON,
                [("allow", wanted)],
            )
            return
        await handler(self, request, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await asyncio.to_thread(self.startup)
                    self._start_evaluators()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._pool is not None:
                    await self._pool.aclose()
                await asyncio.to_thread(self.shutdown)
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _start_evaluators(self) -> None:
        for evaluator in self.config.evaluators:
            self._tasks.append(asyncio.create_task(self._evaluate_forever(evaluator)))

    async def _evaluate_forever(self, evaluator: Any) -> None:
        # Once at start, so that state is there before the first interval ends.
        while True:
            try:
                await asyncio.to_thread(self._with_reader, evaluator.run)
            except Exception:
                log.exception("periodic evaluator %r failed", evaluator)
            await asyncio.sleep(float(getattr(evaluator, "interval_s", 60.0)))

    def _gates(self) -> GateEvaluator | None:
        found = [e for e in self.config.evaluators if isinstance(e, GateEvaluator)]
        return found[0] if found else None

    def _with_reader(self, fn: Callable[[Store], Any]) -> Any:
        reader = self.reader()
        try:
            return fn(reader)
        finally:
            reader.close()

    def _principal(self, request: _Request) -> Principal:
        assert self.auth is not None
        return self.auth.principal(request.headers.get("authorization"))

    # -- handlers --------------------------------------------------------------------
    async def traces(self, request: _Request, send: Send) -> None:
        encoding = PROTOBUF
        try:
            encoding = encoding_of(request.headers.get("content-type"))
            try:
                principal = self._principal(request)
            except AuthError as exc:
                raise HttpError(401, str(exc), [("www-authenticate", "Bearer")]) from exc
            raw = await request.body(self.config.max_body)
            body = decompress(raw, request.headers.get("content-encoding"), self.config.max_decoded)
            options = self.options(principal.project)
            try:
                if self._pool is None:
                    mapped = decode_and_map(body, encoding, options)
                else:
                    mapped = await self._pool.decode(body, encoding, principal.project)
            except OtlpDecodeError as exc:
                raise HttpError(400, str(exc)) from exc
            except WorkerLostError as exc:
                raise HttpError(503, str(exc), [("retry-after", "1")]) from exc
            if mapped.span_count == 0 and mapped.rejects:
                raise HttpError(400, "no valid span: " + "; ".join(map(str, mapped.rejects[:5])))
            if mapped.span_count:
                assert self.writer is not None
                record = Record("traces", principal.project, encoding, time.time_ns(), body)
                try:
                    await self.writer.submit(Job(mapped=mapped, record=record))
                except OverloadedError as exc:
                    raise HttpError(429, str(exc), [("retry-after", str(exc.retry_after))]) from exc
                except UnavailableError as exc:
                    raise HttpError(503, str(exc), [("retry-after", "5")]) from exc
            self.counters.spans_accepted += mapped.span_count
            self.counters.spans_rejected += len(mapped.rejects)
            message = "; ".join(
                [str(r) for r in mapped.rejects[:_MAX_WARNINGS]]
                + [f"warning: {w}" for w in mapped.warnings[:_MAX_WARNINGS]]
            )
            self.counters.count_request(200)
            await _respond(
                send, 200, export_response(encoding, len(mapped.rejects), message), encoding
            )
        except HttpError as err:
            self.counters.count_request(err.status)
            await _respond(
                send,
                err.status,
                status_body(encoding, err.status, err.message),
                encoding,
                list(err.headers),
            )

    async def outcomes(self, request: _Request, send: Send) -> None:
        try:
            principal = self._principal(request)
            raw = await request.body(self.config.max_body)
            body = decompress(raw, request.headers.get("content-encoding"), self.config.max_decoded)
            if encoding_of(request.headers.get("content-type") or JSON) != JSON:
                raise HttpError(415, "/v1/outcomes takes application/json")
            try:
                doc = json.loads(body)
            except ValueError as exc:
                raise HttpError(400, f"body is not valid JSON ({exc})") from exc
            items = doc.get("outcomes") if isinstance(doc, dict) else doc
            if not isinstance(items, list):
                raise HttpError(400, 'body must be a JSON array of outcomes or {"outcomes": [...]}')
            if len(items) > _MAX_OUTCOMES:
                raise HttpError(
                    413, f"{len(items)} outcomes in one request; at most {_MAX_OUTCOMES}"
                )
            rows, rejected = _outcome_rows(items, principal.project)
            if rows:
                assert self.writer is not None
                record = Record(
                    "outcomes", principal.project, JSON, time.time_ns(), _json_bytes(rows)
                )
                try:
                    await self.writer.submit(Job(outcomes=rows, record=record))
                except OverloadedError as exc:
                    raise HttpError(429, str(exc), [("retry-after", str(exc.retry_after))]) from exc
                except UnavailableError as exc:
                    raise HttpError(503, str(exc), [("retry-after", "5")]) from exc
            self.counters.outcomes_accepted += len(rows)
            status = 400 if rejected and not rows else 200
            await _respond(
                send, status, _json_bytes({"accepted": len(rows), "rejected": rejected}), JSON
            )
        except AuthError as exc:
            await _respond(
                send, 401, _json_bytes({"error": str(exc)}), JSON, [("www-authenticate", "Bearer")]
            )
        except HttpError as err:
            await _respond(
                send, err.status, _json_bytes({"error": err.message}), JSON, list(err.headers)
            )

    async def _read(
        self,
        request: _Request,
        send: Send,
        fn: Callable[[Store, Principal], tuple[int, bytes, str]],
        *,
        fresh: bool = True,
    ) -> None:
        """Answer a read; with ``fresh``, once the database has every acknowledged
        request (up to ``read_wait_s``; past it the answer says how much it lacks)."""
        try:
            principal = self._principal(request)
        except AuthError as exc:
            await _respond(
                send, 401, _json_bytes({"error": str(exc)}), JSON, [("www-authenticate", "Bearer")]
            )
            return
        headers: list[tuple[str, str]] = []
        writer = self.writer
        if fresh and writer is not None and not await writer.caught_up(self.config.read_wait_s):
            headers.append(("x-agentslo-unapplied", str(writer.queued)))
        try:
            status, body, ctype = await asyncio.to_thread(
                self._with_reader, lambda store: fn(store, principal)
            )
        except HttpError as err:
            status, body, ctype = err.status, _json_bytes({"error": err.message}), JSON
        except ValueError as exc:
            status, body, ctype = 400, _json_bytes({"error": str(exc)}), JSON
        await _respond(send, status, body, ctype, headers)

    def _project_param(self, request: _Request, principal: Principal) -> str:
        asked = request.query.get("project")
        if asked is not None and principal.key_id is not None and asked != principal.project:
            raise HttpError(
                403, f"this key reads project {principal.project!r} only, not {asked!r}"
            )
        if principal.key_id is None and asked is not None:
            return str(asked)
        return principal.project

    async def report(self, request: _Request, send: Send) -> None:
        def run(store: Store, principal: Principal) -> tuple[int, bytes, str]:
            q = request.query
            now = datetime.now()
            by = tuple(p.strip() for p in q.get("by", "agent").split(",") if p.strip())
            sources_text = q.get("sources")
            claimed = q.get("count_claimed", "false").lower() in ("1", "true", "yes")
            sources = (
                tuple(s.strip() for s in sources_text.split(",") if s.strip())
                if sources_text
                else ALL_SOURCES
                if claimed
                else TRUSTED_SOURCES
            )
            query = ReportQuery(
                by=by,
                since=parse_instant(q["since"], now=now) if "since" in q else None,
                until=parse_instant(q["until"], now=now) if "until" in q else None,
                bucket=parse_duration(q["bucket"]) if "bucket" in q else None,
                sources=sources,
                project=self._project_param(request, principal),
                as_of=parse_instant(q["as_of"], now=now) if "as_of" in q else None,
            )
            return 200, _json_bytes(fleet_report(store, query).to_dict()), JSON

        await self._read(request, send, run)

    def _statuses(self, store: Store, project: str, at: datetime | None) -> list[SLOStatus]:
        slos = [_scoped(s, project) for s in self.config.slos]
        return evaluate_slos(store, slos, at=at)

    async def slo(self, request: _Request, send: Send) -> None:
        def run(store: Store, principal: Principal) -> tuple[int, bytes, str]:
            if not self.config.slos:
                raise HttpError(
                    404, "no SLOs configured; start the server with --slo SLO.yaml (docs/slo.md)"
                )
            project = self._project_param(request, principal)
            at = parse_instant(request.query["at"]) if "at" in request.query else None
            return 200, _json_bytes(check_payload(self._statuses(store, project, at))), JSON

        await self._read(request, send, run)

    async def metrics(self, request: _Request, send: Send) -> None:
        def run(store: Store, principal: Principal) -> tuple[int, bytes, str]:
            project = principal.project if principal.key_id is not None else None
            statuses: list[SLOStatus] = []
            if self.config.slos:
                cached = self._slo_cache.get(project)
                if cached is not None and time.monotonic() - cached[0] < self.config.slo_cache_s:
                    statuses = cached[1]
                else:
                    slos = self.config.slos
                    if project is not None:
                        slos = [_scoped(s, project) for s in slos]
                    statuses = evaluate_slos(store, slos)
                    self._slo_cache[project] = (time.monotonic(), statuses)
            gates = self._gates()
            text = exposition(
                store,
                project=project,
                slos=self.config.slos,
                statuses=statuses,
                counters=self.counters if principal.key_id is None else None,
                writer=self.writer,
                gate_samples=gates.samples(project) if gates is not None else (),
            )
            return 200, text.encode(), CONTENT_TYPE

        await self._read(request, send, run, fresh=False)  # a scrape must not wait

    async def gates(self, request: _Request, send: Send) -> None:
        def run(store: Store, principal: Principal) -> tuple[int, bytes, str]:
            gates = self._gates()
            if gates is None:
                message = "no gates configured; start the server with --gates FILE (docs/gates.md)"
                return 404, _json_bytes({"error": message}), JSON
            project = principal.project if principal.key_id is not None else None
            return 200, _json_bytes(gates.payload(project)), JSON

        await self._read(request, send, run)

    async def healthz(self, request: _Request, send: Send) -> None:
        await _respond(send, 200, b'{"status":"ok"}', JSON)

    async def readyz(self, request: _Request, send: Send) -> None:
        writer = self.writer
        if writer is not None and writer.ready:
            await _respond(
                send, 200, _json_bytes({"status": "ready", "queued": writer.queued}), JSON
            )
            return
        reason = "starting" if writer is None else "the write queue is full or the writer stopped"
        await _respond(
            send,
            503,
            _json_bytes({"status": "not ready", "reason": reason}),
            JSON,
            [("retry-after", "1")],
        )


def _outcome_rows(
    items: list[Any], project: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Validated outcome rows of the request, and the refused items with the reason."""
    rows: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            rejected.append({"index": index, "error": "an outcome must be a JSON object"})
            continue
        fields = dict(item)
        client_id = fields.pop("id", None) or fields.pop("outcome_id", None)
        if not isinstance(client_id, str) or not client_id:
            rejected.append(
                {
                    "index": index,
                    "error": "'id' is required: a client-chosen string that makes "
                    "retries idempotent",
                }
            )
            continue
        asked = fields.pop("project", project)
        if asked != project:
            rejected.append(
                {"index": index, "error": f"project {asked!r} is not this key's project"}
            )
            continue
        try:
            outcome = Outcome(project=project, outcome_id=client_id, **fields)
        except (ValidationError, TypeError) as exc:
            rejected.append({"index": index, "error": _validation_message(exc)})
            continue
        row = outcome.to_row()
        row["recorded_at"] = (outcome.recorded_at - _EPOCH) // timedelta(microseconds=1)
        rows.append(row)
    return rows, rejected


def _validation_message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'outcome'}: {e['msg']}" for e in exc.errors()
        )
    return str(exc)


_Handler = Callable[[AgentsloApp, _Request, Send], Awaitable[None]]
_ROUTES: Final[dict[str, tuple[str, _Handler]]] = {
    "/v1/traces": ("POST", AgentsloApp.traces),
    "/v1/outcomes": ("POST", AgentsloApp.outcomes),
    "/v1/report": ("GET", AgentsloApp.report),
    "/v1/slo": ("GET", AgentsloApp.slo),
    "/v1/gates": ("GET", AgentsloApp.gates),
    "/metrics": ("GET", AgentsloApp.metrics),
    "/healthz": ("GET", AgentsloApp.healthz),
    "/readyz": ("GET", AgentsloApp.readyz),
}


def create_app(config: ServerConfig) -> AgentsloApp:
    """The ASGI app for ``config`` (the store opens at lifespan startup)."""
    return AgentsloApp(config)
