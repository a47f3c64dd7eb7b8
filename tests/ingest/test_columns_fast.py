"""The compiled column builder (``_columns_fast.pyx``) makes what ``pyarrow.array`` makes.

For any list of values and any of the span table's types, :func:`array` must give
an array equal to ``pyarrow.array``'s (values, nulls and type), or raise what
``pyarrow.array`` raises: the values it does not copy itself go to pyarrow.
"""

from __future__ import annotations

import shutil
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentslo.ingest import arrow_build, span_batch
from agentslo.model import SPANS_SCHEMA

try:
    from agentslo.ingest import _columns_fast
except ImportError:  # no C compiler at install
    _columns_fast = None  # type: ignore[assignment]

needs_compiled = pytest.mark.skipif(
    _columns_fast is None, reason="the compiled column builder is not built (no C compiler)"
)

_TYPES = [pa.string(), pa.int64(), pa.float64(), pa.timestamp("us"), pa.bool_()]

_VALUE = st.one_of(
    st.none(),
    st.text(),
    st.sampled_from(["", "\x00", "é", "✓" * 3, "\ud800"]),  # a lone surrogate: not UTF-8
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([2**63, -(2**63) - 1, 2**70]),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=4),
)


def _outcome(build: Any, values: list[Any], arrow_type: pa.DataType) -> Any:
    try:
        return build(values, arrow_type)
    except Exception as exc:  # what was raised is compared, not swallowed
        return type(exc)


def _pyarrow(values: list[Any], arrow_type: pa.DataType) -> pa.Array:
    return pa.array(values, type=arrow_type)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, pa.Array) and isinstance(b, pa.Array):
        if a.type != b.type:
            return False
        if pa.types.is_timestamp(a.type):  # as integers: to_pylist makes datetimes
            a, b = a.cast(pa.int64()), b.cast(pa.int64())
        # repr, not ==: NaN equals itself there, and -0.0 differs from 0.0.
        return (
            a.type == b.type
            and a.null_count == b.null_count
            and repr(a.to_pylist()) == repr(b.to_pylist())
        )
    return bool(a == b)


@needs_compiled
@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(_TYPES),
    st.lists(_VALUE, max_size=40)
    | st.lists(st.text() | st.none(), max_size=40)
    | st.lists(st.integers(-(2**63), 2**63 - 1) | st.none(), max_size=40)
    | st.lists(st.floats() | st.none(), max_size=40),
)
def test_compiled_columns_equal_pyarrow(arrow_type: pa.DataType, values: list[Any]) -> None:
    built = _outcome(_columns_fast.array, values, arrow_type)
    expected = _outcome(_pyarrow, values, arrow_type)
    assert _same(built, expected), (built, expected)
    if isinstance(built, pa.Array):
        built.validate(full=True)


@needs_compiled
@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([pa.string(), pa.int64(), pa.float64(), pa.timestamp("us")]).flatmap(
        lambda t: st.tuples(
            st.just(t),
            st.lists(
                st.none()
                | {
                    pa.string(): st.text(),
                    pa.int64(): st.integers(-(2**63), 2**63 - 1),
                    pa.float64(): st.floats(allow_nan=False),
                    pa.timestamp("us"): st.integers(0, 2**62),
                }[t],
                max_size=60,
            ),
        )
    )
)
def test_plain_columns_are_copied_exactly(case: tuple[pa.DataType, list[Any]]) -> None:
    """Columns of the value types it copies: equal arrays, null bitmaps included."""
    arrow_type, values = case
    built = _columns_fast.array(values, arrow_type)
    built.validate(full=True)
    assert built.equals(pa.array(values, type=arrow_type))


def test_spans_table_uses_the_compiled_builder_where_a_compiler_is() -> None:
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler here: span columns go through pyarrow.array")
    assert _columns_fast is not None, "reinstall (`pip install -e .`) to build it"
    assert arrow_build.array is _columns_fast.array
    cols = {f.name: [None] for f in SPANS_SCHEMA}
    cols.update(project=["p"], trace_id=["t"], span_id=["s"], run_id=["t"], name=["n"])
    table = span_batch.spans_table(cols)
    assert table.schema.equals(SPANS_SCHEMA) and table.num_rows == 1
