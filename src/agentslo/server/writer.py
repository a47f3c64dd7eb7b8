"""The receiver's single writer: group commit of many requests, then acknowledgement.

Request handlers decode and map their body, then :meth:`IngestWriter.submit` it and
wait. One thread owns the store's write connection: it takes every request queued
(up to a batch limit), writes all their spans, outcomes and run updates in ONE
transaction, and only after the commit resolves each request's future. A request
is therefore answered 200 only when its rows are durable in DuckDB's write-ahead
log, and the cost of a commit is shared by all the requests waiting for it.

When fewer than ``min_group`` spans are waiting, the writer lingers up to
``linger_s`` after the first of them arrived for more to join the group: a commit
costs a few milliseconds whatever its size, so under load a few milliseconds of
waiting buy fewer, larger commits and leave the CPU to decoding, while a lone
request waits at most ``linger_s``.

The queue is bounded by the number of spans waiting: beyond it, ``submit`` raises
:class:`OverloadedError` at once (the handler answers 429 with ``Retry-After``) rather
than letting memory and latency grow without bound. If a group fails to write,
its requests are retried one by one so that one poisonous request cannot fail the
others.

DuckDB folds its write-ahead log into the database file (a checkpoint) when the
log reaches a size, inside the commit that crosses it, with the commit's thread
count: in ``agentslo serve``, one thread, and a 1 GB log (two million spans) took
about 7 s, with every request waiting. The writer checkpoints just before DuckDB
would, with a thread per CPU: the stall halves (``docs/benchmarks.md``), and the
other stages are idle meanwhile anyway, waiting for the writer.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa

from agentslo.ingest.assemble import (
    TraceAssembler,
    TraceKey,
    assembly_columns,
    combine,
    run_table,
)
from agentslo.ingest.span_batch import SpanBatch
from agentslo.model import OUTCOMES_SCHEMA
from agentslo.store import Store
from agentslo.store.store import CHECKPOINT_THRESHOLD_MB
from agentslo.store.writer import write_assembled

__all__ = ["IngestWriter", "Job", "OverloadedError", "UnavailableError", "WriterStats"]

log = logging.getLogger("agentslo.server")

_IDLE_WAIT_S: Final = 0.5
#: Write-ahead log size at which the writer checkpoints: 90% of the store's own
#: threshold, so that it comes first.
CHECKPOINT_WAL_BYTES: Final = CHECKPOINT_THRESHOLD_MB * 10**6 * 9 // 10
#: Commits to wait before trying again after a failed checkpoint.
_CHECKPOINT_RETRY_COMMITS: Final = 100
#: Errors that belong to the rows being written (not to the writer itself).
_WRITE_ERRORS: Final = (duckdb.Error, ValueError, TypeError, OverflowError, pa.ArrowException)


class OverloadedError(Exception):
    """The write queue is full; retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the write queue is full; retry after {retry_after} s")
        self.retry_after = retry_after


class UnavailableError(Exception):
    """The writer is stopped or broken; the store cannot take writes now."""


@dataclass
class Job:
    """One request's rows, waiting to be committed."""

    mapped: SpanBatch | None = None
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    future: asyncio.Future[int] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    #: ``time.monotonic()`` when the job was queued.
    queued_at: float = 0.0

    @property
    def weight(self) -> int:
        """Queue weight: spans plus outcomes (at least 1)."""
        spans = self.mapped.span_count if self.mapped is not None else 0
        return max(1, spans + len(self.outcomes) + self._span_outcomes())

    def _span_outcomes(self) -> int:
        return len(self.mapped.outcomes) if self.mapped is not None else 0


@dataclass
class WriterStats:
    """Counters the ``/metrics`` endpoint exposes about ingestion itself."""

    commits: int = 0
    commit_seconds: float = 0.0
    spans_committed: int = 0
    outcomes_committed: int = 0
    runs_written: int = 0
    requests_committed: int = 0
    checkpoints: int = 0
    checkpoint_seconds: float = 0.0
    requests_shed: int = 0
    write_failures: int = 0
    max_batch_requests: int = 0


def _outcomes_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_arrays(
        [pa.array([r.get(f.name) for r in rows], type=f.type) for f in OUTCOMES_SCHEMA],
        schema=OUTCOMES_SCHEMA,
    )


class IngestWriter:
    """A thread that group-commits queued jobs into ``store``."""

    def __init__(
        self,
        store: Store,
        *,
        max_queued: int = 200_000,
        max_batch: int = 50_000,
        max_traces: int = 200_000,
        min_group: int = 2_000,
        linger_s: float = 0.02,
        checkpoint_bytes: int = CHECKPOINT_WAL_BYTES,
    ) -> None:
        self.store = store
        self.checkpoint_bytes = checkpoint_bytes
        self._wal = Path(f"{store.path}.wal")
        self._checkpoint_after = 0
        self.max_queued = max_queued
        self.max_batch = max_batch
        self.min_group = min_group
        self.linger_s = linger_s
        self.stats = WriterStats()
        self._queue: deque[Job] = deque()
        self._queued = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="agentslo-writer", daemon=True)
        self._recent_commit_s = 0.05
        self.assembler = TraceAssembler(
            _loader(store.con), known=_stored_trace_keys(store.con), max_traces=max_traces
        )

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Commit what is queued, then stop the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout)

    @property
    def ready(self) -> bool:
        """Alive, not stopping, and the queue below its limit."""
        return (
            self._thread.is_alive()
            and not self._stopping
            and self._failed is None
            and self._queued < self.max_queued
        )

    @property
    def queued(self) -> int:
        return self._queued

    def retry_after(self) -> int:
        """Seconds a shed client should wait: about the time to drain the queue."""
        per_item = self._recent_commit_s / max(1, self.max_batch)
        return max(1, min(30, round(self._queued * per_item * 2 + 0.5)))

    # -- submitting --------------------------------------------------------------------
    async def submit(self, job: Job) -> int:
        """Queue ``job`` and wait until it is committed; return the spans it offered."""
        if self._stopping or self._failed is not None or not self._thread.is_alive():
            raise UnavailableError("the store writer is not running")
        loop = asyncio.get_running_loop()
        job.loop = loop
        job.future = loop.create_future()
        weight = job.weight
        with self._cond:
            if self._queued + weight > self.max_queued and self._queue:
                self.stats.requests_shed += 1
                raise OverloadedError(self.retry_after())
            job.queued_at = time.monotonic()
            self._queue.append(job)
            self._queued += weight
            # Wake the writer when it waits for a first job or for a full group.
            if len(self._queue) == 1 or self._queued >= self.min_group:
                self._cond.notify()
        return await job.future

    # -- the thread ----------------------------------------------------------------------
    def _take(self) -> list[Job]:
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait(_IDLE_WAIT_S)
            if self._queue:
                deadline = self._queue[0].queued_at + self.linger_s
                while self._queued < self.min_group and not self._stopping:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            jobs: list[Job] = []
            total = 0
            while self._queue and (not jobs or total + self._queue[0].weight <= self.max_batch):
                job = self._queue.popleft()
                jobs.append(job)
                total += job.weight
            return jobs

    def _release(self, jobs: Sequence[Job]) -> None:
        with self._cond:
            self._queued -= sum(j.weight for j in jobs)

    def _run(self) -> None:
        con = self.store.con
        while True:
            jobs = self._take()
            if not jobs:
                if self._stopping:
                    return
                continue
            try:
                self._commit(con, jobs)
                self._resolve(jobs, None)
            except _WRITE_ERRORS as exc:
                if len(jobs) > 1:
                    # Isolate the bad request: the others must not fail with it.
                    for job in jobs:
                        try:
                            self._commit(con, [job])
                            self._resolve([job], None)
                        except _WRITE_ERRORS as one:
                            self.stats.write_failures += 1
                            log.exception("write failed")
                            self._resolve([job], one)
                else:
                    self.stats.write_failures += 1
                    log.exception("write failed")
                    self._resolve(jobs, exc)
            except BaseException as exc:  # the thread must not die silently
                self._failed = exc
                log.exception("the writer stopped")
                self._resolve(jobs, exc)
                self._fail_queue(exc)
                return
            finally:
                self._release(jobs)

    def _fail_queue(self, exc: BaseException) -> None:
        with self._cond:
            pending = list(self._queue)
            self._queue.clear()
        self._resolve(pending, exc)

    def _commit(self, con: duckdb.DuckDBPyConnection, jobs: Sequence[Job]) -> None:
        """Write ``jobs`` in one transaction; the assembler follows only if it commits."""
        started = time.perf_counter()
        mapped = [j.mapped for j in jobs if j.mapped is not None and j.mapped.span_count]
        outcome_rows = [o for j in jobs for o in j.outcomes]
        outcome_rows += [o for j in jobs if j.mapped is not None for o in j.mapped.outcomes]
        spans: pa.Table | None = None
        runs_written = 0
        con.execute("BEGIN TRANSACTION")
        try:
            new_runs = replaced_runs = new_traces = None
            if mapped:
                spans, hints = combine(mapped)
                assembled = self.assembler.apply(assembly_columns(spans), hints)
                if not assembled.mask.all():
                    spans = spans.filter(pa.array(assembled.mask))
                new_runs = run_table(assembled.new_runs) if assembled.new_runs else None
                replaced_runs = (
                    run_table(assembled.replaced_runs) if assembled.replaced_runs else None
                )
                new_traces = assembled.new_traces
                runs_written = len(assembled.new_runs) + len(assembled.replaced_runs)
            write_assembled(
                con,
                spans=spans,
                outcomes=_outcomes_table(outcome_rows) if outcome_rows else None,
                new_runs=new_runs,
                replaced_runs=replaced_runs,
                new_traces=new_traces,
                new_runs_traced=True,  # runs are assembled from their traces' spans
            )
            con.execute("COMMIT")
        except BaseException:
            self.assembler.rollback()
            con.execute("ROLLBACK")
            raise
        self.assembler.commit()
        elapsed = time.perf_counter() - started
        self._recent_commit_s = 0.8 * self._recent_commit_s + 0.2 * elapsed
        s = self.stats
        s.commits += 1
        s.commit_seconds += elapsed
        s.spans_committed += spans.num_rows if spans is not None else 0
        s.outcomes_committed += len(outcome_rows)
        s.runs_written += runs_written
        s.requests_committed += len(jobs)
        s.max_batch_requests = max(s.max_batch_requests, len(jobs))
        self._checkpoint_if_due(con)  # after the counts: its time is its own

    def _checkpoint_if_due(self, con: duckdb.DuckDBPyConnection) -> None:
        """Checkpoint with a thread per CPU once the log reaches ``checkpoint_bytes``.

        Called after a commit, which is durable by then: nothing here may fail it.
        A checkpoint that fails (DuckDB documents that ``CHECKPOINT`` can refuse
        while other transactions run; a full disk) is logged and tried again
        ``_CHECKPOINT_RETRY_COMMITS`` commits later, and DuckDB's own threshold
        remains behind it.
        """
        if self.stats.commits < self._checkpoint_after:
            return
        try:
            if self._wal.stat().st_size < self.checkpoint_bytes:
                return
        except OSError:  # no log: nothing to fold
            return
        started = time.perf_counter()
        try:
            (threads,) = con.execute("SELECT current_setting('threads')").fetchone() or (1,)
            try:
                con.execute(f"SET threads = {max(int(threads), _cpus())}")
                con.execute("CHECKPOINT")
            finally:
                con.execute(f"SET threads = {int(threads)}")
        except Exception:
            self._checkpoint_after = self.stats.commits + _CHECKPOINT_RETRY_COMMITS
            log.warning("checkpoint failed; trying again later", exc_info=True)
            return
        self.stats.checkpoints += 1
        self.stats.checkpoint_seconds += time.perf_counter() - started

    @staticmethod
    def _resolve(jobs: Sequence[Job], exc: BaseException | None) -> None:
        for job in jobs:
            fut, loop = job.future, job.loop
            if fut is None or loop is None:
                continue
            count = job.mapped.span_count if job.mapped is not None else len(job.outcomes)
            loop.call_soon_threadsafe(_settle, fut, count, exc)


def _cpus() -> int:
    """CPUs this process may run on (its affinity mask, where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _settle(fut: asyncio.Future[int], count: int, exc: BaseException | None) -> None:
    if fut.done():
        return
    if exc is None:
        fut.set_result(count)
    else:
        fut.set_exception(UnavailableError(f"the store could not write this request ({exc})"))


def _stored_trace_keys(con: duckdb.DuckDBPyConnection) -> Iterator[TraceKey]:
    """Every (project, trace_id) the store holds spans or a run row of, streamed."""
    reader = con.execute(
        "SELECT project, trace_id FROM spans UNION SELECT project, run_id FROM runs"
    ).to_arrow_reader(100_000)
    for batch in reader:
        yield from zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True)


_LOAD_SPANS: Final = (
    "SELECT s.project, s.trace_id, span_id, kind, status, model, agent, name, input_tokens, "
    "output_tokens, cost_usd, epoch_us(started_at) AS started_at, "
    "epoch_us(ended_at) AS ended_at FROM spans s SEMI JOIN _agentslo_load k "
    "ON s.project = k.project AND s.trace_id = k.trace_id "
    "WHERE s.started_at BETWEEN make_timestamp(?) AND make_timestamp(?)"
)
_LOAD_RUNS: Final = (
    "SELECT r.* REPLACE (epoch_us(started_at) AS started_at, epoch_us(ended_at) AS ended_at) "
    "FROM runs r SEMI JOIN _agentslo_load k ON r.project = k.project AND r.run_id = k.trace_id"
)


def _loader(con: duckdb.DuckDBPyConnection) -> Any:
    """What the assembler reads of traces it does not hold: spans near in time, run rows."""

    def load(
        keys: Sequence[TraceKey], low: int, high: int
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        view = pa.table({"project": [k[0] for k in keys], "trace_id": [k[1] for k in keys]})
        con.register("_agentslo_load", view)
        try:
            spans = con.execute(_LOAD_SPANS, [low, high]).to_arrow_table().to_pylist()
            runs = con.execute(_LOAD_RUNS).to_arrow_table().to_pylist()
        finally:
            con.unregister("_agentslo_load")
        return spans, runs

    return load
