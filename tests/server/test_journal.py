"""The journal: what was synced comes back after a crash, once, and nothing else does."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.ingest.otlp_samples import TRACE, agent_trace, proto_request, span

from agentslo.ingest.otlp import decode_protobuf
from agentslo.ingest.prices import load_prices
from agentslo.ingest.semconv import MappingOptions, map_spans
from agentslo.ingest.span_batch import SpanBatch
from agentslo.server import AgentsloApp, ServerConfig
from agentslo.server.journal import Journal, Record, read_segment
from agentslo.server.writer import IngestWriter, Job, UnavailableError
from agentslo.store import open_store

PROTOBUF = "application/x-protobuf"
OPTIONS = MappingOptions(prices=load_prices())


def record(payload: bytes, project: str = "default", kind: str = "traces") -> Record:
    encoding = PROTOBUF if kind == "traces" else "application/json"
    return Record(kind, project, encoding, 1_700_000_000_000_000_000, payload)


def test_records_come_back_in_order_with_their_numbers(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j", segment_bytes=100)
    assert list(journal.recover(0)) == []
    seqs = [journal.append([record(b"a" * 60), record(b"b", "other")]), journal.append([])]
    seqs.append(journal.append([record(b"c" * 70, kind="outcomes")]))
    assert seqs == [[1, 2], [], [3]]
    assert journal.segments == 2  # the first segment passed 100 bytes
    again = Journal(tmp_path / "j")
    found = list(again.recover(0))
    assert [(r.seq, r.project, r.kind, r.payload[:1]) for r in found] == [
        (1, "default", "traces", b"a"),
        (2, "other", "traces", b"b"),
        (3, "default", "outcomes", b"c"),
    ]
    assert found[0].received_ns == 1_700_000_000_000_000_000
    assert again.next_seq == 4


def test_only_records_after_the_databases_mark_are_replayed(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j", segment_bytes=1)  # a segment per append
    for payload in (b"one", b"two", b"three"):
        journal.append([record(payload)])
    again = Journal(tmp_path / "j")
    assert [r.payload for r in again.recover(2)] == [b"three"]
    # The segments the database has entirely are gone; numbering goes on past them.
    assert sorted(p.name for p in (tmp_path / "j").iterdir()) == [f"{3:020d}.log"]
    assert again.append([record(b"four")]) == [4]


def test_numbers_go_on_past_the_mark_when_no_segment_is_left(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    assert list(journal.recover(41)) == []
    assert journal.append([record(b"x")]) == [42]


def test_a_torn_tail_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = Journal(tmp_path / "j")
    journal.append([record(b"kept"), record(b"cut short by the crash")])
    (segment,) = (tmp_path / "j").iterdir()
    data = segment.read_bytes()
    segment.write_bytes(data[:-5])
    with caplog.at_level(logging.WARNING, "agentslo.server"):
        assert [r.payload for r in read_segment(segment)] == [b"kept"]
    assert "incomplete or corrupt" in caplog.text and str(segment) in caplog.text


def test_a_flipped_byte_stops_the_reading_there(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    journal.append([record(b"first"), record(b"second"), record(b"third")])
    (segment,) = (tmp_path / "j").iterdir()
    data = bytearray(segment.read_bytes())
    data[data.index(b"second")] ^= 0x01
    segment.write_bytes(bytes(data))
    assert [r.payload for r in read_segment(segment)] == [b"first"]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payloads=st.lists(st.binary(max_size=300), min_size=1, max_size=8),
    cut=st.integers(min_value=0),
)
def test_any_cut_gives_a_prefix_of_the_records(
    tmp_path_factory: pytest.TempPathFactory, payloads: list[bytes], cut: int
) -> None:
    """A crash can stop the file at any byte: reading gives the records wholly
    before that byte, and never a damaged or invented one."""
    directory = tmp_path_factory.mktemp("j")
    Journal(directory).append([record(p) for p in payloads])
    (segment,) = directory.iterdir()
    data = segment.read_bytes()
    segment.write_bytes(data[: cut % (len(data) + 1)])
    got = [r.payload for r in read_segment(segment)]
    assert got == payloads[: len(got)]


def test_a_clean_close_empties_the_directory(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j", segment_bytes=1)
    list(journal.recover(0))
    journal.append([record(b"a")])
    journal.append([record(b"b")])
    journal.release(1)
    assert journal.segments == 1
    journal.close(2)
    assert list((tmp_path / "j").iterdir()) == []


def test_a_failed_record_is_kept_with_its_error(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    list(journal.recover(0))
    kept = journal.keep_failed(record(b"poison"), 7, ValueError("no such column"))
    assert [r.payload for r in read_segment(kept)] == [b"poison"]
    assert "ValueError: no such column" in kept.with_suffix(".error.txt").read_text()


# -- the writer with a journal ----------------------------------------------------------


def _job(trace: str) -> Job:
    body = proto_request(agent_trace(trace))
    decoded, rejects = decode_protobuf(body)
    return Job(
        mapped=SpanBatch.of(map_spans(decoded, OPTIONS, rejects)),
        record=record(body),
    )


def _rebuild(rec: Record) -> Job:
    decoded, rejects = decode_protobuf(rec.payload)
    return Job(mapped=SpanBatch.of(map_spans(decoded, OPTIONS, rejects)))


def _submit(writer: IngestWriter, jobs: list[Job]) -> list[Any]:
    async def run() -> list[Any]:
        return await asyncio.gather(*(writer.submit(j) for j in jobs), return_exceptions=True)

    return asyncio.run(run())


def _counts(db: Path) -> tuple[int, int]:
    with open_store(db, read_only=True) as store:
        return store.count("spans"), store.count("runs")


def _replayed_on_restart(db: Path, journal_dir: Path) -> int:
    """Start a writer on ``db`` and its journal, let it catch up, stop it cleanly;
    return how many requests it replayed."""
    store = open_store(db)
    writer = IngestWriter(store, journal=Journal(journal_dir))
    writer.start(_rebuild)
    assert asyncio.run(writer.caught_up(10))
    writer.stop()
    store.close()
    return writer.stats.replayed_requests


def test_a_crash_after_the_answer_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    """Acknowledged, then the process dies before (some of) the commits: the next
    start replays exactly the requests the database lacks."""
    db, journal_dir = tmp_path / "s.duckdb", tmp_path / "s.duckdb.journal"
    store = open_store(db)
    writer = IngestWriter(store, journal=Journal(journal_dir))
    writer.start(_rebuild)
    traces = [f"{n:032x}" for n in range(1, 7)]
    assert _submit(writer, [_job(t) for t in traces[:3]]) == [4, 4, 4]
    deadline = asyncio.run(writer.caught_up(10))
    assert deadline and writer.applied == 3
    # The writer stops taking work (as if killed) before the next three commit.
    writer._commit = lambda con, jobs: (_ for _ in ()).throw(SystemExit())  # type: ignore[method-assign]
    assert _submit(writer, [_job(t) for t in traces[3:]]) == [4, 4, 4]  # journaled: answered
    writer._thread.join(10)
    store.close()
    assert _counts(db) == (12, 3)
    assert _replayed_on_restart(db, journal_dir) == 3
    assert _counts(db) == (24, 6)
    assert list(journal_dir.iterdir()) == []
    # Started once more: nothing left to replay.
    assert _replayed_on_restart(db, journal_dir) == 0
    assert _counts(db) == (24, 6)


def test_a_journal_that_cannot_write_acknowledges_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    store = open_store(db)
    journal = Journal(tmp_path / "j")
    writer = IngestWriter(store, journal=journal)
    writer.start(_rebuild)

    def full_disk(records: Any) -> list[int]:
        raise OSError(28, "No space left on device")

    journal.append = full_disk  # type: ignore[method-assign]
    (result,) = _submit(writer, [_job(f"{9:032x}")])
    assert isinstance(result, UnavailableError) and "No space left" in str(result)
    assert writer.stats.journal_failures == 1 and writer.queued == 0
    writer.stop()
    store.close()
    assert _counts(db) == (0, 0)


def test_an_acknowledged_request_the_database_refuses_is_kept(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    store = open_store(db)
    writer = IngestWriter(store, journal=Journal(tmp_path / "j"))
    writer.start(_rebuild)
    commit = writer._commit

    def refuse_poison(con: Any, jobs: Any) -> None:
        if any(j.record.payload == poison.record.payload for j in jobs):
            raise ValueError("a value DuckDB refuses")
        commit(con, jobs)

    writer._commit = refuse_poison  # type: ignore[method-assign]
    good, poison = _job(f"{1:032x}"), _job(f"{2:032x}")
    assert _submit(writer, [good, poison]) == [4, 4]
    assert asyncio.run(writer.caught_up(10))
    writer.stop()
    store.close()
    assert writer.stats.write_failures == 1
    assert _counts(db) == (4, 1)  # the good request of the group is stored
    (kept,) = (tmp_path / "j" / "failed").glob("*.log")
    assert [r.payload for r in read_segment(kept)] == [poison.record.payload]
    # The mark moved past it: a restart does not replay it again and again.
    assert _replayed_on_restart(db, tmp_path / "j") == 0


def test_a_segment_left_without_a_whole_record_does_not_block_the_next(tmp_path: Path) -> None:
    """Killed while writing the first record of a new segment: that segment holds
    nothing, and the next append must not collide with its name."""
    journal = Journal(tmp_path / "j", segment_bytes=1)
    journal.append([record(b"one")])
    journal.append([record(b"two")])
    second = tmp_path / "j" / f"{2:020d}.log"
    second.write_bytes(second.read_bytes()[:10])  # torn: no whole record in it
    again = Journal(tmp_path / "j", segment_bytes=1)
    assert [r.payload for r in again.recover(0)] == [b"one"]
    assert again.append([record(b"two, resent")]) == [2]
    assert [r.payload for r in Journal(tmp_path / "j").recover(0)] == [b"one", b"two, resent"]


def test_a_record_that_cannot_be_rebuilt_is_kept_and_skipped(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    journal.append([record(b"not protobuf at all"), record(proto_request(agent_trace()))])
    store = open_store(tmp_path / "s.duckdb")
    writer = IngestWriter(store, journal=Journal(tmp_path / "j"))
    writer.start(_rebuild)
    assert writer.stats.replayed_requests == 1 and writer.stats.write_failures == 1
    assert asyncio.run(writer.caught_up(10))
    writer.stop()
    assert store.count("spans") == 4
    store.close()
    assert len(list((tmp_path / "j" / "failed").glob("*.log"))) == 1


def test_a_replay_refuses_what_the_answer_refused_and_keeps_outcomes(tmp_path: Path) -> None:
    """The server's rebuild decodes a journaled body again with the clock of its
    arrival: a span too far in the future then is refused three hours later too,
    and an outcome batch comes back as the rows that were acknowledged."""
    app = AgentsloApp(ServerConfig(db=tmp_path / "s.duckdb", prices=load_prices()))
    hours = 3_600 * 10**9
    arrived = time.time_ns() - 3 * hours  # the request arrived three hours ago,
    trace = [{**s, "start": s["start"] - 3 * hours, "end": s["end"] - 3 * hours}
             for s in agent_trace()]  # fmt: skip
    # ... with a span two hours ahead of it then, an hour in the past now.
    ahead = span("8000000000000008", "chat", {"gen_ai.operation.name": "chat"})
    ahead = {**ahead, "start": arrived + 2 * hours, "end": arrived + 2 * hours + 10**8}
    body = proto_request([*trace, ahead])
    replayed = app._rebuild(Record("traces", "default", PROTOBUF, arrived, body))
    assert replayed.mapped is not None
    assert replayed.mapped.span_count == len(trace)
    (refused,) = replayed.mapped.rejects
    assert "8000000000000008" in str(refused) and "in the future" in str(refused)
    # Decoded with today's clock, the same body would have kept it.
    now = app._rebuild(Record("traces", "default", PROTOBUF, time.time_ns(), body))
    assert now.mapped is not None and now.mapped.span_count == len(trace) + 1
    rows = [{"project": "default", "outcome_id": "review-1", "run_id": TRACE, "label": "success",
             "source": "human", "score": 0.5, "recorded_at": 1_767_225_600_000_000}]  # fmt: skip
    outcome = app._rebuild(
        Record("outcomes", "default", "application/json", arrived, json.dumps(rows).encode())
    )
    assert outcome.outcomes == rows
