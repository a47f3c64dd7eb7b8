"""What one request contributes to each of its traces, computed where it was mapped.

Run assembly (:class:`~agentslo.ingest.assemble.TraceAssembler`) is the receiver's
serial part: one writer thread folds every span into the state of its trace. Most
of that work depends on the request alone, so the decode workers, which run in
parallel, do it first. For each trace of a request a :class:`TraceDigest` holds

- the state its spans alone give (a :class:`~agentslo.ingest.assemble.TraceState`,
  frozen and :mod:`marshal`-ed as the trace cache keeps it),
- the run row that state gives when the request holds the trace's root,
- the Bloom-filter digest of the trace's key,

and per span its trace and whether it repeats a span id earlier in the request.

A trace the store has never seen, in one request of a group commit, is then taken
as it is: its state goes into the cache and its run row into the store without
the writer looking at its spans. Any other trace is merged span set by span set
(:meth:`TraceState.absorb`), or span by span when the sets overlap (a resent
export); both give what adding each span alone, in order, gives (tested).
"""

from __future__ import annotations

import marshal
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from agentslo.ingest.assemble import (
    FAILED,
    BloomFilter,
    TraceKey,
    TraceState,
    assembly_columns,
    root_fields,
    run_table,
)
from agentslo.ingest.semconv import RunHints
from agentslo.model import RUNS_SCHEMA

__all__ = ["TraceDigest", "digest_columns", "digest_spans"]


@dataclass
class TraceDigest:
    """Per trace of one request: its state alone, its run row, its key's digest."""

    #: (project, trace_id) of each trace, in order of first appearance.
    keys: list[TraceKey]
    #: The :meth:`TraceState.freeze` of each trace's spans alone, marshalled, with
    #: ``run_stored`` set when it has a root (true once its run row is written).
    states: list[bytes]
    #: Row of each trace in ``runs``, or -1 when the request holds no agent span of it.
    run_of: list[int]
    #: The run rows of the traces with an agent span, as if each were new.
    runs: pa.Table
    #: Per span: the index of its trace in ``keys``.
    trace_of: np.ndarray
    #: Per span: False when an earlier span of the request has the same key.
    keep: np.ndarray
    #: :meth:`BloomFilter.digest` of each key, end to end.
    bloom: bytes

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        batches = self.runs.combine_chunks().to_batches()
        batch = batches[0] if batches else pa.RecordBatch.from_pylist([], schema=RUNS_SCHEMA)
        state["runs"] = batch.serialize().to_pybytes()
        state["trace_of"] = self.trace_of.tobytes()
        state["keep"] = self.keep.tobytes()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        batch = pa.ipc.read_record_batch(pa.py_buffer(state.pop("runs")), RUNS_SCHEMA)
        state["trace_of"] = np.frombuffer(state["trace_of"], dtype=np.int32)
        state["keep"] = np.frombuffer(state["keep"], dtype=bool)
        self.__dict__.update(state, runs=pa.Table.from_batches([batch], schema=RUNS_SCHEMA))


def digest_spans(spans: pa.Table, hints: dict[int, RunHints]) -> TraceDigest:
    """The :class:`TraceDigest` of one request's span table (``SPANS_SCHEMA``)."""
    return digest_columns(assembly_columns(spans), hints)


def digest_columns(cols: dict[str, list[Any]], hints: dict[int, RunHints]) -> TraceDigest:
    """The :class:`TraceDigest` of one request's span columns, as mapped.

    The columns must be those a span table was built from successfully
    (:func:`~agentslo.ingest.span_batch.spans_table`): then each value is the one
    the table gives back, but for a cost that is an integer, which the table holds
    as a float and which is therefore taken as one here.
    """
    index: dict[TraceKey, int] = {}
    states: list[TraceState] = []
    trace_of: list[int] = []
    keep: list[bool] = []
    kind, status, model = cols["kind"], cols["status"], cols["model"]
    in_tok, out_tok, cost = cols["input_tokens"], cols["output_tokens"], cols["cost_usd"]
    keyed = zip(cols["project"], cols["trace_id"], strict=True)
    each = zip(keyed, cols["span_id"], kind, status, model, in_tok, out_tok, cost, strict=True)
    for i, (key, sid, k, st, mdl, it, ot, c) in enumerate(each):
        t = index.get(key)
        if t is None:
            t = index[key] = len(states)
            states.append(TraceState())
        trace_of.append(t)
        state = states[t]
        if sid in state.span_ids:
            keep.append(False)
            continue
        keep.append(True)
        state.span_ids.add(sid)
        # fold_span, inlined: this loop runs for every span the receiver takes.
        state.spans += 1
        if k == "llm":
            state.llm_calls += 1
            if it is not None or ot is not None:
                state.llm_input += it or 0
                state.llm_output += ot or 0
                state.llm_tokens_known += 1
            if c is not None:
                state.llm_cost += float(c)
                state.llm_cost_known += 1
            if state.model is None:
                state.model = mdl
        elif k == "tool":
            state.tool_calls += 1
            if st in FAILED:
                state.tool_errors += 1
        elif k == "handoff":
            state.handoffs += 1
        elif k == "agent":
            fields = root_fields(cols, i, hints.get(i))
            state.offer_root(cols["started_at"][i], cols["ended_at"][i], fields)
    keys = list(index)
    rows: list[dict[str, Any]] = []
    run_of: list[int] = []
    for key, state in zip(keys, states, strict=True):
        row = state.run_row(key[0], key[1])
        if row is None:
            run_of.append(-1)
        else:
            run_of.append(len(rows))
            rows.append(row)
            state.run_stored = True
    return TraceDigest(
        keys=keys,
        states=[marshal.dumps(s.freeze()) for s in states],
        run_of=run_of,
        runs=run_table(rows),
        trace_of=np.array(trace_of, dtype=np.int32),
        keep=np.array(keep, dtype=bool),
        bloom=BloomFilter.digests(keys),
    )


def thaw(raw: bytes) -> TraceState:
    """A working copy of a state from :attr:`TraceDigest.states`."""
    return TraceState.thaw(marshal.loads(raw))


def trace_rows(digest: TraceDigest, trace: int) -> Sequence[int]:
    """The rows of ``trace`` in the request, in order."""
    return np.flatnonzero(digest.trace_of == trace).tolist()
