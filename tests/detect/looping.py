"""Runs that loop or not, as traces the real ``loops`` detector reads: the fixtures of
the finding-rate tests of ``slo check`` and ``gate``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from agentslo.model import Outcome, Run, Span


def run_records(
    run_id: str,
    start: datetime,
    *,
    loops: bool,
    agent: str = "support",
    version: str = "v1",
    environment: str = "production",
) -> list[Any]:
    """One verified-successful run of ``agent``: three successful ``search`` calls, with
    the same arguments when ``loops`` (a ``repeated_call`` loop), else different ones."""
    args = ["order 5512"] * 3 if loops else ["order 5512", "customer 77", "refund policy"]
    spans = [
        Span(
            trace_id=run_id,
            span_id=f"{run_id}-a",
            run_id=run_id,
            name="invoke_agent",
            kind="agent",
            agent=agent,
            started_at=start,
            input_text="Where is order 5512?",
        )
    ]
    for n, arg in enumerate(args, start=1):
        spans.append(
            Span(
                trace_id=run_id,
                span_id=f"{run_id}-t{n}",
                parent_span_id=f"{run_id}-a",
                run_id=run_id,
                name="search",
                kind="tool",
                tool="search",
                agent=agent,
                started_at=start + timedelta(seconds=n),
                input_text=arg,
                output_text=f"result for {arg}",
            )
        )
    return [
        Run(
            run_id=run_id,
            agent=agent,
            version=version,
            environment=environment,  # type: ignore[arg-type]
            started_at=start,
            ended_at=start + timedelta(seconds=5),
        ),
        *spans,
        Outcome(
            run_id=run_id,
            label="success",
            source="verified",
            recorded_at=start + timedelta(seconds=6),
        ),
    ]


def fleet(
    n: int,
    *,
    every: timedelta,
    end: datetime,
    loops: Any,
    prefix: str = "r",
    **fields: Any,
) -> list[Any]:
    """``n`` runs, one per ``every`` back from ``end`` (run 0 newest); run ``k`` starts at
    ``end - (k + 0.5) * every`` and loops when ``loops(k)``."""
    records: list[Any] = []
    for k in range(n):
        start = end - every * (k + 0.5)
        records += run_records(f"{prefix}{k}", start, loops=bool(loops(k)), **fields)
    return records
