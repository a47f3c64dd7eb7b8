"""``import_paths``: read files in any supported format into the store, batch by batch.

Each file is read by its format's reader into chunks of at most ``batch_rows``
good rows; each chunk is written by one ``Store.write`` (one transaction), so a
failure never leaves half a batch behind. Bad records are set aside in a reject
file and do not stop the good ones; a file that cannot be read at all is reported
and does not stop the other files. Re-importing the same files is idempotent.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Sequence
from contextlib import AbstractContextManager, closing, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from agentslo.ingest.chunks import Chunk
from agentslo.ingest.detect import FORMATS, SUFFIXES, detect_format
from agentslo.ingest.errors import SourceError
from agentslo.ingest.importers.mast import read_mast
from agentslo.ingest.importers.openinference import read_openinference
from agentslo.ingest.importers.tau_bench import StoredStarts, TauBenchOptions, read_tau_bench
from agentslo.ingest.importers.who_and_when import read_who_and_when
from agentslo.ingest.jsonl import read_jsonl
from agentslo.ingest.parquet import read_parquet
from agentslo.ingest.prefetch import prefetched
from agentslo.ingest.rejects import DEFAULT_REJECTS_DIR, RejectWriter
from agentslo.store import TABLES, Store

__all__ = ["DEFAULT_BATCH_ROWS", "FileResult", "ImportResult", "import_paths"]

#: Rows (over all tables) written per transaction.
DEFAULT_BATCH_ROWS: Final = 200_000
#: Reject messages kept per file in the result (all of them are in the reject file).
MAX_MESSAGES: Final = 20


def _zero_rows() -> dict[str, int]:
    return dict.fromkeys(TABLES, 0)


@dataclass
class FileResult:
    """What happened to one input file.

    ``rows`` counts rows written per table (a re-import counts them again, though
    the store keeps one copy); ``error`` says why the file could not be read at
    all or not to the end (rows of batches before the error were written);
    ``messages`` holds the first reject messages, the reject file all of them.
    """

    path: str
    format: str | None = None
    rows: dict[str, int] = field(default_factory=_zero_rows)
    rejected: int = 0
    rejects_path: str | None = None
    error: str | None = None
    messages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every record of the file was imported."""
        return self.error is None and self.rejected == 0

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-ready data."""
        return {
            "path": self.path,
            "format": self.format,
            "rows": dict(self.rows),
            "rejected": self.rejected,
            "rejects_path": self.rejects_path,
            "error": self.error,
            "messages": list(self.messages),
        }


@dataclass
class ImportResult:
    """The results of one ``import_paths`` call, per file and in total."""

    files: list[FileResult] = field(default_factory=list)

    @property
    def rows(self) -> dict[str, int]:
        """Rows written per table over all files."""
        totals = _zero_rows()
        for result in self.files:
            for table, n in result.rows.items():
                totals[table] = totals.get(table, 0) + n
        return totals

    @property
    def rejected(self) -> int:
        """Records rejected over all files."""
        return sum(result.rejected for result in self.files)

    @property
    def failed(self) -> int:
        """Files that could not be read (to the end)."""
        return sum(result.error is not None for result in self.files)

    @property
    def ok(self) -> bool:
        """Nothing was rejected and every file was read."""
        return all(result.ok for result in self.files)

    @property
    def exit_code(self) -> int:
        """0 when everything was imported, 1 when anything was rejected or failed."""
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-ready data (what ``agentslo import --json`` prints)."""
        return {
            "files": [result.to_dict() for result in self.files],
            "totals": {"rows": self.rows, "rejected": self.rejected, "failed": self.failed},
            "exit_code": self.exit_code,
        }


@dataclass(frozen=True)
class _Options:
    fmt: str | None
    table: str | None
    tau: TauBenchOptions
    rejects_dir: Path
    stamp: str
    batch_rows: int
    stored_starts: StoredStarts


def _stored_starts(store: Store) -> StoredStarts:
    """Start times of the given runs already in ``store`` (imported runs are in the
    default project)."""

    def lookup(run_ids: Sequence[str]) -> dict[str, datetime]:
        rows = store.con.execute(
            "SELECT run_id, started_at FROM runs WHERE project = 'default' "
            "AND run_id IN (SELECT unnest(?::VARCHAR[]))",
            [list(run_ids)],
        ).fetchall()
        return {str(run_id): started for run_id, started in rows}

    return lookup


def _check_arguments(fmt: str | None, table: str | None, batch_rows: int) -> None:
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")
    if table is not None and table not in TABLES:
        raise ValueError(f"unknown table {table!r}; use one of: {', '.join(TABLES)}")
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")


def _expand(paths: Sequence[str | os.PathLike[str]]) -> list[tuple[Path, str, str | None]]:
    """Each path as ``(path, display name, problem)``; a folder becomes its files."""
    found: list[tuple[Path, str, str | None]] = []
    for given in paths:
        path = Path(given)
        display = os.fspath(given)
        if not path.is_dir():
            found.append((path, display, None))
            continue
        members = sorted(
            p
            for p in path.iterdir()
            if p.is_file()
            and not p.name.startswith(".")
            and p.suffix.lower() in SUFFIXES
            and not p.name.endswith(".rejects.jsonl")
        )
        if not members:
            problem = f"{display}: folder holds no file to import (endings: {', '.join(SUFFIXES)})"
            found.append((path, display, problem))
        found.extend((p, os.fspath(Path(display) / p.name), None) for p in members)
    return found


def _check_readable(path: Path, display: str) -> None:
    try:
        with path.open("rb") as fh:
            fh.read(1)
    except FileNotFoundError as exc:
        raise SourceError(f"{display}: no such file; check the path") from exc
    except PermissionError as exc:
        raise SourceError(
            f"{display}: cannot read the file (permission denied); check its permissions "
            "or run as a user who may read it"
        ) from exc
    except OSError as exc:
        raise SourceError(
            f"{display}: cannot read the file ({exc.strerror or exc}); check the path"
        ) from exc


def _chunks(path: Path, display: str, fmt: str, options: _Options) -> Generator[Chunk, None, None]:
    if options.table is not None and fmt != "parquet":
        raise SourceError(
            f"{display}: --table applies to Parquet files only; {fmt} records name their "
            "own table. Leave --table out for this file"
        )
    # JSONL and Parquet readers touch only their file, so they can run a chunk ahead
    # of the writer; the tau-bench reader asks the store for start times, and a
    # DuckDB connection must not be used from two threads at once.
    if fmt == "jsonl":
        return prefetched(read_jsonl(path, display, batch_rows=options.batch_rows))
    if fmt == "parquet":
        return prefetched(
            read_parquet(path, display, table=options.table, batch_rows=options.batch_rows)
        )
    if fmt == "who-and-when":
        return read_who_and_when(path, display, batch_rows=options.batch_rows)
    if fmt == "openinference-json":
        return read_openinference(path, display, batch_rows=options.batch_rows)
    if fmt == "mast":
        return read_mast(path, display, batch_rows=options.batch_rows)
    return read_tau_bench(
        path,
        display,
        options.tau,
        batch_rows=options.batch_rows,
        stored_starts=options.stored_starts,
    )


class _Bar:
    """The progress bar over all files (bytes read), or nothing."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self._progress = progress
        self._task: TaskID | None = None
        if progress is not None:
            self._task = progress.add_task("importing", total=max(total, 1))

    def describe(self, text: str) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=text)

    def advance(self, n: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)


def _progress(enabled: bool) -> AbstractContextManager[Progress | None]:
    if not enabled:
        return nullcontext()
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _write(store: Store, chunk: Chunk, number: int, display: str, result: FileResult) -> None:
    try:
        counts = store.write(chunk.tables)
    except (duckdb.Error, pa.ArrowException, ValueError, OSError) as exc:
        raise SourceError(
            f"{display}: batch {number} ({chunk.where}) was not written ({exc}); none of "
            "its rows were stored, those of earlier batches were. Fix the cause and run "
            "the import again: re-importing is idempotent"
        ) from exc
    for table, n in counts.rows.items():
        result.rows[table] = result.rows.get(table, 0) + n


def _import_file(
    store: Store, path: Path, display: str, options: _Options, bar: _Bar
) -> FileResult:
    result = FileResult(path=display)
    rejects = RejectWriter(options.rejects_dir, path, options.stamp)
    bar.describe(display)
    try:
        _check_readable(path, display)
        fmt = options.fmt or detect_format(path, display)
        result.format = fmt
        with closing(_chunks(path, display, fmt, options)) as chunks:
            for number, chunk in enumerate(chunks, start=1):
                rejects.add(chunk.rejects)
                result.rejected += len(chunk.rejects)
                room = MAX_MESSAGES - len(result.messages)
                result.messages.extend(r.error for r in chunk.rejects[:room])
                if chunk.rows:
                    _write(store, chunk, number, display, result)
                bar.advance(chunk.advance)
    except SourceError as exc:
        result.error = str(exc)
    except OSError as exc:
        result.error = (
            f"{display}: reading failed ({exc.strerror or exc}); the rows of the batches "
            "before it were imported"
        )
    finally:
        rejects.close()
        result.rejects_path = os.fspath(rejects.path) if rejects.path is not None else None
    return result


def import_paths(
    store: Store,
    paths: Sequence[str | os.PathLike[str]],
    *,
    fmt: str | None = None,
    table: str | None = None,
    suite: str | None = None,
    agent: str | None = None,
    version: str | None = None,
    rejects_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    started_at: datetime | None = None,
) -> ImportResult:
    """Import ``paths`` (files, or folders of files) into ``store``.

    ``fmt`` forces a format (one of :data:`FORMATS`; default: detected per file
    from its name); ``table`` forces the table of Parquet files. ``suite``,
    ``agent``, ``version`` and ``started_at`` describe tau-bench runs, whose files
    do not say (see :mod:`agentslo.ingest.importers.tau_bench`). Bad records go to
    ``rejects_dir`` (default ``./agentslo-rejects``), one JSONL file per input.
    ``progress`` shows a progress bar on stderr. Raises ``ValueError`` for an
    unknown ``fmt`` or ``table``; problems with the files themselves are reported
    in the result, never raised.
    """
    _check_arguments(fmt, table, batch_rows)
    options = _Options(
        fmt=fmt,
        table=table,
        tau=TauBenchOptions(suite=suite, agent=agent, version=version, started_at=started_at),
        rejects_dir=Path(rejects_dir if rejects_dir is not None else DEFAULT_REJECTS_DIR),
        stamp=datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        batch_rows=batch_rows,
        stored_starts=_stored_starts(store),
    )
    inputs = _expand(paths)
    total = sum(_size(path) for path, _, problem in inputs if problem is None)
    outcome = ImportResult()
    # One index update for the whole import instead of one per batch (store.bulk).
    with _progress(progress) as live, store.bulk():
        bar = _Bar(live, total)
        for path, display, problem in inputs:
            if problem is not None:
                outcome.files.append(FileResult(path=display, error=problem))
                continue
            outcome.files.append(_import_file(store, path, display, options, bar))
    return outcome


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
