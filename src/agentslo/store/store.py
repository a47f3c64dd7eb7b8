"""The embedded store: one DuckDB file holding runs, spans, outcomes and findings."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import duckdb
import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from agentslo.model import SCHEMAS
from agentslo.store.key_filters import PROBE_KEY, probe_value, rebuild_filters
from agentslo.store.outcome_index import PENDING, index_rows
from agentslo.store.schema import SCHEMA_VERSION, current_version, migrate
from agentslo.store.writer import Batch, WriteCounts, flush_outcome_index, write_batch

__all__ = [
    "CHECKPOINT_THRESHOLD_MB",
    "DEFAULT_DB",
    "TABLES",
    "Store",
    "StoreError",
    "default_path",
    "open_store",
    "records_batch",
]

DEFAULT_DB: Final = "agentslo.duckdb"
#: DuckDB's memory limit unless ``AGENTSLO_MEMORY_LIMIT`` says otherwise.
DEFAULT_MEMORY_LIMIT: Final = "3GB"
#: Write-ahead log size (MB, 10**6 bytes) at which DuckDB checkpoints by itself.
CHECKPOINT_THRESHOLD_MB: Final = 1000
TABLES: Final = tuple(SCHEMAS)
#: Tables ``Store.table`` also reads that are not records one writes.
_DERIVED: Final = ("run_outcomes", "detect_runs")


def records_batch(records: Iterable[Any]) -> Batch:
    """Model records (``Run``, ``Span``, ``Finding``, ...) as a batch of Arrow tables."""
    rows: dict[str, list[dict[str, Any]]] = {}
    by_model = {model: name for name, (model, _) in SCHEMAS.items()}
    for record in records:
        rows.setdefault(by_model[type(record)], []).append(record.to_row())
    return {
        name: pa.Table.from_pylist(items, schema=SCHEMAS[name][1]) for name, items in rows.items()
    }


class StoreError(RuntimeError):
    """The store file cannot be opened or used; the message says why and what to do."""


def default_path() -> Path:
    """The store path: ``$AGENTSLO_DB`` if set, else ``./agentslo.duckdb``."""
    return Path(os.environ.get("AGENTSLO_DB") or DEFAULT_DB)


class Store:
    """An open store file. Use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise StoreError(
                f"{self.path}: no such store; create one with `agentslo demo` or "
                "`agentslo import FILE`, or point --db / AGENTSLO_DB at an existing file"
            )
        if not self.path.parent.exists():
            raise StoreError(
                f"{self.path}: folder {self.path.parent} does not exist; create it first"
            )
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            raise StoreError(
                f"{self.path}: cannot open the store ({exc}); check the path, or whether "
                "another process holds it open for writing"
            ) from exc
        # Our own commands show progress; DuckDB's bar would interleave with it.
        self.con.execute("SET enable_progress_bar = false")
        # Reports never depend on row order (every ordered result says ORDER BY), and
        # not preserving it lets DuckDB materialise and aggregate in parallel.
        self.con.execute("SET preserve_insertion_order = false")
        # Checkpoint (fold the WAL into the file) every 1 GB of log rather than every
        # 16 MB: with the default, every batch of a bulk import paid for a checkpoint
        # (measured: 25% of the import before key indexes were replaced by filters).
        self.con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD_MB}MB'")
        # DuckDB would otherwise take up to 80% of RAM for its buffers; agentslo stays
        # a good neighbour on a shared machine and spills to disk beyond this.
        limit = os.environ.get("AGENTSLO_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT
        try:
            self.con.execute(f"SET memory_limit = '{limit.replace(chr(39), '')}'")
        except duckdb.Error as exc:
            self.con.close()
            raise StoreError(
                f"AGENTSLO_MEMORY_LIMIT={limit!r} is not a memory size ({exc}); "
                "use a size such as 3GB or 512MB"
            ) from exc
        if read_only:
            if current_version(self.con) < SCHEMA_VERSION:
                self.con.close()
                raise StoreError(
                    f"{self.path}: the store needs a schema upgrade; open it once "
                    "read-write (for example `agentslo import`) to migrate it"
                )
        else:
            migrate(self.con, str(self.path))
            if self.get_meta(PROBE_KEY) != probe_value(self.con):
                rebuild_filters(self.con)
            # A bulk import that crashed left its runs pending; finish its index.
            flush_outcome_index(self.con)
        self._ibis: Any = None
        self._defer_index = False

    def cursor(self) -> Store:
        """Another connection to this open database (for one thread; see DuckDB cursors).

        A server reads from worker threads while its writer thread writes: each
        reader takes a cursor, which sees every committed write.
        """
        other = Store.__new__(Store)
        other.path = self.path
        other.read_only = self.read_only
        other.con = self.con.cursor()
        other.con.execute("SET enable_progress_bar = false")
        other._ibis = None
        other._defer_index = False
        return other

    # -- lifecycle -----------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (pending transactions were committed by each write)."""
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------
    def write(self, batch: Batch) -> WriteCounts:
        """Write one batch atomically (see :func:`agentslo.store.writer.write_batch`)."""
        return write_batch(self.con, batch, defer_index=self._defer_index)

    @contextmanager
    def bulk(self) -> Iterator[Store]:
        """Write many batches, folding outcomes into the per-run index once at the end.

        Each batch stays atomic and the store stays correct throughout: until the
        index is folded in, readers compute it from the outcomes (see
        :meth:`table`), and a crash leaves the pending runs for the next
        read-write open to fold in.
        """
        outer = self._defer_index
        self._defer_index = True
        try:
            yield self
        finally:
            self._defer_index = outer
            if not outer:
                flush_outcome_index(self.con)

    def write_records(self, records: Iterable[Any]) -> WriteCounts:
        """Write already-validated model records (``Run``, ``Span``, ...) as one batch."""
        return self.write(records_batch(records))

    def write_in_transaction(self, batch: Batch) -> WriteCounts:
        """Write ``batch`` inside the transaction the caller began on ``con`` (and
        commits or rolls back), with the caller's other writes."""
        return write_batch(self.con, batch, defer_index=self._defer_index, own_transaction=False)

    def set_meta(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable value under ``key`` in the meta table."""
        self.con.execute(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, json.dumps(value, default=str)]
        )

    def get_meta(self, key: str) -> Any:
        """The value stored under ``key``, or None."""
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return None if row is None else json.loads(row[0])

    # -- reading -------------------------------------------------------------------
    @property
    def ibis(self) -> Any:
        """An Ibis backend over this store's connection (metrics are Ibis expressions)."""
        if self._ibis is None:
            self._ibis = ibis.duckdb.from_connection(self.con)
        return self._ibis

    def table(self, name: str) -> Any:
        """The Ibis table expression for ``name``: one of runs, spans, outcomes, findings,
        the derived ``run_outcomes`` index (computed from the outcomes while a bulk
        write has runs pending, so it is always exact), or ``detect_runs`` (which runs
        each detector analysed, the denominator of finding rates)."""
        if name == "run_outcomes" and self._index_pending():
            return index_rows(self.ibis.table("outcomes"))
        return self.ibis.table(_checked_table(name))

    def _index_pending(self) -> bool:
        row = self.con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {PENDING} LIMIT 1)").fetchone()
        return bool(row and row[0])

    def count(self, name: str) -> int:
        """Rows in table ``name``."""
        row = self.con.execute(f"SELECT count(*) FROM {_checked_table(name)}").fetchone()
        return int(row[0]) if row else 0

    # -- Parquet ---------------------------------------------------------------------
    def export_parquet(self, folder: str | os.PathLike[str]) -> dict[str, Path]:
        """Write each table to ``folder/<table>.parquet`` (zstd); return the paths.

        Each file carries ``agentslo.table`` in its key-value metadata, so an import
        recognises it whatever it is later renamed to.
        """
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        for name in TABLES:
            path = out / f"{name}.parquet"
            metadata = {"agentslo.table": name, "agentslo.schema_version": str(SCHEMA_VERSION)}
            kv = ", ".join(f"'{k}': '{v}'" for k, v in metadata.items())
            target = str(path).replace("'", "''")
            self.con.execute(
                f"COPY (SELECT * FROM {name}) TO '{target}' "
                f"(FORMAT PARQUET, COMPRESSION ZSTD, KV_METADATA {{{kv}}})"
            )
            written[name] = path
        return written


def _checked_table(name: str) -> str:
    """``name`` if it is one of the store's tables (or the derived ``run_outcomes``)."""
    if name not in SCHEMAS and name not in _DERIVED:
        raise KeyError(f"unknown table {name!r}; tables: {', '.join((*TABLES, *_DERIVED))}")
    return name


def parquet_table_name(path: str | os.PathLike[str]) -> str | None:
    """The agentslo table a Parquet file holds, from its metadata, else its file name."""
    meta = pq.read_schema(path).metadata or {}
    name = str(meta.get(b"agentslo.table", b"").decode())
    if name in SCHEMAS:
        return name
    stem = Path(path).name.split(".")[0]
    return stem if stem in SCHEMAS else None


def open_store(path: str | os.PathLike[str] | None = None, *, read_only: bool = False) -> Store:
    """Open (creating and migrating if needed) the store at ``path`` or the default."""
    return Store(path if path is not None else default_path(), read_only=read_only)
