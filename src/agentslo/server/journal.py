"""The receiver's journal: accepted requests on disk before the database has them.

Why it exists: DuckDB stops every commit while it checkpoints its write-ahead log
into the database file, 3 to 7 s once every 900 MB of log under ``agentslo serve``
(``docs/benchmarks.md``), and DuckDB 1.5 and 2.0 hold even a commit into another
table until the checkpoint ends. A request answered only after its commit waited
for that. Requests are instead appended here and ``fdatasync``-ed, and answered
then; the writer thread commits them to DuckDB behind.

A 200 therefore still means the request is on disk. The sequence number of the
last journaled request in each commit is written in that same transaction (the
store's ``meta`` table, key ``journal_applied``), so after ``kill -9`` the server
replays, before it takes new requests, exactly the journaled requests the database
does not have: each request is applied once.

Layout: a directory next to the database (``DB.journal``) of segment files, each
named by the sequence number of its first record and never appended to after a
restart. A segment is deleted once the database has every record in it, and a
clean shutdown leaves the directory empty. A record is a fixed header, the
project's name and the request body as received (after gzip decoding)::

    u32 payload length | u32 CRC-32 of the rest | u64 seq | u8 kind | u8 encoding
    | u16 project length | i64 arrival time (ns since the epoch) | project | payload

A crash can cut the last records of the last segment short; they were never
acknowledged (the answer waits for the sync), and reading stops at the first record
whose length or CRC does not hold, with a warning naming the file and offset.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from agentslo.store.journal_dir import SUFFIX, journal_path

__all__ = ["SEGMENT_BYTES", "SUFFIX", "Journal", "Record", "journal_path", "read_segment"]

log = logging.getLogger("agentslo.server")

#: A new segment starts once the current one passes this size.
SEGMENT_BYTES: Final = 64 << 20
#: Payload length and CRC-32, then the fields the CRC covers (with project and payload).
_PREFIX: Final = struct.Struct("<II")
_CHECKED: Final = struct.Struct("<QBBHq")
_HEADER_SIZE: Final = _PREFIX.size + _CHECKED.size
_KINDS: Final = ("traces", "outcomes")
_ENCODINGS: Final = ("application/x-protobuf", "application/json")


@dataclass(frozen=True, slots=True)
class Record:
    """One accepted request as the journal keeps it."""

    kind: str  #: "traces" or "outcomes"
    project: str
    encoding: str  #: the body's content type
    received_ns: int  #: when the request arrived (``time.time_ns()``)
    payload: bytes  #: the body after gzip decoding
    seq: int = 0  #: given by :meth:`Journal.append`

    def encode(self, seq: int) -> bytes:
        project = self.project.encode()
        checked = _CHECKED.pack(
            seq,
            _KINDS.index(self.kind),
            _ENCODINGS.index(self.encoding),
            len(project),
            self.received_ns,
        )
        crc = zlib.crc32(self.payload, zlib.crc32(project, zlib.crc32(checked)))
        prefix = _PREFIX.pack(len(self.payload), crc)
        return b"".join((prefix, checked, project, self.payload))


class Journal:
    """Append-only, synced segments of :class:`Record` in ``directory``.

    One thread appends; another may :meth:`release` what the database has.
    """

    def __init__(self, directory: Path, *, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        #: The sequence number the next record gets.
        self.next_seq = 1
        self._segments: list[tuple[int, Path]] = []  # (first seq, path), oldest first
        self._fd: int | None = None
        self._size = 0
        self._lock = threading.Lock()

    # -- start-up ------------------------------------------------------------------
    def recover(self, applied: int) -> Iterator[Record]:
        """Every record after ``applied`` (the database's mark), oldest first.

        Sets :attr:`next_seq` past every record found, so that numbers are never
        reused. Segments the database has entirely are deleted as they are read.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        self.next_seq = max(self.next_seq, applied + 1)
        found = sorted(
            (int(p.stem), p)
            for p in self.directory.glob(f"*{SUFFIX}")
            if p.stem.isdigit() and p.is_file()
        )
        for first, path in found:
            last = first - 1
            for record in read_segment(path):
                last = record.seq
                self.next_seq = max(self.next_seq, record.seq + 1)
                if record.seq > applied:
                    yield record
            # A segment without one whole record holds nothing (and its name would
            # be the next segment's); one the database has entirely is done with.
            if last <= applied or last < first:
                _unlink(path)
            else:
                with self._lock:
                    self._segments.append((first, path))

    # -- appending -----------------------------------------------------------------
    def append(self, records: Sequence[Record]) -> list[int]:
        """Write ``records`` and sync them; return their sequence numbers.

        Raises ``OSError`` (a full disk, a read-only file system): nothing of
        these records then counts as written, and the caller must not acknowledge
        them. The numbers are not reused, so a record cut short by the failure is
        never mistaken for a later one.
        """
        first = self.next_seq
        self.next_seq += len(records)
        seqs = list(range(first, first + len(records)))
        data = b"".join(r.encode(s) for r, s in zip(records, seqs, strict=True))
        if self._fd is None or self._size >= self.segment_bytes:
            self._rotate(first)
        assert self._fd is not None
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            os.fdatasync(self._fd)
        except OSError:
            self._close()  # the next append starts a clean segment
            raise
        self._size += len(data)
        return seqs

    def _rotate(self, first: int) -> None:
        self._close()
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{first:020d}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        _sync_directory(self.directory)
        self._fd, self._size = fd, 0
        with self._lock:
            self._segments.append((first, path))

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- releasing -----------------------------------------------------------------
    def release(self, applied: int) -> None:
        """Delete the segments whose records the database has up to ``applied``."""
        with self._lock:
            while len(self._segments) > 1 and self._segments[1][0] <= applied + 1:
                _unlink(self._segments.pop(0)[1])

    def close(self, applied: int) -> None:
        """Stop appending; delete every segment if the database has all records."""
        self._close()
        if applied >= self.next_seq - 1:
            with self._lock:
                for _, path in self._segments:
                    _unlink(path)
                self._segments.clear()
        else:
            self.release(applied)

    def keep_failed(self, record: Record, seq: int, error: BaseException) -> Path:
        """Copy a record the database refused to ``failed/`` with the error beside it."""
        failed = self.directory / "failed"
        failed.mkdir(exist_ok=True)
        path = failed / f"{seq:020d}{SUFFIX}"
        path.write_bytes(record.encode(seq))
        path.with_suffix(".error.txt").write_text(f"{type(error).__name__}: {error}\n")
        return path

    @property
    def segments(self) -> int:
        with self._lock:
            return len(self._segments)


def read_segment(path: Path) -> Iterator[Record]:
    """The whole records of one segment file, in order."""
    data = path.read_bytes()
    offset = 0
    while offset < len(data):
        if len(data) - offset < _HEADER_SIZE:
            break
        length, crc = _PREFIX.unpack_from(data, offset)
        seq, kind, encoding, plen, received = _CHECKED.unpack_from(data, offset + _PREFIX.size)
        start = offset + _HEADER_SIZE
        end = start + plen + length
        checked = data[offset + _PREFIX.size : start]
        if (
            end > len(data)
            or kind >= len(_KINDS)
            or encoding >= len(_ENCODINGS)
            or zlib.crc32(data[start:end], zlib.crc32(checked)) != crc
        ):
            break
        yield Record(
            kind=_KINDS[kind],
            project=data[start : start + plen].decode(),
            encoding=_ENCODINGS[encoding],
            received_ns=received,
            payload=data[start + plen : end],
            seq=seq,
        )
        offset = end
    if offset < len(data):
        log.warning(
            "journal %s: the record at byte %d is incomplete or corrupt; the %d bytes "
            "from there on are ignored (a crash while writing them, before they were "
            "acknowledged)",
            path,
            offset,
            len(data) - offset,
        )


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


def _sync_directory(directory: Path) -> None:
    """Make a new segment's name durable (its records are synced on their own)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
