"""The receiver's single writer: journal, acknowledgement, then group commit.

Request handlers decode and map their body, then :meth:`IngestWriter.submit` it and
wait. With a :class:`~agentslo.server.journal.Journal` (``agentslo serve`` always
has one), a journal thread appends every request waiting to the journal, syncs it
once, and answers them all: a 200 means the request is on disk. The writer thread
then takes every journaled request (up to a batch limit) and writes their spans,
outcomes and run updates in ONE DuckDB transaction, with the sequence number of
the last of them, so that a restart replays exactly the journaled requests the
database lacks. Without a journal (tests, and any caller that wants it) a request is
answered when its commit is done.

Why the journal: DuckDB folds its write-ahead log into the database file (a
checkpoint) once the log reaches a size, and stops every commit meanwhile; under
``agentslo serve`` that was 3 to 7 s once every 900 MB of log (two million spans),
and every request waiting for its commit waited for that too. Acknowledged from
the journal, requests wait for one ``fdatasync`` instead, and the writer catches up
behind a checkpoint. The writer checkpoints at a 200 MB log, well before DuckDB
would, on its own DuckDB threads and at a low CPU priority.

When fewer than ``min_group`` spans are waiting, the writer lingers up to
``linger_s`` after the first of them arrived for more to join the group: a commit
costs milliseconds whatever its size. A reader that must see every acknowledged
span (:meth:`IngestWriter.caught_up`) cuts the lingering short.

The queue is bounded by the number of spans not yet in the database: beyond it,
``submit`` raises :class:`OverloadedError` at once (the handler answers 429 with
``Retry-After``) rather than letting memory grow without bound. If a group fails to
write, its requests are retried one by one so that one poisonous request cannot
fail the others; a journaled request that still fails (it was acknowledged) is
counted in ``write_failures``, logged, and its record kept in the journal's
``failed`` directory with the error, to be looked at and resent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa

from agentslo.ingest.assemble import (
    Summary,
    TraceAssembler,
    TraceKey,
    assembly_columns,
    combined_spans,
    run_table,
)
from agentslo.ingest.span_batch import SpanBatch
from agentslo.model import OUTCOMES_SCHEMA
from agentslo.server.journal import Journal, Record
from agentslo.store import Store
from agentslo.store.writer import write_assembled

__all__ = ["IngestWriter", "Job", "OverloadedError", "UnavailableError", "WriterStats"]

log = logging.getLogger("agentslo.server")

_IDLE_WAIT_S: Final = 0.5
#: Write-ahead log size at which the writer checkpoints (about 400,000 spans), well
#: before the store's own threshold: with requests acknowledged from the journal, a
#: checkpoint's length no longer holds answers, only its CPU does, and shorter, more
#: frequent ones spread that CPU out (docs/benchmarks.md, seventh round).
CHECKPOINT_WAL_BYTES: Final = 200 * 10**6
#: How much nicer than the writer the thread that checkpoints is (see
#: :func:`_checkpoint_at_low_priority`).
CHECKPOINT_NICE: Final = 10
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
    #: The request as the journal keeps it (None: not journaled, answered at commit).
    record: Record | None = None
    #: Its journal sequence number once written (0: none).
    seq: int = 0

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
    journal_syncs: int = 0
    journal_seconds: float = 0.0
    journal_max_seconds: float = 0.0
    journal_failures: int = 0
    replayed_requests: int = 0


def _outcomes_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_arrays(
        [pa.array([r.get(f.name) for r in rows], type=f.type) for f in OUTCOMES_SCHEMA],
        schema=OUTCOMES_SCHEMA,
    )


#: Rebuilds a job from its journal record on replay (decoding and mapping it again).
Rebuild = Callable[[Record], Job]


class IngestWriter:
    """A thread that group-commits queued jobs into ``store`` (and one that journals them)."""

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
        journal: Journal | None = None,
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
        self.journal = journal
        lock = threading.Lock()
        self._cond = threading.Condition(lock)  # the writer waits on it
        self._journal_cond = threading.Condition(lock)  # the journal thread waits on it
        self._incoming: list[Job] = []  # submitted, not yet journaled
        self._queue: deque[Job] = deque()  # journaled (or not journaling), not committed
        self._queued = 0  # the weight of both
        self._stopping = False
        self._hurry = False
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="agentslo-writer", daemon=True)
        self._journal_thread = threading.Thread(
            target=self._journal_run, name="agentslo-journal", daemon=True
        )
        self._recent_commit_s = 0.05
        #: The journal sequence number the database has every record up to.
        self.applied = _applied_mark(store.con) if journal is not None else 0
        #: The last journal sequence number acknowledged.
        self.journaled = self.applied
        self.assembler = TraceAssembler(
            _loader(store.con), known=_stored_trace_keys(store.con), max_traces=max_traces
        )

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, rebuild: Rebuild | None = None) -> None:
        """Queue the journal's records the database lacks (rebuilt by ``rebuild``), then
        start the threads."""
        if self.journal is not None:
            for record in self.journal.recover(self.applied):
                if rebuild is None:
                    raise ValueError("a journal to replay needs a rebuild function")
                try:
                    job = rebuild(record)
                except Exception as exc:  # a body this version no longer reads
                    self.stats.write_failures += 1
                    kept = self.journal.keep_failed(record, record.seq, exc)
                    log.error(
                        "journaled request %d cannot be replayed; kept in %s", record.seq, kept
                    )
                    continue
                job.record, job.seq = record, record.seq
                job.queued_at = time.monotonic()
                self._queue.append(job)
                self._queued += job.weight
                self.journaled = record.seq
                self.stats.replayed_requests += 1
            if self.stats.replayed_requests:
                log.warning(
                    "replaying %d journaled requests (%d spans and outcomes) the database "
                    "did not have: the server stopped without committing them",
                    self.stats.replayed_requests,
                    self._queued,
                )
            self._journal_thread.start()
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Journal and commit what is queued, then stop the threads."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            self._journal_cond.notify_all()
        if self._journal_thread.is_alive():
            self._journal_thread.join(timeout)
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout)
        if self.journal is not None and not self._thread.is_alive():
            self.journal.close(self.applied)

    @property
    def ready(self) -> bool:
        """Alive, not stopping, and the queue below its limit."""
        return (
            self._thread.is_alive()
            and (self.journal is None or self._journal_thread.is_alive())
            and not self._stopping
            and self._failed is None
            and self._queued < self.max_queued
        )

    @property
    def queued(self) -> int:
        """Spans and outcomes accepted or waiting that the database does not have yet."""
        return self._queued

    def retry_after(self) -> int:
        """Seconds a shed client should wait: about the time to drain the queue."""
        per_item = self._recent_commit_s / max(1, self.max_batch)
        return max(1, min(30, round(self._queued * per_item * 2 + 0.5)))

    # -- submitting --------------------------------------------------------------------
    async def submit(self, job: Job) -> int:
        """Queue ``job`` and wait until it is journaled (or, without a journal,
        committed); return the spans it offered."""
        if self._stopping or self._failed is not None or not self._thread.is_alive():
            raise UnavailableError("the store writer is not running")
        loop = asyncio.get_running_loop()
        job.loop = loop
        job.future = loop.create_future()
        weight = job.weight
        journaling = self.journal is not None and job.record is not None
        with self._cond:
            if self._queued + weight > self.max_queued and (self._queue or self._incoming):
                self.stats.requests_shed += 1
                raise OverloadedError(self.retry_after())
            job.queued_at = time.monotonic()
            self._queued += weight
            if journaling:
                self._incoming.append(job)
                if len(self._incoming) == 1:
                    self._journal_cond.notify()
            else:
                self._enqueue([job])
        return await job.future

    def _enqueue(self, jobs: Sequence[Job]) -> None:
        """Hand ``jobs`` to the writer (the lock held)."""
        was_empty = not self._queue
        self._queue.extend(jobs)
        # Wake the writer when it waits for a first job or for a full group.
        if was_empty or self._queued >= self.min_group:
            self._cond.notify()

    async def caught_up(self, timeout: float) -> bool:
        """Wait until the database has every request acknowledged so far (False: it did
        not within ``timeout`` seconds). Reads call this to see their own writes."""
        target = self.journaled
        if self.applied >= target:
            return True
        with self._cond:
            self._hurry = True
            self._cond.notify()
        deadline = time.monotonic() + timeout
        while self.applied < target:
            if time.monotonic() > deadline or not self._thread.is_alive():
                return False
            await asyncio.sleep(0.005)
        return True

    # -- the journal thread -------------------------------------------------------------
    def _journal_run(self) -> None:
        assert self.journal is not None
        while True:
            with self._cond:
                while not self._incoming and not self._stopping:
                    self._journal_cond.wait(_IDLE_WAIT_S)
                if not self._incoming:
                    return
                jobs, self._incoming = self._incoming, []
            started = time.perf_counter()
            try:
                seqs = self.journal.append([j.record for j in jobs if j.record is not None])
            except OSError as exc:
                self.stats.journal_failures += 1
                log.error("the journal could not write %d requests: %s", len(jobs), exc)
                self._release(jobs)
                self._resolve(jobs, exc)
                continue
            took = time.perf_counter() - started
            self.stats.journal_syncs += 1
            self.stats.journal_seconds += took
            self.stats.journal_max_seconds = max(self.stats.journal_max_seconds, took)
            for job, seq in zip(jobs, seqs, strict=True):
                job.seq = seq
            with self._cond:
                self.journaled = seqs[-1]
                self._enqueue(jobs)
            self._resolve(jobs, None)

    # -- the writer thread ---------------------------------------------------------------
    def _take(self) -> list[Job]:
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait(_IDLE_WAIT_S)
            if self._queue:
                deadline = self._queue[0].queued_at + self.linger_s
                while self._queued < self.min_group and not self._stopping and not self._hurry:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            self._hurry = False
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
                    with self._cond:
                        if not self._queue and not self._journal_thread.is_alive():
                            return
                        if not self._queue:  # the journal thread is still draining
                            self._cond.wait(0.01)
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
                            self._failed_write(con, job, one)
                else:
                    self._failed_write(con, jobs[0], exc)
            except BaseException as exc:  # the thread must not die silently
                self._failed = exc
                log.exception("the writer stopped")
                self._resolve(jobs, exc)
                self._fail_queue(exc)
                return
            finally:
                self._release(jobs)
            if self.journal is not None:
                self.journal.release(self.applied)

    def _failed_write(self, con: duckdb.DuckDBPyConnection, job: Job, exc: BaseException) -> None:
        """``job`` alone failed to write: answer it, or, if it was acknowledged from the
        journal, keep its record for a person and move the database's mark past it."""
        self.stats.write_failures += 1
        log.error("write failed", exc_info=exc)
        if job.record is None or job.seq == 0 or self.journal is None:
            self._resolve([job], exc)
            return
        kept = self.journal.keep_failed(job.record, job.seq, exc)
        log.error(
            "journaled request %d (project %r) could not be written to the database; kept in %s",
            job.seq,
            job.record.project,
            kept,
        )
        con.execute("BEGIN TRANSACTION")
        try:
            _mark_applied(con, job.seq)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self.applied = max(self.applied, job.seq)

    def _fail_queue(self, exc: BaseException) -> None:
        with self._cond:
            pending = list(self._queue) + self._incoming
            self._queue.clear()
            self._incoming = []
        self._resolve(pending, exc)

    def _commit(self, con: duckdb.DuckDBPyConnection, jobs: Sequence[Job]) -> None:
        """Write ``jobs`` in one transaction; the assembler follows only if it commits."""
        started = time.perf_counter()
        mapped = [j.mapped for j in jobs if j.mapped is not None and j.mapped.span_count]
        outcome_rows = [o for j in jobs for o in j.outcomes]
        outcome_rows += [o for j in jobs if j.mapped is not None for o in j.mapped.outcomes]
        last_seq = max(j.seq for j in jobs)
        spans: pa.Table | None = None
        runs_written = 0
        con.execute("BEGIN TRANSACTION")
        try:
            new_runs = replaced_runs = new_traces = None
            if mapped:
                spans = combined_spans(mapped)
                requests: list[Summary] = []
                offset = 0
                for batch in mapped:
                    requests.append((offset, batch.summary))
                    offset += batch.span_count
                assembled = self.assembler.apply(
                    requests, spans.num_rows, partial(assembly_columns, spans)
                )
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
            if last_seq:
                _mark_applied(con, last_seq)
            con.execute("COMMIT")
        except BaseException:
            self.assembler.rollback()
            con.execute("ROLLBACK")
            raise
        self.assembler.commit()
        self.applied = max(self.applied, last_seq)
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
        """Checkpoint once the log reaches ``checkpoint_bytes``, on the writer's own
        DuckDB threads (``--store-threads``), at a low CPU priority
        (:func:`_checkpoint_at_low_priority`).

        Not with a thread per CPU, as before the journal: the stages that decode and
        acknowledge requests keep working during a checkpoint now, and need their
        cores (a thread per CPU made p99 twice as long, docs/benchmarks.md).

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
            _checkpoint_at_low_priority(con)
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
            job.future = None  # answered: a later commit has no one to tell


def _checkpoint_at_low_priority(con: duckdb.DuckDBPyConnection) -> None:
    """``CHECKPOINT`` on a thread of its own, :data:`CHECKPOINT_NICE` steps nicer than
    the writer (Linux), while the writer waits for it.

    Requests are acknowledged from the journal, so a checkpoint delays only commits,
    which catch up behind it. On two cores it used to take one of them for 2 to 3 s
    from the event loop, the journal and the decode workers, whose queue then grew.
    At a lower priority the kernel gives them the CPU first: open loop at 40,000
    spans/s, p99 111 ms against 255 (medians of three pairs, ``docs/benchmarks.md``,
    eighth round). The thread is new each time because a process without
    ``CAP_SYS_NICE`` cannot raise a thread's priority back once lowered. DuckDB gives
    the interpreter lock back while the statement runs. Elsewhere than Linux, where a
    thread id is no process id for ``setpriority``, it runs here at normal priority.
    """
    if not sys.platform.startswith("linux"):
        con.execute("CHECKPOINT")
        return
    failure: list[BaseException] = []

    def checkpoint() -> None:
        me = threading.get_native_id()
        with contextlib.suppress(OSError):  # not allowed (a sandbox): at the writer's, then
            os.setpriority(
                os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + CHECKPOINT_NICE)
            )
        try:
            con.execute("CHECKPOINT")
        except BaseException as exc:  # raised in the writer's thread, below
            failure.append(exc)

    thread = threading.Thread(target=checkpoint, name="agentslo-checkpoint", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def _settle(fut: asyncio.Future[int], count: int, exc: BaseException | None) -> None:
    if fut.done():
        return
    if exc is None:
        fut.set_result(count)
    else:
        fut.set_exception(UnavailableError(f"the store could not write this request ({exc})"))


#: The ``meta`` key of the journal sequence number the database has every record up to.
APPLIED_KEY: Final = "journal_applied"


def _applied_mark(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT value FROM meta WHERE key = ?", [APPLIED_KEY]).fetchone()
    return int(row[0]) if row else 0


def _mark_applied(con: duckdb.DuckDBPyConnection, seq: int) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [APPLIED_KEY, str(seq)])


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
