"""Parsing of the durations and instants that commands accept (``7d``, ``1h30m``, ISO-8601)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

from agentslo.model import to_utc_naive

__all__ = ["format_duration", "parse_duration", "parse_instant"]

_UNITS: Final = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1, "ms": 0.001}
_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|w|d|h|m|s)")


def parse_duration(text: str) -> timedelta:
    """Parse ``30s``, ``5m``, ``1h30m``, ``7d``, ``2w``, ``250ms`` into a timedelta.

    Raises ``ValueError`` naming the text and the accepted form.
    """
    cleaned = text.strip().lower().replace(" ", "")
    pos = 0
    seconds = 0.0
    for match in _PART.finditer(cleaned):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not cleaned or pos != len(cleaned) or seconds <= 0:
        raise ValueError(
            f"invalid duration {text!r}: use a positive number with a unit, "
            "such as 250ms, 30s, 5m, 1h30m, 7d or 2w"
        )
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest ``1d2h``-style rendering of a whole-second duration."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_instant(text: str, *, now: datetime | None = None) -> datetime:
    """Parse an ISO-8601 instant, or a duration meaning that long before ``now``.

    ``7d`` means seven days before now; ``2026-11-01`` and ``2026-11-01T12:00:00Z`` are
    absolute. Returned as naive UTC.
    """
    reference = to_utc_naive(now or datetime.now(UTC))
    try:
        return reference - parse_duration(text)
    except ValueError:
        pass
    try:
        return to_utc_naive(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
    except ValueError:
        raise ValueError(
            f"invalid time {text!r}: use an ISO-8601 instant (2026-11-01T12:00:00Z) "
            "or a duration before now (7d, 12h)"
        ) from None
