"""Parquet files of agentslo records: one file per table, columns named as the schema.

The table comes from ``--table``, else from the file's ``agentslo.table`` metadata
or its name (``runs.parquet``...), exactly as ``agentslo export --parquet`` writes
them, so an export re-imports losslessly. Rows are read in record batches and
validated column-wise (:mod:`agentslo.ingest.columns`); the good rows go to the
store as Arrow, never through Python objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from agentslo.ingest.chunks import Chunk
from agentslo.ingest.columns import BatchValidator, row_values
from agentslo.ingest.errors import SourceError
from agentslo.ingest.rejects import Reject
from agentslo.store import TABLES, parquet_table_name

__all__ = ["read_parquet"]


def _open(path: Path, display: str) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, pa.ArrowIOError) as exc:
        raise SourceError(
            f"{display}: not a readable Parquet file ({exc}); check that it is Parquet, "
            "or pass --format for another format"
        ) from exc


def _table_name(path: Path, display: str, table: str | None) -> str:
    if table is not None:
        return table
    name = parquet_table_name(path)
    if name is None:
        raise SourceError(
            f"{display}: cannot tell which table this Parquet file holds (no "
            "'agentslo.table' metadata, and the file name does not start with one of "
            f"{', '.join(TABLES)}); pass --table {'|'.join(TABLES)}"
        )
    return name


def read_parquet(
    path: Path, display: str, *, table: str | None, batch_rows: int
) -> Iterator[Chunk]:
    """Validate ``path`` batch by batch; yield chunks of up to ``batch_rows`` rows."""
    with _open(path, display) as parquet:
        name = _table_name(path, display, table)
        validator = BatchValidator(name, parquet.schema_arrow, display)
        try:
            yield from _validated(parquet, path, display, name, validator, batch_rows)
        finally:
            validator.close()


def _batches(parquet: pq.ParquetFile, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The file's rows in batches, one reader per row group.

    A single ``iter_batches`` over a whole file keeps memory it no longer needs
    (pyarrow 26: about 6 MB per 200,000-row batch of spans, 1.2 GiB over a 45M-span
    file); a reader per row group releases it when the group is done.
    """
    for group in range(parquet.metadata.num_row_groups):
        yield from parquet.iter_batches(batch_size=batch_rows, row_groups=[group])


def _validated(
    parquet: pq.ParquetFile,
    path: Path,
    display: str,
    name: str,
    validator: BatchValidator,
    batch_rows: int,
) -> Iterator[Chunk]:
    size = path.stat().st_size
    total = max(parquet.metadata.num_rows, 1)
    done = reported = 0
    try:
        for batch in _batches(parquet, batch_rows):
            good, bad = validator.validate(batch)
            rejects = [
                Reject(
                    source=display,
                    index=done + i,
                    error=f"{display}: row {done + i}: {message}",
                    raw=row_values(batch, i),
                )
                for i, message in bad
            ]
            where = f"rows {done}-{done + batch.num_rows - 1}"
            done += batch.num_rows
            advance = size * done // total - reported
            reported += advance
            yield Chunk({name: good}, rejects, where, advance)
    except (pa.ArrowInvalid, pa.ArrowIOError) as exc:
        raise SourceError(
            f"{display}: cannot read past row {done} ({exc}); the file may be truncated "
            "or corrupt. Rows before it were imported"
        ) from exc
