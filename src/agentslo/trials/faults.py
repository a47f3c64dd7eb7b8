"""Fault injection: named, composable, seeded profiles applied on the tool channel.

``--faults clean,api-errors:0.2,mid-run-change`` names three profiles; each task
runs k trials under each. Within one profile, faults compose with ``+``:
``api-errors:0.1+stale-reads:0.3``. A rate after ``:`` overrides the default.

Every injected fault is decided by a ``numpy.random.Generator`` seeded from the
run seed, the task, the profile and the trial index, and is recorded on the span
of the call it hit (``fault`` attribute), so a failure can be traced to its cause.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

__all__ = ["FAULT_KINDS", "FaultProfile", "Injection", "Injector", "parse_profiles"]

#: Fault kind -> (default rate, what it does).
FAULT_KINDS: Final[dict[str, tuple[float, str]]] = {
    "api-errors": (0.1, "a tool call fails with a retryable 503 (state unchanged)"),
    "timeouts": (0.05, "a tool call times out before it is applied (retryable)"),
    "rate-limits": (0.1, "429 with retry_after; calls before it elapses are refused again"),
    "malformed": (0.05, "a read result arrives as truncated JSON text"),
    "stale-reads": (0.3, "a read after a write reflects the state before that write"),
    "conflicting-sources": (0.5, "a secondary source (search index) disagrees with the record"),
    "ambiguous": (1.0, "the instruction omits a detail that ask_user gives if asked"),
    "mid-run-change": (1.0, "a record the task depends on changes during the run"),
}
RETRY_AFTER_S: Final = 0.02


@dataclass(frozen=True)
class FaultProfile:
    """A named set of fault kinds with their rates (``clean`` has none)."""

    name: str
    faults: dict[str, float] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.faults

    def rate(self, kind: str) -> float:
        return self.faults.get(kind, 0.0)


def _parse_one(text: str) -> FaultProfile:
    name = text.strip()
    if name in ("clean", "none", ""):
        return FaultProfile("clean")
    faults: dict[str, float] = {}
    for part in name.split("+"):
        kind, _, rate_text = part.strip().partition(":")
        if kind not in FAULT_KINDS:
            raise ValueError(
                f"unknown fault {kind!r} in --faults {text!r}; choose from clean, "
                f"{', '.join(FAULT_KINDS)} (compose with +, rate with :, e.g. api-errors:0.2)"
            )
        rate = FAULT_KINDS[kind][0]
        if rate_text:
            try:
                rate = float(rate_text)
            except ValueError:
                raise ValueError(f"fault rate {rate_text!r} in {text!r} is not a number") from None
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault rate {rate} in {text!r} must be between 0 and 1")
        faults[kind] = rate
    return FaultProfile(name, faults)


def parse_profiles(text: str) -> list[FaultProfile]:
    """Parse ``--faults``: comma-separated profiles (duplicates dropped, order kept)."""
    profiles = [_parse_one(p) for p in text.split(",") if p.strip()] or [FaultProfile("clean")]
    return list({p.name: p for p in profiles}.values())


@dataclass
class Injection:
    """A fault decided for one call: an error to return, or a change to the result."""

    kind: str
    error_type: str | None = None
    message: str = ""
    retry_after: float | None = None


class Injector:
    """Decides, call by call, which fault (if any) hits; seeded and reproducible."""

    def __init__(self, profile: FaultProfile, seed: int | Sequence[int]) -> None:
        self.profile = profile
        self.rng = np.random.default_rng(seed)
        self._limited_until: dict[str, float] = {}
        self.change_at = int(self.rng.integers(2, 7)) if profile.rate("mid-run-change") else -1

    def _hit(self, kind: str) -> bool:
        rate = self.profile.rate(kind)
        return rate > 0 and float(self.rng.random()) < rate

    def before(self, tool: str) -> Injection | None:
        """A fault that replaces the call (error, timeout, rate limit), or None."""
        if self.profile.clean:
            return None
        now = time.monotonic()
        until = self._limited_until.get(tool)
        if until is not None and now < until:
            return Injection(
                "rate-limits", "rate_limited", "429 too many requests", retry_after=until - now
            )
        if self._hit("rate-limits"):
            self._limited_until[tool] = now + RETRY_AFTER_S
            return Injection(
                "rate-limits", "rate_limited", "429 too many requests", retry_after=RETRY_AFTER_S
            )
        if self._hit("api-errors"):
            return Injection("api-errors", "server_error", "503 service unavailable")
        if self._hit("timeouts"):
            return Injection("timeouts", "timeout", "the call timed out; it was not applied")
        return None

    def stale(self, writes: bool) -> bool:
        return not writes and self._hit("stale-reads")

    def conflicting(self, writes: bool) -> bool:
        return not writes and self._hit("conflicting-sources")

    def malformed(self, writes: bool, result: Any) -> str | None:
        """Truncated JSON text replacing a read result, or None."""
        if writes or not self._hit("malformed"):
            return None
        text = json.dumps(result, default=str)
        cut = int(self.rng.integers(1, max(2, len(text))))
        return text[:cut]
