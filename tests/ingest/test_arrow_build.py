"""Tables built column by column equal pyarrow's own conversion of the same rows."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentslo.ingest.arrow_build import table_from_columns, table_from_rows
from agentslo.model import RUNS_SCHEMA

_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "string": st.one_of(st.none(), st.text(max_size=8)),
    "int64": st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
    "double": st.one_of(st.none(), st.floats(allow_nan=False), st.integers(-(2**53), 2**53)),
    "timestamp[us]": st.one_of(st.none(), st.integers(0, 2**53)),
}


def _row() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({f.name: _VALUES[str(f.type)] for f in RUNS_SCHEMA})


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(_row(), max_size=6))
def test_run_rows_give_the_table_from_pylist_gives(rows: list[dict[str, Any]]) -> None:
    try:
        expected = pa.Table.from_pylist(rows, schema=RUNS_SCHEMA)
    except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
        with pytest.raises(type(exc)):
            table_from_rows(rows, RUNS_SCHEMA)
        return
    built = table_from_rows(rows, RUNS_SCHEMA)
    built.validate(full=True)
    assert built.equals(expected)
    columns = {f.name: [r[f.name] for r in rows] for f in RUNS_SCHEMA}
    assert table_from_columns(columns, RUNS_SCHEMA).equals(expected)
