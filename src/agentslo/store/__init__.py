"""The embedded DuckDB store: schema and migrations, batched writer, Parquet export."""

from agentslo.store.schema import SCHEMA_VERSION, StoreVersionError
from agentslo.store.store import (
    DEFAULT_DB,
    TABLES,
    Store,
    StoreError,
    default_path,
    open_store,
    parquet_table_name,
    records_batch,
)
from agentslo.store.writer import Batch, WriteCounts, conform

__all__ = [
    "DEFAULT_DB",
    "SCHEMA_VERSION",
    "TABLES",
    "Batch",
    "Store",
    "StoreError",
    "StoreVersionError",
    "WriteCounts",
    "conform",
    "default_path",
    "open_store",
    "parquet_table_name",
    "records_batch",
]
