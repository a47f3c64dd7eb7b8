"""Regression gates inside the server: re-evaluated on a schedule over live traffic.

``agentslo serve --gates gates.yaml`` gives the server a :class:`GateEvaluator`.
Every ``interval_s`` seconds (and once at start) it evaluates every gate of the
file over the store, records each first boundary crossing (``gate_decisions``)
the moment an evaluation finds it, and keeps the latest outcomes for
``GET /v1/gates`` and ``/metrics``. Each request sees only the gates of its
key's project; without auth it sees them all.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from agentslo.gate import GateOutcome, evaluate_gates, load_gates, prometheus_samples
from agentslo.gate._prometheus import Sample
from agentslo.store import Store

__all__ = ["GateEvaluator"]


class GateEvaluator:
    """A periodic evaluator (see ``server.evaluators``) of the gates in one file."""

    def __init__(self, path: str | os.PathLike[str], *, interval_s: float = 30.0) -> None:
        self.path = Path(path)
        self.interval_s = interval_s
        load_gates(self.path)  # a bad file fails at start, with the loader's message
        self._lock = threading.Lock()
        self._outcomes: list[GateOutcome] = []
        self._evaluated_at: datetime | None = None

    def run(self, store: Store) -> None:
        """Evaluate every gate now and keep the outcomes."""
        outcomes = evaluate_gates(store, self.path, record=True)
        with self._lock:
            self._outcomes = outcomes
            self._evaluated_at = datetime.now()

    def visible(self, project: str | None) -> list[GateOutcome]:
        """The latest outcomes of the gates of ``project`` (None: every gate)."""
        with self._lock:
            outcomes = list(self._outcomes)
        if project is None:
            return outcomes
        return [o for o in outcomes if o.spec.project == project]

    def payload(self, project: str | None) -> dict[str, Any]:
        """``GET /v1/gates``: when the gates were last evaluated, and each gate."""
        with self._lock:
            evaluated = self._evaluated_at
        return {
            "file": str(self.path),
            "evaluated_at": evaluated.isoformat() if evaluated is not None else None,
            "interval_s": self.interval_s,
            "gates": [o.to_dict() for o in self.visible(project)],
        }

    def samples(self, project: str | None) -> Sequence[Sample]:
        """The ``/metrics`` samples of the gates of ``project``."""
        return prometheus_samples(self.visible(project))
