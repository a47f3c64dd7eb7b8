"""The seam for work the server repeats on a schedule (regression gates, detectors).

Put objects satisfying :class:`PeriodicEvaluator` in ``ServerConfig.evaluators``:
the server calls ``run(store)`` every ``interval_s`` seconds in a worker thread,
with a read cursor on the store, and logs (never propagates) its failures.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from agentslo.store import Store

__all__ = ["PeriodicEvaluator"]


@runtime_checkable
class PeriodicEvaluator(Protocol):
    """Something the server runs every ``interval_s`` seconds over the store."""

    interval_s: float

    def run(self, store: Store) -> None:
        """Evaluate over ``store`` (a read cursor; do not close it)."""
