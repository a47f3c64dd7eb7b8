"""Per-trace tallies of mapped spans, for the store's run assembly.

:func:`trace_partials` turns the span rows of one or more requests into one row per
trace (``agentslo.store.trace_runs.PARTIAL_SCHEMA``): the best root candidate
among the agent spans and additive tallies. Only spans the store actually
inserted count (a retried export must not count twice); the store merges the rows
into ``trace_runs`` and rebuilds the runs (see :mod:`agentslo.store.trace_runs`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from agentslo.ingest.semconv import MappedBatch, RunHints
from agentslo.store.trace_runs import PARTIAL_SCHEMA

__all__ = ["combine", "inserted_keys", "trace_partials"]

_FAILED: Final = frozenset({"error", "timeout", "cancelled"})
_ENC: Final = json.JSONEncoder(separators=(",", ":"), sort_keys=True, default=str)


def combine(batches: Sequence[MappedBatch]) -> tuple[dict[str, list[Any]], dict[int, RunHints]]:
    """The span columns of several requests end to end, with the hints re-indexed."""
    if len(batches) == 1:
        return batches[0].spans, batches[0].hints
    cols: dict[str, list[Any]] = {name: [] for name in batches[0].spans}
    hints: dict[int, RunHints] = {}
    for b in batches:
        offset = len(cols["span_id"])
        for name, values in b.spans.items():
            cols[name].extend(values)
        hints.update({offset + i: h for i, h in b.hints.items()})
    return cols, hints


def inserted_keys(keys: pa.Table) -> set[tuple[str, str, str, int]]:
    """(project, trace_id, span_id, started_at µs) of the rows a store insert returned."""
    started = pc.cast(keys.column("started_at"), pa.int64()).to_pylist()
    return set(
        zip(
            keys.column("project").to_pylist(),
            keys.column("trace_id").to_pylist(),
            keys.column("span_id").to_pylist(),
            started,
            strict=True,
        )
    )


def _new_tally() -> list[Any]:
    # root fields (None), then tallies, then model: indexes follow PARTIAL_SCHEMA.
    return [None] * 18 + [0] * 10 + [None]


def trace_partials(
    cols: dict[str, list[Any]],
    hints: dict[int, RunHints],
    inserted: set[tuple[str, str, str, int]] | None = None,
) -> pa.Table:
    """One ``PARTIAL_SCHEMA`` row per (project, trace) among the (inserted) spans."""
    traces: dict[tuple[str, str], list[Any]] = {}
    project, trace_id, span_id = cols["project"], cols["trace_id"], cols["span_id"]
    kind, started, status = cols["kind"], cols["started_at"], cols["status"]
    model, in_tok, out_tok, cost = (
        cols["model"],
        cols["input_tokens"],
        cols["output_tokens"],
        cols["cost_usd"],
    )
    for i in range(len(span_id)):
        key = (project[i], trace_id[i])
        if inserted is not None and (key[0], key[1], span_id[i], started[i]) not in inserted:
            continue
        t = traces.get(key)
        if t is None:
            t = traces[key] = _new_tally()
        t[18] += 1
        k = kind[i]
        if k == "llm":
            t[19] += 1
            if in_tok[i] is not None or out_tok[i] is not None:
                t[20] += in_tok[i] or 0
                t[21] += out_tok[i] or 0
                t[22] += 1
            if cost[i] is not None:
                t[23] += cost[i]
                t[24] += 1
            if t[28] is None:
                t[28] = model[i]
        elif k == "tool":
            t[25] += 1
            if status[i] in _FAILED:
                t[26] += 1
        elif k == "handoff":
            t[27] += 1
        elif k == "agent":
            _offer_root(t, cols, i, hints.get(i))
    rows = [[p, tr, *t] for (p, tr), t in traces.items()]
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [() for _ in PARTIAL_SCHEMA]
    return pa.Table.from_arrays(
        [pa.array(list(c), type=f.type) for c, f in zip(columns, PARTIAL_SCHEMA, strict=True)],
        schema=PARTIAL_SCHEMA,
    )


def _offer_root(t: list[Any], cols: dict[str, list[Any]], i: int, h: RunHints | None) -> None:
    """Make span ``i`` the trace's root candidate if it started first (longest on a tie)."""
    start, end = cols["started_at"][i], cols["ended_at"][i]
    if t[0] is not None:
        best_start, best_end = t[1], t[2]
        if start > best_start:
            return
        if start == best_start and (end or start) <= (best_end or best_start):
            return
    hints = h or RunHints()
    t[0:18] = [
        cols["span_id"][i],
        start,
        end,
        cols["status"][i],
        cols["name"][i],
        cols["agent"][i],
        cols["model"][i],
        cols["input_tokens"][i],
        cols["output_tokens"][i],
        cols["cost_usd"][i],
        hints.version,
        hints.user,
        hints.team,
        hints.environment,
        hints.task_id,
        hints.suite,
        hints.trial,
        _ENC.encode({"root_span": cols["name"][i], **hints.attributes}),
    ]
