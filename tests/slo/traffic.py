"""Constructed traffic and spec documents for the SLO tests (small, deterministic)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from agentslo.model import Outcome, Run
from agentslo.store import Store

#: The evaluation instant of every test.
AT = datetime(2026, 3, 1, 12, 0, 0)


def traffic(
    n: int,
    *,
    every: timedelta,
    fails: Callable[[int], bool],
    end: datetime = AT,
    agent: str = "checkout",
    prefix: str = "r",
) -> list[Any]:
    """``n`` runs, one per ``every`` back from ``end`` (run 0 newest), verified 5 s later.

    Run ``k`` starts at ``end - (k + 0.5) * every`` and fails when ``fails(k)``.
    """
    records: list[Any] = []
    for k in range(n):
        start = end - every * (k + 0.5)
        run_id = f"{prefix}{k}"
        records.append(
            Run(
                run_id=run_id,
                agent=agent,
                started_at=start,
                ended_at=start + timedelta(seconds=3),
            )
        )
        records.append(
            Outcome(
                run_id=run_id,
                label="failure" if fails(k) else "success",
                source="verified",
                recorded_at=start + timedelta(seconds=5),
            )
        )
    return records


def store_with(records: list[Any], path: str | Path = ":memory:") -> Store:
    """A store holding ``records``."""
    store = Store(path)
    if records:
        store.write_records(records)
    return store


def source(query: str, **spec: Any) -> dict[str, Any]:
    """A ``metricSource`` of type agentslo."""
    return {"metricSource": {"type": "agentslo", "spec": {"query": query, **spec}}}


def ratio(good: dict[str, Any], total: dict[str, Any] | None = None) -> dict[str, Any]:
    """An inline SLI spec with a ratioMetric."""
    metric = {"good": good} if total is None else {"good": good, "total": total}
    return {"ratioMetric": metric}


def slo_doc(
    name: str,
    indicator: dict[str, Any],
    *,
    target: float = 0.99,
    window: str = "30d",
    method: str = "Occurrences",
    **objective: Any,
) -> dict[str, Any]:
    """An OpenSLO v1 SLO document with an inline indicator and one objective."""
    return {
        "apiVersion": "openslo/v1",
        "kind": "SLO",
        "metadata": {"name": name},
        "spec": {
            "indicator": {"metadata": {"name": f"{name}-sli"}, "spec": indicator},
            "timeWindow": [{"duration": window, "isRolling": True}],
            "budgetingMethod": method,
            "objectives": [{"target": target, **objective}],
        },
    }


def write_docs(path: Path, *docs: dict[str, Any]) -> Path:
    """Write ``docs`` as one multi-document YAML file; return its path."""
    path.write_text(yaml.safe_dump_all(list(docs), sort_keys=False), encoding="utf-8")
    return path


def success_slo(name: str = "checkout-success", **kwargs: Any) -> dict[str, Any]:
    """99% verified success of the checkout agent over 30 days (overridable)."""
    return slo_doc(name, ratio(source("success", filter={"agent": "checkout"})), **kwargs)


def healthy() -> list[Any]:
    """3 days of traffic every 2 min with 0.5% failures: no alert may fire."""
    return traffic(3 * 24 * 30, every=timedelta(minutes=2), fails=lambda k: k % 200 == 7)


def burst() -> list[Any]:
    """Healthy traffic, then every run failing in the last 10 minutes (2 a minute)."""
    older = traffic(
        3 * 24 * 30,
        every=timedelta(minutes=2),
        fails=lambda k: k % 200 == 7,
        end=AT - timedelta(minutes=10),
        prefix="old",
    )
    return older + traffic(20, every=timedelta(seconds=30), fails=lambda k: True, prefix="new")


def slow_leak() -> list[Any]:
    """4 days at 2.5% failures (2.5x the budget rate of a 99% SLO): a ticket, no page."""
    return traffic(4 * 24 * 30, every=timedelta(minutes=2), fails=lambda k: k % 40 == 0)
