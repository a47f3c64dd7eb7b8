"""Column-wise validation of Arrow batches against the record models.

Parquet imports must keep up with millions of rows a minute, so rows are not
validated one by one: each column is cast to the store's Arrow type and checked
with ``pyarrow.compute`` masks, the good rows go on as Arrow, and only the bad
rows are turned into messages. The rules are read off the pydantic models (the
``Literal`` choices, ``ge``/``le`` bounds, string lengths, JSON shapes and
defaults) and the Arrow schemas (which columns are required), so a model change
changes the check and a row passes here when the model would accept it. One
difference is deliberate: a null in a JSON column (``attributes``...) is kept as
null, because the store allows it and an export may hold it.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

import annotated_types as at
import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic.fields import FieldInfo

from agentslo.ingest.errors import SourceError
from agentslo.ingest.messages import field_problem
from agentslo.model import SCHEMAS, Outcome, to_utc_naive

__all__ = ["BatchValidator", "ColumnRule", "column_rules", "row_values"]

# json_type() values (DuckDB) for the Python types a JSON field may hold.
_JSON_TYPE_NAMES: Final[dict[object, str]] = {
    dict: "OBJECT",
    list: "ARRAY",
    str: "VARCHAR",
    type(None): "NULL",
}
_JSON_PHRASES: Final[dict[str, str]] = {"OBJECT": "object", "ARRAY": "array", "VARCHAR": "string"}


@dataclass(frozen=True)
class ColumnRule:
    """What a column of a table must hold, as the model and the schema say."""

    name: str
    type: pa.DataType
    required: bool
    default_from: FieldInfo | None = None
    choices: tuple[str, ...] = ()
    ge: float | None = None
    le: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    json_types: tuple[str, ...] = ()

    @property
    def has_default(self) -> bool:
        """Whether the model fills the column when a record leaves it out."""
        return self.default_from is not None

    @property
    def expected(self) -> str:
        """What a value must be, in the words of the error messages."""
        if self.json_types:
            kinds = [_JSON_PHRASES[t] for t in self.json_types if t in _JSON_PHRASES]
            listed = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + f" or {kinds[-1]}"
            return (
                f"JSON text of an {listed}" if listed[0] in "aeiou" else f"JSON text of a {listed}"
            )
        return _type_phrase(self.type)


def _type_phrase(dtype: pa.DataType) -> str:
    if pa.types.is_timestamp(dtype):
        return "an ISO-8601 timestamp"
    if pa.types.is_integer(dtype):
        return "an integer"
    if pa.types.is_floating(dtype):
        return "a number"
    return "a string"


@dataclass
class _Constraints:
    choices: tuple[str, ...] = ()
    ge: float | None = None
    le: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    json: list[str] = field(default_factory=list)

    def absorb(self, meta: object) -> None:
        if isinstance(meta, FieldInfo):
            for inner in meta.metadata:
                self.absorb(inner)
        elif isinstance(meta, at.Ge):
            self.ge = float(meta.ge)  # type: ignore[arg-type]
        elif isinstance(meta, at.Le):
            self.le = float(meta.le)  # type: ignore[arg-type]
        elif isinstance(meta, at.MinLen):
            self.min_length = meta.min_length
        elif isinstance(meta, at.MaxLen):
            self.max_length = meta.max_length

    def walk(self, annotation: Any) -> None:
        origin = get_origin(annotation)
        if origin is Annotated:
            base, *metadata = get_args(annotation)
            for meta in metadata:
                self.absorb(meta)
            self.walk(base)
        elif origin is Literal:
            self.choices = tuple(str(a) for a in get_args(annotation))
        elif origin is Union or origin is types.UnionType:
            for arm in get_args(annotation):
                self.walk(arm)
        elif (origin or annotation) in _JSON_TYPE_NAMES:
            self.json.append(_JSON_TYPE_NAMES[origin or annotation])


@cache
def column_rules(table: str) -> tuple[ColumnRule, ...]:
    """The rules for every column of ``table``, in the schema's order."""
    model, schema = SCHEMAS[table]
    rules = []
    for f in schema:
        info = model.model_fields[f.name]
        found = _Constraints()
        for meta in info.metadata:
            found.absorb(meta)
        found.walk(info.annotation)
        is_json = "OBJECT" in found.json or "ARRAY" in found.json
        rules.append(
            ColumnRule(
                name=f.name,
                type=f.type,
                required=not f.nullable,
                default_from=None if info.is_required() else info,
                choices=found.choices,
                ge=found.ge,
                le=found.le,
                min_length=found.min_length,
                max_length=found.max_length,
                json_types=tuple(found.json) if is_json else (),
            )
        )
    return tuple(rules)


def _default_value(rule: ColumnRule) -> Any:
    """The model's default for a column left out of a file, as a stored value."""
    assert rule.default_from is not None
    value = rule.default_from.get_default(call_default_factory=True)
    if rule.json_types:
        return None if value is None else _json_default(value)
    if isinstance(value, datetime):
        return to_utc_naive(value)
    return value


def _json_default(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _is_stringish(dtype: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or pa.types.is_string_view(dtype)
    )


def _compatible(source: pa.DataType, target: pa.DataType) -> bool:
    """Whether values of ``source`` can mean values of ``target`` (row casts may still fail).

    Numbers are not read as timestamps (seconds or microseconds?) and numbers are
    not read as strings (the models refuse them too).
    """
    if pa.types.is_dictionary(source):
        source = source.value_type
    if pa.types.is_null(source) or source == target:
        return True
    if pa.types.is_string(target):
        return _is_stringish(source)
    if pa.types.is_integer(target) or pa.types.is_floating(target):
        return bool(
            pa.types.is_integer(source)
            or pa.types.is_floating(source)
            or pa.types.is_decimal(source)
            or _is_stringish(source)
        )
    if pa.types.is_timestamp(target):
        return bool(
            pa.types.is_timestamp(source) or pa.types.is_date(source) or _is_stringish(source)
        )
    return False


def _mask(values: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """A boolean compute result as a numpy mask (nulls are False); None if all False."""
    filled = pc.fill_null(values, False)
    if not pc.any(filled).as_py():
        return None
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)


def _bad_cast_rows(raw: pa.Array, options: pc.CastOptions) -> np.ndarray:
    """Rows of ``raw`` that do not cast, found by halving (a cast fails as a whole)."""
    bad = np.zeros(len(raw), dtype=bool)
    stack = [(0, len(raw))]
    while stack:
        start, stop = stack.pop()
        try:
            pc.cast(raw.slice(start, stop - start), options=options)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            if stop - start == 1:
                bad[start] = True
            else:
                mid = (start + stop) // 2
                stack += [(start, mid), (mid, stop)]
    return bad


def _parse_timestamp(text: str) -> datetime | None:
    try:
        return to_utc_naive(datetime.fromisoformat(text.strip()))
    except ValueError:
        return None


@dataclass
class _Issue:
    """Rows breaking one rule, and how to word the problem for a row."""

    mask: np.ndarray
    render: Callable[[int], str]


class BatchValidator:
    """Validates Arrow batches of one table of one file; call :meth:`close` when done.

    Construction checks the file's columns (unknown, missing or unusable columns
    make the whole file unusable: :class:`SourceError`); :meth:`validate` then
    splits each batch into the good rows, in the store's schema, and the bad ones
    with their messages.
    """

    def __init__(self, table: str, schema: pa.Schema, display: str) -> None:
        self.table = table
        self.display = display
        self.rules = column_rules(table)
        self.schema: pa.Schema = SCHEMAS[table][1]
        self._check_schema(schema)
        self._duck: duckdb.DuckDBPyConnection | None = None

    def _check_schema(self, schema: pa.Schema) -> None:
        known = {rule.name: rule for rule in self.rules}
        names = list(schema.names)
        unknown = [n for n in names if n not in known]
        if unknown:
            raise SourceError(
                f"{self.display}: unknown column(s) {', '.join(map(repr, unknown))} for table "
                f"{self.table}; allowed: {', '.join(known)}. Drop or rename them"
            )
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise SourceError(f"{self.display}: column(s) {duplicated} appear more than once")
        for rule in self.rules:
            if rule.name not in names:
                if rule.required and not rule.has_default:
                    raise SourceError(
                        f"{self.display}: required column '{rule.name}' is missing from "
                        f"this {self.table} file; add it (columns: {', '.join(known)})"
                    )
                continue
            source = schema.field(rule.name).type
            if not _compatible(source, rule.type):
                raise SourceError(
                    f"{self.display}: column '{rule.name}' has type {source}; expected "
                    f"{rule.expected} ({rule.type})"
                )

    def close(self) -> None:
        """Release the in-memory DuckDB used for JSON checks."""
        if self._duck is not None:
            self._duck.close()
            self._duck = None

    # -- validation -------------------------------------------------------------------
    def validate(self, batch: pa.RecordBatch) -> tuple[pa.Table, list[tuple[int, str]]]:
        """The good rows of ``batch`` as a table of the store's schema, and
        ``(row index in the batch, message)`` for each bad row."""
        n = batch.num_rows
        issues: list[_Issue] = []
        columns: list[pa.Array] = []
        for rule in self.rules:
            index = batch.schema.get_field_index(rule.name)
            if index < 0:
                columns.append(self._default_column(rule, n))
                continue
            raw = batch.column(index)
            column = self._cast(rule, raw, issues)
            self._check(rule, column, raw, issues)
            columns.append(column)
        table = pa.Table.from_arrays(columns, schema=self.schema)
        if "ended_at" in self.schema.names:
            self._check_order(table, issues)
        if not issues:
            return self._derive(table), []
        bad = np.zeros(n, dtype=bool)
        for issue in issues:
            bad |= issue.mask
        rows = np.flatnonzero(bad).tolist()
        messages = ["; ".join(issue.render(i) for issue in issues if issue.mask[i]) for i in rows]
        good = table.filter(pa.array(~bad))
        return self._derive(good), list(zip(rows, messages, strict=True))

    def _default_column(self, rule: ColumnRule, n: int) -> pa.Array:
        if not rule.has_default:
            return pa.nulls(n, rule.type)
        return pa.repeat(pa.scalar(_default_value(rule), type=rule.type), n)

    def _cast(self, rule: ColumnRule, raw: pa.Array, issues: list[_Issue]) -> pa.Array:
        """``raw`` as the rule's type; values that do not convert become issues (and null)."""
        source = raw.dictionary_decode() if pa.types.is_dictionary(raw.type) else raw
        if source.type == rule.type:
            return source
        if pa.types.is_null(source.type):
            return pa.nulls(len(source), rule.type)
        if pa.types.is_timestamp(rule.type) and _is_stringish(source.type):
            return self._parse_timestamps(rule, source, raw, issues)
        if pa.types.is_timestamp(rule.type):
            options = pc.CastOptions(rule.type, allow_time_truncate=True)
        else:
            options = pc.CastOptions.safe(rule.type)
        try:
            return pc.cast(source, options=options)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            bad = _bad_cast_rows(source, options)
        issues.append(_Issue(bad, self._renderer(rule.name, rule.expected, raw)))
        cleaned = pc.if_else(pa.array(bad), pa.scalar(None, source.type), source)
        return pc.cast(cleaned, options=options)

    def _parse_timestamps(
        self, rule: ColumnRule, source: pa.Array, raw: pa.Array, issues: list[_Issue]
    ) -> pa.Array:
        # Text timestamps may carry any zone offset; Arrow's cast accepts one kind per
        # column, so each distinct text is parsed in Python (text columns are rare).
        parsed: dict[str, datetime | None] = {}
        values: list[datetime | None] = []
        bad = np.zeros(len(source), dtype=bool)
        for i, text in enumerate(source.to_pylist()):
            if text is None:
                values.append(None)
                continue
            if text not in parsed:
                parsed[text] = _parse_timestamp(text)
            value = parsed[text]
            bad[i] = value is None
            values.append(value)
        if bad.any():
            issues.append(_Issue(bad, self._renderer(rule.name, rule.expected, raw)))
        return pa.array(values, type=rule.type)

    def _check(
        self, rule: ColumnRule, column: pa.Array, raw: pa.Array, issues: list[_Issue]
    ) -> None:
        checks: list[tuple[np.ndarray | None, str]] = []
        if rule.required:  # (a value that failed to convert is reported as such, not as null)
            checks.append((_mask(raw.is_null()), ""))
        if rule.choices:
            allowed = pc.is_in(column, value_set=pa.array(rule.choices))
            listed = ", ".join(repr(c) for c in rule.choices[:-1]) + f" or {rule.choices[-1]!r}"
            checks.append((_mask(pc.invert(allowed)), f"one of {listed}"))
        if rule.ge is not None:
            checks.append((_mask(pc.invert(pc.greater_equal(column, rule.ge))), _ge(rule)))
        if rule.le is not None:
            checks.append((_mask(pc.invert(pc.less_equal(column, rule.le))), _ge(rule)))
        if rule.min_length or rule.max_length is not None:
            checks.extend(self._length_checks(rule, column))
        if rule.json_types:
            checks.append((self._json_mask(column, rule.json_types), rule.expected))
        for mask, expected in checks:
            if mask is None:
                continue
            render = self._renderer(rule.name, expected, raw) if expected else _null(rule.name)
            issues.append(_Issue(mask, render))

    def _length_checks(
        self, rule: ColumnRule, column: pa.Array
    ) -> list[tuple[np.ndarray | None, str]]:
        lengths = pc.utf8_length(column)
        found = []
        if rule.min_length:
            phrase = (
                "a non-empty string"
                if rule.min_length == 1
                else f"a string of at least {rule.min_length} characters"
            )
            found.append((_mask(pc.less(lengths, rule.min_length)), phrase))
        if rule.max_length is not None:
            phrase = f"a string of at most {rule.max_length} characters"
            found.append((_mask(pc.greater(lengths, rule.max_length)), phrase))
        return found

    def _json_mask(self, column: pa.Array, kinds: Sequence[str]) -> np.ndarray | None:
        """Rows whose text is not JSON of one of ``kinds`` (DuckDB parses it, vectorised)."""
        if self._duck is None:
            self._duck = duckdb.connect(":memory:")
        listed = ", ".join(f"'{k}'" for k in kinds)
        self._duck.register("_agentslo_json", pa.table({"v": column}))
        try:
            result = self._duck.execute(
                "SELECT CASE WHEN v IS NULL THEN false WHEN json_valid(v) "
                f"THEN json_type(v) NOT IN ({listed}) ELSE true END AS bad FROM _agentslo_json"
            ).fetchnumpy()
        finally:
            self._duck.unregister("_agentslo_json")
        bad = np.asarray(result["bad"], dtype=bool)
        return bad if bad.any() else None

    def _check_order(self, table: pa.Table, issues: list[_Issue]) -> None:
        started, ended = table.column("started_at"), table.column("ended_at")
        mask = _mask(pc.less(ended, started))
        if mask is None:
            return

        def render(i: int) -> str:
            end, start = ended[i].as_py(), started[i].as_py()
            return (
                f"ended_at ({end.isoformat()}) is before started_at ({start.isoformat()}); "
                "swap them or drop ended_at"
            )

        issues.append(_Issue(mask, render))

    @staticmethod
    def _renderer(name: str, expected: str, raw: pa.Array) -> Callable[[int], str]:
        return lambda i: field_problem(name, expected, raw[i].as_py())

    # -- values the models derive ---------------------------------------------------------
    def _derive(self, table: pa.Table) -> pa.Table:
        if self.table == "runs":
            return _derive_total_tokens(table)
        if self.table == "outcomes":
            return _derive_outcome_ids(table)
        return table


def _null(name: str) -> Callable[[int], str]:
    return lambda _row: f"field '{name}': required, got null"


def _ge(rule: ColumnRule) -> str:
    if rule.ge is not None and rule.le is not None:
        return f"a number between {rule.ge:g} and {rule.le:g}"
    return f"a number >= {rule.ge:g}" if rule.ge is not None else f"a number <= {rule.le:g}"


def _derive_total_tokens(table: pa.Table) -> pa.Table:
    """``total_tokens`` = input + output when missing and either is given (as ``Run``)."""
    total = table.column("total_tokens")
    given_in, given_out = table.column("input_tokens"), table.column("output_tokens")
    fill = pc.and_(pc.is_null(total), pc.or_(pc.is_valid(given_in), pc.is_valid(given_out)))
    if not pc.any(fill).as_py():
        return table
    summed = pc.add(pc.fill_null(given_in, 0), pc.fill_null(given_out, 0))
    index = table.schema.get_field_index("total_tokens")
    return table.set_column(index, table.schema.field(index), pc.if_else(fill, summed, total))


def _derive_outcome_ids(table: pa.Table) -> pa.Table:
    """A stable id for outcomes given without one: the id ``Outcome`` derives."""
    ids = table.column("outcome_id")
    empty = _mask(pc.equal(ids, ""))
    if empty is None:
        return table
    keys = ("project", "run_id", "source", "evaluator", "label", "recorded_at")
    values = ids.to_pylist()
    for i in np.flatnonzero(empty).tolist():
        fields = {k: table.column(k)[i].as_py() for k in keys}
        values[i] = Outcome.model_validate(fields).outcome_id
    index = table.schema.get_field_index("outcome_id")
    return table.set_column(index, table.schema.field(index), pa.array(values, pa.string()))


def row_values(batch: pa.RecordBatch, index: int) -> dict[str, Any]:
    """Row ``index`` of ``batch`` as a dict of Python values (for the reject file)."""
    row: dict[str, Any] = batch.slice(index, 1).to_pylist()[0]
    return row
