# cython: language_level=3, boundscheck=False, wraparound=False
""":func:`agentslo.ingest.assemble.summarize`, compiled.

A decode worker tallies every span of every request for run assembly: which trace
it belongs to, whether the request repeats it, and what it adds to the trace's
counts. In the interpreter that loop cost about 1.1–1.2 µs per span, a tenth of
the worker's time, and here about half that (``docs/benchmarks.md``, eighth round):
the counts live in a C struct per trace and the loop runs without the
interpreter's dispatch. The sums of
tokens and cost stay Python numbers, so that they neither overflow nor round
differently from the Python code.

The rules are ``assemble._summarize``'s and ``assemble._count_span``'s, line for
line (and ``TraceState.freeze``'s layout for the frozen state); the root fields are
``assemble._root_fields``, called from here. A Hypothesis test summarises generated requests both ways and requires
identical results.
"""

from agentslo.ingest.assemble import (
    _FAILED,
    RequestSummary,
    _root_fields,
    _root_values,
)


cdef class _Tally:
    cdef set ids
    cdef list rows
    cdef long spans, llm_calls, tokens_known, cost_known, tool_calls, tool_errors, handoffs
    cdef object llm_input, llm_output, llm_cost, model
    cdef object root_start, root_end, root_values

    def __cinit__(self):
        self.ids = set()
        self.rows = []
        self.llm_input = 0
        self.llm_output = 0
        self.llm_cost = 0.0
        self.model = None
        self.root_start = None
        self.root_end = None
        self.root_values = None

    cdef tuple freeze(self):
        return (
            tuple(self.ids),
            self.spans,
            self.llm_calls,
            self.llm_input,
            self.llm_output,
            self.tokens_known,
            self.llm_cost,
            self.cost_known,
            self.tool_calls,
            self.tool_errors,
            self.handoffs,
            self.model,
            False,
            self.root_start,
            self.root_end,
            self.root_values,
        )


cdef inline bint _better(_Tally t, object start, object end):
    """``TraceState.better_root``."""
    if t.root_values is None:
        return True
    if start != t.root_start:
        return start < t.root_start
    return (end or start) > (t.root_end or t.root_start)


def summarize(dict cols, dict hints):
    """``assemble.summarize``: see there."""
    cdef list project = cols["project"]
    cdef list trace_id = cols["trace_id"]
    cdef list span_id = cols["span_id"]
    cdef list kind = cols["kind"]
    cdef list status = cols["status"]
    cdef list model = cols["model"]
    cdef list in_tok = cols["input_tokens"]
    cdef list out_tok = cols["output_tokens"]
    cdef list cost = cols["cost_usd"]
    cdef list started = cols["started_at"]
    cdef list ended = cols["ended_at"]
    cdef Py_ssize_t i, n = len(span_id)
    cdef dict states = {}
    cdef list repeated = []
    cdef dict roots = {}
    cdef _Tally t
    cdef object key, found, sid, k, it, ot, c, fields, values, start, end
    if not (
        len(project) == n and len(trace_id) == n and len(kind) == n and len(status) == n
        and len(model) == n and len(in_tok) == n and len(out_tok) == n and len(cost) == n
        and len(started) == n and len(ended) == n
    ):
        raise ValueError("span columns of different lengths")
    for i in range(n):
        key = (project[i], trace_id[i])
        found = states.get(key)
        if found is None:
            t = _Tally()
            states[key] = t
        else:
            t = <_Tally>found
        sid = span_id[i]
        if sid in t.ids:
            repeated.append(i)
            continue
        t.ids.add(sid)
        t.rows.append(i)
        t.spans += 1
        k = kind[i]
        if k == "llm":
            t.llm_calls += 1
            it = in_tok[i]
            ot = out_tok[i]
            if it is not None or ot is not None:
                t.llm_input = t.llm_input + (it or 0)
                t.llm_output = t.llm_output + (ot or 0)
                t.tokens_known += 1
            c = cost[i]
            if c is not None:
                t.llm_cost = t.llm_cost + c
                t.cost_known += 1
            if t.model is None:
                t.model = model[i]
        elif k == "tool":
            t.tool_calls += 1
            if status[i] in _FAILED:
                t.tool_errors += 1
        elif k == "handoff":
            t.handoffs += 1
        elif k == "agent":
            fields = _root_fields(cols, i, hints.get(i))
            values = _root_values(fields)
            roots[i] = values
            start = started[i]
            end = ended[i]
            if _better(t, start, end):
                t.root_start = start
                t.root_end = end
                t.root_values = values
    parts = []
    for key, found in states.items():
        t = <_Tally>found
        parts.append((key[0], key[1], tuple(t.rows), t.freeze()))
    return RequestSummary(parts, tuple(repeated), roots)
