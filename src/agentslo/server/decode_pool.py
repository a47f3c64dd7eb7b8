"""The decode worker processes: OTLP bodies in, span batches out.

Mapping is Python, so ``agentslo serve`` runs decoding and mapping in worker
processes (``--decode-workers``) to spread them over the cores while the server
process answers HTTP and its writer thread commits.

Each worker is connected to the server by a socket pair, read and written by the
server's event loop: a request goes out as one length-prefixed frame (the body and
the project's name; the mapping options, with their price table and redactor, are
handed to each worker once, when it starts) and its
:class:`~agentslo.ingest.span_batch.SpanBatch` comes back as one frame (its spans
as one Arrow message). This replaced ``concurrent.futures.ProcessPoolExecutor``,
whose manager and feeder threads cost the server process about 4 µs of CPU per
span under the interpreter lock it shares with the HTTP handlers and the writer
(``docs/benchmarks.md``), and whose pool stays broken for good once a worker dies.
Here a worker that dies fails only the requests it held (answered 503 with
``Retry-After``, so exporters resend them) and is started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import struct
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Final

from agentslo.ingest.otlp import OtlpDecodeError, decode_json, decode_protobuf
from agentslo.ingest.semconv import MappingOptions, map_spans
from agentslo.ingest.span_batch import SpanBatch
from agentslo.server.otlp_http import JSON, PROTOBUF

__all__ = [
    "DecodePool",
    "WorkerLostError",
    "decode_and_map",
    "decode_in_worker",
    "exit_with_parent",
    "freeze_startup_objects",
    "start_worker",
]

log = logging.getLogger("agentslo.server")

#: How often a decode worker checks that the server process still exists.
_PARENT_POLL_SECONDS: Final = 1.0
#: How long a starting worker may take to import agentslo and say it is ready.
_START_TIMEOUT_S: Final = 120.0
_HEADER: Final = struct.Struct("<Q")
#: Send buffer of each end of a worker's socket: room for about a hundred request
#: frames, so that a worker always has the next request to read while the server's
#: event loop waits for the interpreter lock (the default, 208 KiB, holds about six,
#: and the worker then sat idle a quarter of the time with 36 requests queued for it).
#: The kernel caps it at ``net.core.wmem_max``.
_SOCKET_BUFFER: Final = 4 << 20

#: The worker's mapping options: the server's, and one copy per project seen.
_BASE: list[MappingOptions] = [MappingOptions()]
_BY_PROJECT: dict[str, MappingOptions] = {}


class WorkerLostError(Exception):
    """The decode worker holding a request died, or none is running; retry."""


def decode_and_map(body: bytes, encoding: str, options: MappingOptions) -> SpanBatch:
    """Decode an OTLP body and map its spans."""
    decoded, rejects = (decode_json if encoding == JSON else decode_protobuf)(body)
    return SpanBatch.of(map_spans(decoded, options, rejects))


def exit_with_parent(parent: int) -> None:
    """Exit this worker when the server process is gone.

    The worker also exits when its socket reaches end of file; this watch covers a
    worker busy with a long request when the server is killed with SIGKILL.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="agentslo-parent-watch", daemon=True).start()


def freeze_startup_objects() -> None:
    """Keep what a server process loaded at start-up out of later garbage collections.

    Python's cyclic collector walks every tracked object at each full collection,
    with all threads stopped; the modules agentslo imports (DuckDB, Arrow, ibis,
    protobuf) leave about 115,000 of them, 25 to 50 ms per walk. They live as long
    as the process, so they are moved to the collector's permanent generation
    (``gc.freeze``) once start-up is done, after a collection so that no garbage is
    kept with them.
    """
    gc.collect()
    gc.freeze()


def start_worker(parent: int, options: MappingOptions) -> None:
    """Worker set-up: watch the server process, keep the server's options."""
    exit_with_parent(parent)
    _BASE[0] = options
    _BY_PROJECT.clear()


def decode_in_worker(body: bytes, encoding: str, project: str) -> SpanBatch:
    """:func:`decode_and_map` with the server's options for ``project``."""
    options = _BY_PROJECT.get(project)
    if options is None:
        options = _BY_PROJECT[project] = replace(_BASE[0], project=project)
    return decode_and_map(body, encoding, options)


# -- the worker process ------------------------------------------------------------------


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    """``n`` bytes from ``sock``, or None at end of file."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        read = sock.recv_into(view[got:])
        if read == 0:
            return None
        got += read
    return bytes(buf)


def _send_frame(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(_HEADER.pack(len(payload)) + payload)


def _answer(body: bytes, encoding: str, project: str) -> tuple[str, Any]:
    try:
        return "ok", decode_in_worker(body, encoding, project)
    except OtlpDecodeError as exc:
        return "decode", str(exc)
    except Exception as exc:  # a bug: reported to the request, the worker goes on
        log.exception("decoding a request failed")
        return "error", f"{type(exc).__name__}: {exc}"


def _worker_main(sock: socket.socket, parent: int, options: MappingOptions) -> None:
    """A worker's life: answer frames until the server closes the socket."""
    # Ctrl-C and a service manager's SIGTERM reach the whole process group; the server
    # stops its workers itself (they exit at the end of their socket), and a worker
    # killed by the signal would only be replaced while the server shuts down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    start_worker(parent, options)
    decode_in_worker(b"", PROTOBUF, options.project)  # warm the imports before "ready"
    freeze_startup_objects()
    _send_frame(sock, pickle.dumps((0, "ready", None), protocol=5))
    while True:
        header = _recv_exact(sock, _HEADER.size)
        if header is None:
            return
        payload = _recv_exact(sock, _HEADER.unpack(header)[0])
        if payload is None:
            return
        request_id, body, encoding, project = pickle.loads(payload)
        kind, value = _answer(body, encoding, project)
        _send_frame(sock, pickle.dumps((request_id, kind, value), protocol=5))


# -- the server side ----------------------------------------------------------------------


@dataclass
class _Worker:
    process: Any
    sock: socket.socket
    pending: dict[int, asyncio.Future[SpanBatch]] = field(default_factory=dict)
    writer: asyncio.StreamWriter | None = None
    alive: bool = True


class DecodePool:
    """``workers`` decode processes, fed and read by the server's event loop."""

    def __init__(self, workers: int, options: MappingOptions) -> None:
        self.size = max(1, workers)
        self.options = options
        self.restarts = 0
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker | None] = [None] * self.size
        self._next_id = 1
        self._closing = False
        self._attach_lock: asyncio.Lock | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Start every worker and wait until each is ready (blocking)."""
        for index in range(self.size):
            self._workers[index] = self._spawn()

    def _spawn(self) -> _Worker:
        ours, theirs = socket.socketpair()
        for sock in (ours, theirs):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SOCKET_BUFFER)
        process = self._context.Process(
            target=_worker_main,
            args=(theirs, os.getpid(), self.options),
            name="agentslo-decode",
            daemon=True,
        )
        try:
            process.start()
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.settimeout(_START_TIMEOUT_S)
        error: OSError | None = None
        try:
            header = _recv_exact(ours, _HEADER.size)
            payload = _recv_exact(ours, _HEADER.unpack(header)[0]) if header else None
        except OSError as exc:
            payload, error = None, exc
        if payload is None or pickle.loads(payload)[1] != "ready":
            process.kill()
            ours.close()
            raise RuntimeError(f"a decode worker failed to start ({error or 'it exited'})")
        ours.setblocking(False)
        return _Worker(process, ours)

    async def aclose(self) -> None:
        """Stop the workers from the event loop that talks to them: fail what they
        hold, close their sockets (they exit at end of file), reap them."""
        self._closing = True
        workers = [w for w in self._workers if w is not None]
        for worker in workers:
            worker.alive = False
            if worker.writer is not None:
                worker.writer.transport.abort()
            for future in worker.pending.values():
                if not future.done():
                    future.set_exception(WorkerLostError("the server is stopping"))
            worker.pending.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Stop the workers (blocking; sockets the event loop holds are closed by
        :meth:`aclose` first): close the sockets, wait for them, kill stragglers."""
        self._closing = True
        workers = [w for w in self._workers if w is not None]
        for worker in workers:
            worker.alive = False
            if worker.writer is None:
                with contextlib.suppress(OSError):
                    worker.sock.close()
        for worker in workers:
            _reap(worker.process)

    # -- requests ------------------------------------------------------------------------
    async def decode(self, body: bytes, encoding: str, project: str) -> SpanBatch:
        """Decode and map ``body`` in a worker; raise ``OtlpDecodeError`` for a bad
        body and :class:`WorkerLostError` when the worker died with it."""
        worker = await self._pick()
        if not worker.alive:  # it died while its socket was being attached
            raise WorkerLostError("the decode worker died; retry")
        loop = asyncio.get_running_loop()
        request_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[SpanBatch] = loop.create_future()
        worker.pending[request_id] = future
        payload = pickle.dumps((request_id, body, encoding, project), protocol=5)
        assert worker.writer is not None
        worker.writer.write(_HEADER.pack(len(payload)))
        worker.writer.write(payload)
        try:
            await worker.writer.drain()
        except (ConnectionError, RuntimeError) as exc:
            worker.pending.pop(request_id, None)
            if future.done():
                future.exception()  # failed by the reader's clean-up already: seen here
            raise WorkerLostError(f"the decode worker went away ({exc}); retry") from exc
        return await future

    async def _pick(self) -> _Worker:
        live = [w for w in self._workers if w is not None and w.alive]
        if not live:
            raise WorkerLostError("no decode worker is running (one is being restarted); retry")
        worker = min(live, key=lambda w: len(w.pending))
        if worker.writer is None:
            await self._attach(worker)
        return worker

    async def _attach(self, worker: _Worker) -> None:
        """Connect the worker's socket to this event loop (on first use)."""
        if self._attach_lock is None:
            self._attach_lock = asyncio.Lock()
        async with self._attach_lock:
            if worker.writer is not None:
                return
            reader, writer = await asyncio.open_unix_connection(sock=worker.sock)
            worker.writer = writer
            task = asyncio.get_running_loop().create_task(self._read(worker, reader))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _read(self, worker: _Worker, reader: asyncio.StreamReader) -> None:
        """Resolve the worker's requests as its answers arrive; on its death, fail
        what it held and start another."""
        try:
            while True:
                header = await reader.readexactly(_HEADER.size)
                payload = await reader.readexactly(_HEADER.unpack(header)[0])
                request_id, kind, value = pickle.loads(payload)
                future = worker.pending.pop(request_id, None)
                if future is None or future.done():
                    continue
                if kind == "ok":
                    future.set_result(value)
                elif kind == "decode":
                    future.set_exception(OtlpDecodeError(value))
                else:
                    future.set_exception(RuntimeError(f"decoding the request failed: {value}"))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            worker.alive = False
            for future in worker.pending.values():
                if not future.done():
                    future.set_exception(WorkerLostError("the decode worker died; retry"))
            worker.pending.clear()
            if not self._closing:
                await self._replace(worker)

    async def _replace(self, dead: _Worker) -> None:
        index = self._workers.index(dead)
        with contextlib.suppress(Exception):
            if dead.writer is not None:
                dead.writer.transport.abort()
        await asyncio.to_thread(_reap, dead.process)
        log.error(
            "decode worker %s exited (code %s); starting another",
            dead.process.pid,
            dead.process.exitcode,
        )
        while not self._closing:
            try:
                fresh = await asyncio.to_thread(self._spawn)
            except Exception:  # no fds or memory for now, a worker that crashed at start
                log.exception("restarting a decode worker failed; trying again")
                await asyncio.sleep(1.0)
                continue
            if self._closing:
                fresh.sock.close()
                fresh.process.kill()
                return
            self._workers[index] = fresh
            self.restarts += 1
            return


def _reap(process: Any) -> None:
    """Wait a little for ``process`` to exit, then kill it and wait for that."""
    process.join(2.0)
    if process.is_alive():
        process.kill()
        process.join(2.0)
