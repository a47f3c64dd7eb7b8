"""Runs assembled from the spans of a trace, whatever order the spans arrive in.

An exporter sends a trace's spans as they end, so children usually arrive before
their root, spread over many requests. :class:`TraceAssembler` keeps, per recent
trace, what the run row needs, and turns each batch of mapped spans into

- the spans that are new (a retried export's spans are dropped, so they are
  neither stored nor counted twice), and
- the run rows to write: one per trace of the batch that has a root agent span,
  rebuilt from everything known about the trace.

What a trace contributes: tallies over its spans (model calls = ``steps``, their
tokens and cost, tool calls and tool errors, hand-offs) and the *root*: of its
agent spans, the one that started first (the longest on a tie), with the
run-level fields it carries. A run sketched from a sub-agent is replaced when
the real root arrives; spans arriving after the root update the run.

The hot path never reads the store. Recent traces live in a bounded LRU cache
(which Python's garbage collector does not walk: :class:`TraceCache`),
and a Bloom filter remembers every trace the store has ever held (built from the
store at start-up). A trace that is in neither is new. A trace in the filter but
not in the cache (evicted, from before a restart, or a rare false positive) is
loaded from the store — its spans within ``window`` of the batch's span times
and its run row — before the batch is applied to it.

Changes are staged per batch and applied to the cache only when the caller has
committed the batch (:meth:`TraceAssembler.commit` / :meth:`rollback`), so the
cache never runs ahead of the store.

The per-span work is done where the request is mapped, in the decode workers:
:func:`summarize` tallies each trace's spans of one request into a
:class:`TraceState` of its own, and the writer, whose thread shares the server
process's interpreter lock with the HTTP handlers, merges those states, one per
trace and request instead of one step per span (``docs/benchmarks.md``, eighth
round). Merging is exact: the tallies are sums, the model is the first known, and
the root is the best agent span with the earlier one winning a tie, so merging a
request's tally equals adding its spans one by one, in order (tested). Only a
request that resends some, not all, of a trace's stored spans is added span by span.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import marshal
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import numpy as np
import pyarrow as pa

from agentslo.ingest.arrow_build import table_from_rows
from agentslo.ingest.semconv import RunHints, _attributes_json
from agentslo.model import RUNS_SCHEMA

if TYPE_CHECKING:
    from agentslo.ingest.span_batch import SpanBatch

__all__ = [
    "COMPILED",
    "Assembled",
    "BloomFilter",
    "RequestSummary",
    "Summary",
    "TraceAssembler",
    "TraceCache",
    "TraceKey",
    "TracePart",
    "TraceState",
    "assembly_columns",
    "combined_roots",
    "combined_spans",
    "run_table",
    "summarize",
]

_FAILED: Final = frozenset({"error", "timeout", "cancelled"})

TraceKey = tuple[str, str]
#: A :class:`TraceState` as :meth:`TraceState.freeze` keeps it in the cache.
FrozenTrace = tuple[Any, ...]


def combined_spans(batches: Sequence[SpanBatch]) -> pa.Table:
    """The spans of several requests end to end."""
    if len(batches) == 1:
        return batches[0].spans
    return pa.concat_tables([b.spans for b in batches]).combine_chunks()


def combined_roots(requests: Sequence[Summary]) -> dict[int, tuple[Any, ...]]:
    """The root fields of several requests' agent spans, by row of their group."""
    return {offset + i: v for offset, summary in requests for i, v in summary.roots.items()}


#: The span columns that run assembly reads.
_ASSEMBLY_COLUMNS: Final = (
    "project",
    "trace_id",
    "span_id",
    "name",
    "kind",
    "agent",
    "model",
    "status",
    "input_tokens",
    "output_tokens",
    "cost_usd",
)


def assembly_columns(spans: pa.Table) -> dict[str, list[Any]]:
    """The columns of ``spans`` that :meth:`TraceAssembler.apply` reads, as lists
    (times as µs integers)."""
    cols = {name: spans.column(name).to_pylist() for name in _ASSEMBLY_COLUMNS}
    for name in ("started_at", "ended_at"):
        cols[name] = spans.column(name).cast(pa.int64()).to_pylist()
    return cols


class BloomFilter:
    """A Bloom filter of trace keys (numpy bit array, double hashing)."""

    def __init__(self, capacity: int, error_rate: float = 1e-4) -> None:
        self.capacity = max(1024, capacity)
        bits = int(-self.capacity * np.log(error_rate) / (np.log(2) ** 2))
        self.bits = np.zeros((bits + 7) // 8, dtype=np.uint8)
        self.m = self.bits.size * 8
        self.k = max(1, round(bits / self.capacity * np.log(2)))
        self.count = 0

    def _positions(self, keys: Iterable[TraceKey]) -> np.ndarray:
        raw = b"".join(
            hashlib.blake2b(f"{p}\x1f{t}".encode(), digest_size=16).digest() for p, t in keys
        )
        pairs = np.frombuffer(raw, dtype=np.uint64).reshape(-1, 2)
        i = np.arange(self.k, dtype=np.uint64)
        with np.errstate(over="ignore"):
            return (pairs[:, :1] + i * pairs[:, 1:]) % np.uint64(self.m)

    def add(self, keys: Sequence[TraceKey]) -> None:
        if not keys:
            return
        pos = self._positions(keys).ravel()
        np.bitwise_or.at(self.bits, pos // 8, (1 << (pos % 8)).astype(np.uint8))
        self.count += len(keys)

    def contains(self, keys: Sequence[TraceKey]) -> np.ndarray:
        """A boolean per key: maybe present (True) or surely absent (False)."""
        if not keys:
            return np.zeros(0, dtype=bool)
        pos = self._positions(keys)
        hit = (self.bits[pos // 8] >> (pos % 8).astype(np.uint8)) & 1
        return np.asarray(hit.all(axis=1), dtype=bool)

    @property
    def full(self) -> bool:
        return self.count > self.capacity


@dataclass
class TraceState:
    """What is known of one trace: span ids seen, tallies, root candidate."""

    span_ids: set[str] = field(default_factory=set)
    spans: int = 0
    llm_calls: int = 0
    llm_input: int = 0
    llm_output: int = 0
    llm_tokens_known: int = 0
    llm_cost: float = 0.0
    llm_cost_known: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    handoffs: int = 0
    model: str | None = None
    #: Whether the store holds a run row for this trace (a new row replaces it).
    run_stored: bool = False
    #: (start µs, end µs or None, run row fields) of the best agent span so far.
    root: tuple[int, int | None, dict[str, Any]] | None = None

    def freeze(self) -> FrozenTrace:
        """The state as one tuple of strings, numbers and tuples of them (the
        root's fields in ``_ROOT_FIELDS`` order), which :mod:`marshal` can write:
        see :class:`TraceCache`."""
        return (
            tuple(self.span_ids),
            self.spans,
            self.llm_calls,
            self.llm_input,
            self.llm_output,
            self.llm_tokens_known,
            self.llm_cost,
            self.llm_cost_known,
            self.tool_calls,
            self.tool_errors,
            self.handoffs,
            self.model,
            self.run_stored,
            *_freeze_root(self.root),
        )

    @classmethod
    def thaw(cls, frozen: FrozenTrace) -> TraceState:
        """A working copy of a state from :meth:`freeze`."""
        ids, *counts, start, end, values = frozen
        state = cls(set(ids), *counts)
        if values is not None:
            state.root = (start, end, dict(zip(_ROOT_FIELDS, values, strict=True)))
        return state

    def better_root(self, start: int, end: int | None) -> bool:
        """Whether an agent span over ``start``..``end`` would be a better root than the
        one known: it starts first, or as early and ends later (a tie keeps the known)."""
        if self.root is None:
            return True
        best_start, best_end, _ = self.root
        if start != best_start:
            return start < best_start
        return (end or start) > (best_end or best_start)

    def offer_root(self, start: int, end: int | None, fields: dict[str, Any]) -> None:
        if self.better_root(start, end):
            self.root = (start, end, fields)

    def run_row(self, project: str, trace_id: str) -> dict[str, Any] | None:
        """The run row of the trace, or None while no agent span is known."""
        if self.root is None:
            return None
        start, end, f = self.root
        use_llm = self.llm_tokens_known > 0
        input_tokens = self.llm_input if use_llm else f.get("input_tokens")
        output_tokens = self.llm_output if use_llm else f.get("output_tokens")
        total = None
        if input_tokens is not None or output_tokens is not None:
            total = (input_tokens or 0) + (output_tokens or 0)
        status = f.get("status") or "unset"
        return {
            "project": project,
            "run_id": trace_id,
            "task_id": f.get("task_id"),
            "agent": f.get("agent") or f.get("name") or "(unnamed)",
            "version": f.get("version"),
            "model": f.get("model") or self.model,
            "user": f.get("user"),
            "team": f.get("team"),
            "environment": f.get("environment") or "production",
            "suite": f.get("suite"),
            "trial": f.get("trial"),
            "started_at": start,
            "ended_at": end,
            "status": "ok" if status == "unset" and end is not None else status,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": total,
            "cost_usd": self.llm_cost if self.llm_cost_known else f.get("cost_usd"),
            "steps": self.llm_calls,
            "tool_calls": self.tool_calls,
            "tool_errors": self.tool_errors,
            "handoffs": self.handoffs,
            "attributes": f.get("attributes"),
        }


class TraceCache:
    """The states of the most recently used traces, least recently used first.

    A cache of 200,000 states as objects (each with its set of span ids and its
    root's dict) is about 600,000 containers that every full collection of
    Python's cyclic garbage collector walks with the server's threads stopped:
    0.4 to 0.6 s per collection (``docs/benchmarks.md``). Even as tuples of
    immutable values, which the collector stops tracking, an ``OrderedDict`` of
    them costs each full collection about 50 ms to walk. So the cache is a plain
    ``dict`` of strings to :mod:`marshal` bytes: it holds nothing the collector
    tracks, so the collector never walks it. A dict keeps insertion order; a hit
    is re-inserted to move it to the end, and the oldest entries are the first.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._states: dict[str, bytes] = {}

    @staticmethod
    def _key(key: TraceKey) -> str:
        # Project names cannot hold NUL (api_keys.check_project); trace ids are hex.
        return f"{key[0]}\0{key[1]}"

    def __contains__(self, key: TraceKey) -> bool:
        return self._key(key) in self._states

    def __len__(self) -> int:
        return len(self._states)

    def get(self, key: TraceKey) -> TraceState:
        """A working copy of the state of ``key`` (``KeyError`` if not cached)."""
        return TraceState.thaw(marshal.loads(self._states[self._key(key)]))

    def put(self, key: TraceKey, state: TraceState) -> None:
        """Store ``state`` as the most recent entry (:meth:`evict` trims the
        cache to its capacity)."""
        k = self._key(key)
        self._states.pop(k, None)
        self._states[k] = marshal.dumps(state.freeze())

    def evict(self) -> None:
        """Drop the least recently used entries beyond the capacity."""
        excess = len(self._states) - self.capacity
        if excess > 0:
            for k in list(itertools.islice(self._states, excess)):
                del self._states[k]

    def items(self) -> Iterator[tuple[TraceKey, TraceState]]:
        """Every entry, least recently used first (for inspection and tests)."""
        for k, raw in self._states.items():
            project, trace_id = k.split("\0", 1)
            yield (project, trace_id), TraceState.thaw(marshal.loads(raw))


@dataclass
class Assembled:
    """What one batch of mapped spans changes in the store.

    ``new_runs`` and ``replaced_runs`` split the run rows by whether the store
    already holds a row with the same key, and ``new_traces`` lists the traces that
    may be missing from the store's trace filter, so that the writer can append
    without looking keys up (see :func:`agentslo.store.writer.write_assembled`).
    """

    mask: np.ndarray
    new_runs: list[dict[str, Any]]
    replaced_runs: list[dict[str, Any]]
    new_traces: list[TraceKey]

    @property
    def runs(self) -> list[dict[str, Any]]:
        """Every run row to write."""
        return self.new_runs + self.replaced_runs


#: Loads stored knowledge of traces: (keys, earliest µs, latest µs) ->
#: (span rows, run rows) as lists of dicts.
Loader = Callable[[Sequence[TraceKey], int, int], tuple[list[dict[str, Any]], list[dict[str, Any]]]]


#: The fields of a root candidate (``TraceState.root``), in their frozen order.
_ROOT_FIELDS: Final = (
    "root_span_id",
    "name",
    "agent",
    "model",
    "status",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "version",
    "user",
    "team",
    "environment",
    "task_id",
    "suite",
    "trial",
    "attributes",
)


#: The root fields a stored run row holds as they are; the others come from its
#: attributes, or from the tallies when the trace has model calls.
_ROW_ROOT_FIELDS: Final = tuple(
    k
    for k in _ROOT_FIELDS
    if k not in ("root_span_id", "name", "input_tokens", "output_tokens", "cost_usd", "attributes")
)


#: The values of a root's fields in ``_ROOT_FIELDS`` order (in C: this runs for
#: every trace of every commit).
_root_values: Final = operator.itemgetter(*_ROOT_FIELDS)


def _freeze_root(
    root: tuple[int, int | None, dict[str, Any]] | None,
) -> tuple[int | None, int | None, tuple[Any, ...] | None]:
    """A root candidate as its start, its end and its field values (or three Nones)."""
    if root is None:
        return (None, None, None)
    start, end, fields = root
    if len(fields) != len(_ROOT_FIELDS):
        unknown = sorted(set(fields) - set(_ROOT_FIELDS))
        raise ValueError(f"root fields outside _ROOT_FIELDS: {unknown}")
    return (start, end, _root_values(fields))


def _root_fields(cols: dict[str, list[Any]], i: int, hints: RunHints | None) -> dict[str, Any]:
    h = hints or RunHints()
    return {
        "root_span_id": cols["span_id"][i],
        "name": cols["name"][i],
        "agent": cols["agent"][i],
        "model": cols["model"][i],
        "status": cols["status"][i],
        "input_tokens": cols["input_tokens"][i],
        "output_tokens": cols["output_tokens"][i],
        "cost_usd": cols["cost_usd"][i],
        "version": h.version,
        "user": h.user,
        "team": h.team,
        "environment": h.environment,
        "task_id": h.task_id,
        "suite": h.suite,
        "trial": h.trial,
        # As span attributes are written (orjson: ten times the standard library's speed).
        "attributes": _attributes_json(
            {"root_span": cols["name"][i], "root_span_id": cols["span_id"][i], **h.attributes}
        ),
    }


def _count_span(
    state: TraceState,
    kind: str,
    status: str,
    model: str | None,
    input_tokens: int | None,
    output_tokens: int | None,
    cost: float | None,
) -> None:
    """Count one span into ``state``.

    ``_assemble_fast.summarize`` runs the same rules compiled. Change both together:
    a Hypothesis test requires the two tallies to be identical.
    """
    state.spans += 1
    if kind == "llm":
        state.llm_calls += 1
        if input_tokens is not None or output_tokens is not None:
            state.llm_input += input_tokens or 0
            state.llm_output += output_tokens or 0
            state.llm_tokens_known += 1
        if cost is not None:
            state.llm_cost += cost
            state.llm_cost_known += 1
        if state.model is None:
            state.model = model
    elif kind == "tool":
        state.tool_calls += 1
        if status in _FAILED:
            state.tool_errors += 1
    elif kind == "handoff":
        state.handoffs += 1


#: One request's spans of one trace, tallied where the request was mapped: the
#: project, the trace id, the rows of its spans in the request (each span id once)
#: and their :class:`TraceState`, frozen (:meth:`TraceState.freeze`).
TracePart = tuple[str, str, tuple[int, ...], FrozenTrace]


class RequestSummary(NamedTuple):
    """What run assembly needs of one request's spans (:func:`summarize`)."""

    #: One part per trace, in order of first appearance.
    parts: list[TracePart]
    #: The rows repeating a span id of the same request (dropped, as resent spans are).
    repeated: tuple[int, ...]
    #: Row of each agent span -> its root fields' values (in ``_ROOT_FIELDS`` order),
    #: for a trace that must be added span by span.
    roots: dict[int, tuple[Any, ...]]


#: A request of a group commit: the first row of its spans in the group's table, and
#: its summary.
Summary = tuple[int, RequestSummary]


def summarize(
    cols: dict[str, list[Any]], hints: dict[int, RunHints], *, compiled: bool = True
) -> RequestSummary:
    """Each trace's spans of one request tallied, the rows that repeat a span id, and
    each agent span's root fields.

    This is :meth:`TraceAssembler.apply`'s per-span work, done where the request is
    mapped (the decode workers), so that the writer merges one state per trace. A
    trace's state here starts empty: whether the store has its spans already is the
    writer's to decide. The loop is compiled (``_assemble_fast.pyx``) when the
    install could build it; ``compiled=False`` runs the Python below, which gives
    identical results (tested).
    """
    if compiled and _summarize_compiled is not None:
        return _summarize_compiled(cols, hints)
    return _summarize(cols, hints)


def _summarize(cols: dict[str, list[Any]], hints: dict[int, RunHints]) -> RequestSummary:
    states: dict[TraceKey, TraceState] = {}
    rows: dict[TraceKey, list[int]] = {}
    repeated: list[int] = []
    roots: dict[int, tuple[Any, ...]] = {}
    kind, status, model = cols["kind"], cols["status"], cols["model"]
    in_tok, out_tok, cost = cols["input_tokens"], cols["output_tokens"], cols["cost_usd"]
    started, ended = cols["started_at"], cols["ended_at"]
    keyed = zip(cols["project"], cols["trace_id"], strict=True)
    spans = zip(keyed, cols["span_id"], kind, status, model, in_tok, out_tok, cost, strict=True)
    for i, (key, sid, k, st, mdl, it, ot, c) in enumerate(spans):
        state = states.get(key)
        if state is None:
            state = states[key] = TraceState()
            rows[key] = []
        ids = state.span_ids
        if sid in ids:
            repeated.append(i)
            continue
        ids.add(sid)
        rows[key].append(i)
        _count_span(state, k, st, mdl, it, ot, c)
        if k == "agent":
            fields = _root_fields(cols, i, hints.get(i))
            roots[i] = _root_values(fields)
            state.offer_root(started[i], ended[i], fields)
    parts = [(key[0], key[1], tuple(rows[key]), state.freeze()) for key, state in states.items()]
    return RequestSummary(parts, tuple(repeated), roots)


def _merge(state: TraceState, part: FrozenTrace) -> None:
    """Add a request's tally of a trace (:func:`summarize`) to ``state``, as adding its
    spans one by one would: none of them is in ``state`` yet."""
    ids, n, calls, inp, out, known, cost, cost_known, tools, errors, handoffs, model = part[:12]
    state.span_ids.update(ids)
    state.spans += n
    state.llm_calls += calls
    state.llm_input += inp
    state.llm_output += out
    state.llm_tokens_known += known
    state.llm_cost += cost
    state.llm_cost_known += cost_known
    state.tool_calls += tools
    state.tool_errors += errors
    state.handoffs += handoffs
    if state.model is None:
        state.model = model
    start, end, values = part[13:]
    if values is not None and state.better_root(start, end):
        state.root = (start, end, dict(zip(_ROOT_FIELDS, values, strict=True)))


def _add_spans(
    state: TraceState,
    cols: dict[str, list[Any]],
    roots: dict[int, tuple[Any, ...]],
    rows: Sequence[int],
    dropped: list[int],
) -> bool:
    """Add the spans at ``rows`` of ``cols`` to ``state`` one by one, those it has
    already going to ``dropped``; whether any was new."""
    ids = state.span_ids
    added = False
    for i in rows:
        sid = cols["span_id"][i]
        if sid in ids:
            dropped.append(i)
            continue
        ids.add(sid)
        added = True
        kind = cols["kind"][i]
        _count_span(
            state,
            kind,
            cols["status"][i],
            cols["model"][i],
            cols["input_tokens"][i],
            cols["output_tokens"][i],
            cols["cost_usd"][i],
        )
        if kind == "agent":
            fields = dict(zip(_ROOT_FIELDS, roots[i], strict=True))
            state.offer_root(cols["started_at"][i], cols["ended_at"][i], fields)
    return added


class TraceAssembler:
    """Per-trace state for run assembly; see the module docstring."""

    def __init__(
        self,
        loader: Loader,
        *,
        known: Iterable[TraceKey] = (),
        max_traces: int = 200_000,
        window_us: int = 6 * 3600 * 10**6,
        bloom_capacity: int = 10_000_000,
    ) -> None:
        self.loader = loader
        self.window_us = window_us
        known = list(known)
        self.bloom = BloomFilter(max(bloom_capacity, 2 * len(known)))
        self.bloom.add(known)
        self.cache = TraceCache(max_traces)
        self._staged: dict[TraceKey, TraceState] = {}
        self._staged_new: list[TraceKey] = []
        self.loads = 0

    def apply(
        self,
        requests: Sequence[Summary],
        n: int,
        columns: Callable[[], dict[str, list[Any]]],
    ) -> Assembled:
        """The new spans of a group of requests and the run rows to write; stages the
        change.

        ``requests`` holds, per request in order, the first row of its spans in the
        group's table (of ``n`` rows) and its :func:`summarize`. ``columns`` gives
        the group's :func:`assembly_columns`, which are read only to load traces from
        the store and for a trace whose request resends part of what it already has.

        The store's keys are known without reading it: a trace in neither the cache
        nor the Bloom filter has no stored span and no stored run row (the filter is
        built from both), a cached trace knows whether its run row was written, and a
        loaded one was read with its run row.
        """
        touched: dict[TraceKey, TraceState] = {}
        keys = list(dict.fromkeys((p[0], p[1]) for _, r in requests for p in r.parts))
        unknown = [k for k in keys if k not in self.cache]
        maybe = self.bloom.contains(unknown)
        to_load = [k for k, m in zip(unknown, maybe, strict=True) if m]
        fresh = [k for k, m in zip(unknown, maybe, strict=True) if not m]
        for key in fresh:
            touched[key] = TraceState()
        group: dict[str, list[Any]] | None = None
        if to_load:
            group = columns()
            touched.update(self._load(to_load, group["started_at"]))
        for key in keys:
            if key not in touched:
                touched[key] = self.cache.get(key)
        #: Traces with spans the store holds (so in its trace filter already).
        stored_before = {key for key, state in touched.items() if state.spans}
        dropped: list[int] = []
        changed: dict[TraceKey, None] = {}
        roots: dict[int, tuple[Any, ...]] | None = None
        for offset, summary in requests:
            dropped += [offset + r for r in summary.repeated]
            for project, trace_id, rows, part in summary.parts:
                key = (project, trace_id)
                state = touched[key]
                ids = state.span_ids
                if ids.isdisjoint(part[0]):
                    _merge(state, part)
                    changed[key] = None
                elif ids.issuperset(part[0]):  # a resent request
                    dropped += [offset + r for r in rows]
                else:
                    if group is None:
                        group = columns()
                    if roots is None:
                        roots = combined_roots(requests)
                    if _add_spans(state, group, roots, [offset + r for r in rows], dropped):
                        changed[key] = None
        mask = np.ones(n, dtype=bool)
        if dropped:
            mask[dropped] = False
        new_runs: list[dict[str, Any]] = []
        replaced_runs: list[dict[str, Any]] = []
        for key in changed:
            state = touched[key]
            row = state.run_row(key[0], key[1])
            if row is None:
                continue
            (replaced_runs if state.run_stored else new_runs).append(row)
            state.run_stored = True
        new_traces = [key for key in changed if key not in stored_before]
        self._staged = touched
        self._staged_new = fresh + to_load
        return Assembled(mask, new_runs, replaced_runs, new_traces)

    def _load(self, keys: list[TraceKey], started: Sequence[int]) -> dict[TraceKey, TraceState]:
        self.loads += 1
        low, high = min(started) - self.window_us, max(started) + self.window_us
        span_rows, run_rows = self.loader(keys, low, high)
        # A stored run reaching outside the window (a long run, a span arriving hours
        # late) is read over its own time range too, or its tallies would be rebuilt
        # from part of its spans and the run row rewritten with counts too low.
        wider = [
            (run["project"], run["run_id"], run["started_at"], run["ended_at"])
            for run in run_rows
            if run["started_at"] is not None
            and (run["started_at"] < low or (run["ended_at"] or run["started_at"]) > high)
        ]
        if wider:
            extra, _ = self.loader(
                [(w[0], w[1]) for w in wider],
                min(w[2] for w in wider) - self.window_us,
                max(w[3] or w[2] for w in wider) + self.window_us,
            )
            span_rows = [*span_rows, *extra]
        states = {k: TraceState() for k in keys}
        for row in span_rows:
            state = states.get((row["project"], row["trace_id"]))
            if state is None or row["span_id"] in state.span_ids:
                continue
            state.span_ids.add(row["span_id"])
            _count_span(
                state,
                row["kind"],
                row["status"],
                row["model"],
                row["input_tokens"],
                row["output_tokens"],
                row["cost_usd"],
            )
        for run in run_rows:
            state = states.get((run["project"], run["run_id"]))
            if state is None:
                continue
            attrs = json.loads(run["attributes"] or "{}")
            fields = {k: run[k] for k in _ROW_ROOT_FIELDS}
            fields |= {
                "root_span_id": attrs.get("root_span_id"),
                "name": attrs.get("root_span"),
                "attributes": run["attributes"],
                "input_tokens": None if state.llm_tokens_known else run["input_tokens"],
                "output_tokens": None if state.llm_tokens_known else run["output_tokens"],
                "cost_usd": None if state.llm_cost_known else run["cost_usd"],
            }
            state.root = (run["started_at"], run["ended_at"], fields)
            state.run_stored = True
        return states

    def commit(self) -> None:
        """The batch is durable: make its staged state current."""
        for key, state in self._staged.items():
            self.cache.put(key, state)
        self.cache.evict()
        self.bloom.add(self._staged_new)
        self._staged, self._staged_new = {}, []

    def rollback(self) -> None:
        """The batch was not written: forget its staged state."""
        self._staged, self._staged_new = {}, []


def run_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Run rows (times as µs integers) as an Arrow table of ``RUNS_SCHEMA``."""
    return table_from_rows(rows, RUNS_SCHEMA)


_summarize_compiled: Callable[[dict[str, list[Any]], dict[int, RunHints]], RequestSummary] | None
try:
    from agentslo.ingest._assemble_fast import summarize as _summarize_compiled
except ImportError:  # no C compiler at install: summarize runs in Python
    _summarize_compiled = None

#: Whether the compiled :func:`summarize` is in use.
COMPILED: Final = _summarize_compiled is not None
