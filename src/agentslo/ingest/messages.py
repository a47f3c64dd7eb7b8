"""Readable messages for bad records: which field, what was expected, what was found.

Every reader (JSONL, Parquet, tau-bench) words its problems the same way, e.g.
``field 'started_at': expected an ISO-8601 timestamp, got 'yesterday'``, so that a
user fixing a file reads one vocabulary whatever the format. Pydantic's own
messages are accurate but phrased for developers ("Input should be a valid
datetime or date, input is too short"); the phrases below say what to write.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

__all__ = ["describe_validation_error", "field_problem", "format_loc", "show"]

_MAX_SHOWN: Final = 80

#: Pydantic labels the branches of a union in an error's location ('str',
#: 'dict[str,any]', ...). They are not fields, so they are left out of the path.
_BRANCH: Final = re.compile(r"^(str|int|float|bool|none|datetime|[a-z-]+\[.*\])$")

_EXPECTED: Final[dict[str, str]] = {
    "datetime_parsing": "an ISO-8601 timestamp",
    "datetime_from_date_parsing": "an ISO-8601 timestamp",
    "datetime_type": "an ISO-8601 timestamp",
    "datetime_object_invalid": "an ISO-8601 timestamp",
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "string_type": "a string",
    "string_unicode": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a JSON object",
    "model_type": "a JSON object",
    "model_attributes_type": "a JSON object",
    "list_type": "a JSON array",
}


def show(value: Any) -> str:
    """``value`` as it would be written in the input, shortened to stay on one line."""
    text = repr(value) if not isinstance(value, bool | type(None)) else _json_word(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return text


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _json_word(value: bool | None) -> str:
    return "null" if value is None else str(value).lower()


def field_problem(field: str, expected: str, got: Any = ..., *, missing: bool = False) -> str:
    """``field 'x': expected ..., got ...`` (``got`` left out when nothing was given)."""
    if missing:
        return f"field '{field}': required, but missing"
    text = f"field '{field}': expected {expected}"
    return text if got is ... else f"{text}, got {show(got)}"


def format_loc(loc: Sequence[int | str]) -> str:
    """A pydantic location as a path a user can follow: ``traj[5].tool_calls[0].id``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not _BRANCH.match(part):
            path += f".{part}" if path else part
    return path


def _expectation(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    if kind == "literal_error":
        return f"one of {ctx.get('expected', '')}"
    if kind in ("greater_than_equal", "greater_than"):
        sign = ">=" if kind == "greater_than_equal" else ">"
        return f"a number {sign} {_number(ctx.get('ge', ctx.get('gt')))}"
    if kind in ("less_than_equal", "less_than"):
        sign = "<=" if kind == "less_than_equal" else "<"
        return f"a number {sign} {_number(ctx.get('le', ctx.get('lt')))}"
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return "a non-empty string" if n == 1 else f"a string of at least {n} characters"
    if kind == "string_too_long":
        return f"a string of at most {ctx.get('max_length')} characters"
    return str(error["msg"]).removeprefix("Input should be ").rstrip(".")


def _describe_one(path: str, errors: list[ErrorDetails], allowed: Sequence[str]) -> str:
    first = errors[0]
    kind = first["type"]
    if kind == "missing":
        return field_problem(path, "", missing=True)
    if kind == "extra_forbidden":
        hint = f"; allowed fields: {', '.join(allowed)}" if allowed else ""
        return f"field '{path}': unknown field{hint}"
    if kind in ("value_error", "assertion_error"):
        message = str(first["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return f"field '{path}': {message}" if path else message
    if kind == "json_invalid":
        detail = str((first.get("ctx") or {}).get("error", first["msg"]))
        detail = detail.replace(" at line 1 column ", " at column ")
        return f"not valid JSON ({detail}); each line must hold one JSON object"
    expected: list[str] = []
    for error in errors:
        phrase = _expectation(error)
        if phrase not in expected:
            expected.append(phrase)
    wanted = expected[0] if len(expected) == 1 else ", ".join(expected[:-1]) + f" or {expected[-1]}"
    if not path:
        return f"expected {wanted}, got {show(first['input'])}"
    return field_problem(path, wanted, first["input"])


def describe_validation_error(
    exc: ValidationError,
    *,
    tags: Sequence[str] = (),
    allowed: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """One line naming every bad field of a record and what it should hold.

    ``tags`` are the kinds of a discriminated union (the JSONL ``record`` field):
    when given, the first location element is the tag, not a field. ``allowed``
    maps a tag (``""`` when untagged) to the fields offered in the hint for an
    unknown field.
    """
    grouped: dict[str, list[ErrorDetails]] = {}
    hint: Sequence[str] = ()
    for error in exc.errors(include_url=False):
        kind = error["type"]
        if kind in ("union_tag_not_found", "union_tag_invalid"):
            return _describe_tag(error, tags)
        loc = error["loc"]
        tag = ""
        if tags and loc:
            tag, loc = str(loc[0]), loc[1:]
        if kind == "extra_forbidden" and allowed:
            hint = allowed.get(tag, ())
        grouped.setdefault(format_loc(loc), []).append(error)
    return "; ".join(_describe_one(path, errs, hint) for path, errs in grouped.items())


def _describe_tag(error: ErrorDetails, tags: Sequence[str]) -> str:
    ctx = error.get("ctx") or {}
    field = str(ctx.get("discriminator", "record")).strip("'")
    expected = ", ".join(repr(tag) for tag in tags)
    if error["type"] == "union_tag_not_found":
        return f"field '{field}': required, but missing; it names the kind: one of {expected}"
    return f"field '{field}': expected one of {expected}, got {show(ctx.get('tag'))}"
