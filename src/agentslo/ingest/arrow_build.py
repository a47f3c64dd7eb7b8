"""Arrow tables built from Python column lists, fast.

``pyarrow.Table.from_pylist`` looks every value up by name through the generic
mapping protocol (about 1.3 ms for ten run rows), and ``pyarrow.array`` costs
about 4 µs per call whatever the column's length. The receiver builds a table per
request and per commit, so it builds them column by column with the compiled
builder of ``_columns_fast`` (the same arrays, tested), falling back to
``pyarrow.array`` where no C compiler was at install.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa

__all__ = ["array", "table_from_columns", "table_from_rows"]


def _pyarrow_array(values: list[Any], arrow_type: pa.DataType) -> pa.Array:
    return pa.array(values, type=arrow_type)


array: Callable[[list[Any], pa.DataType], pa.Array]
try:
    # Writes the columns straight into Arrow buffers; the same arrays (tested).
    from agentslo.ingest._columns_fast import array
except ImportError:  # no C compiler at install
    array = _pyarrow_array


#: id(schema) -> (the schema, its (name, type) pairs). The schema is held so that
#: its id is never reused for another; hashing a schema costs about 12 µs a time.
_FIELDS: dict[int, tuple[pa.Schema, tuple[tuple[str, pa.DataType], ...]]] = {}


def _fields_of(schema: pa.Schema) -> tuple[tuple[str, pa.DataType], ...]:
    """(name, type) of each field of ``schema``: a schema's fields cost a lookup each
    time, so those of the few schemas the store uses are kept."""
    cached = _FIELDS.get(id(schema))
    if cached is None:
        cached = _FIELDS[id(schema)] = (schema, tuple((f.name, f.type) for f in schema))
    return cached[1]


def table_from_columns(cols: Mapping[str, list[Any]], schema: pa.Schema) -> pa.Table:
    """``cols`` (a list per field of ``schema``) as a table of ``schema``."""
    return pa.Table.from_arrays(
        [array(cols[name], arrow_type) for name, arrow_type in _fields_of(schema)],
        schema=schema,
    )


def table_from_rows(rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """``rows`` (a dict per row with every field of ``schema``) as a table of ``schema``."""
    return pa.Table.from_arrays(
        [array([r[name] for r in rows], arrow_type) for name, arrow_type in _fields_of(schema)],
        schema=schema,
    )
