"""OpenInference traces exported as JSON, nested span trees as the TRAIL benchmark
("TRAIL: Trace Reasoning and Agentic Issue Localization", Patronus AI, 2025)
publishes them.

A file holds one trace or a JSON list of traces. A trace is an object with a
``spans`` list (and usually a ``trace_id``), or a single span object. A span has
``span_id``, ``trace_id``, ``parent_span_id`` (or ``parent_id``), ``span_name``
(or ``name``), a start (``timestamp`` or ``start_time``: ISO 8601 text or a Unix
time in seconds, milliseconds, microseconds or nanoseconds), an end
(``end_time``, or ``duration``: ISO 8601 ``PT1M2.5S``, ``H:MM:SS.ffffff`` or a
number of seconds), ``status_code`` (``Ok``/``Error``/``Unset`` or 0/1/2),
``span_attributes`` with OpenInference keys (nested objects are read as dotted
keys), and ``child_spans``: the spans nested under it, whose parent defaults to it.

Spans go through the same semantic-convention mapping as the OTLP receiver
(:func:`agentslo.ingest.semconv.map_spans`, contents captured): kinds from
``openinference.span.kind`` (AGENT -> agent, LLM -> llm, TOOL -> tool, CHAIN ->
chain; the others as in docs/serve.md), models, token counts, cost, tool names,
``input.value``/``output.value`` as the span's input and output text. The trace
becomes one run (run id = trace id, as the receiver would make it): its root is
the span without a parent that started first, and the run's agent is the root's
agent name, else the root's span name.

Broken parent links do not cost the trace: a span whose parent is not in the
trace, or whose parent links go round in a cycle, is attached to the root and
reported. A span without an id or a start time is left out and reported; a trace
with no usable span is rejected.

Annotations, when the trace carries them (TRAIL's ``errors`` list at the top of
the trace or under ``annotations``: ``{category, location, evidence,
description, impact}``), become findings with detector ``human``, the category
as ``mode``, the ``location`` span, and the impact as severity. An annotation
whose location is not a span of the trace, or that has no category, is reported
and skipped; the trace is still imported.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from agentslo.ingest.chunks import Chunk, RowBuffer
from agentslo.ingest.importers._shared import TABLES, load_json_records, reject, replaced
from agentslo.ingest.messages import describe_validation_error
from agentslo.ingest.otlp import OtlpSpan
from agentslo.ingest.rejects import Reject
from agentslo.ingest.semconv import MappingOptions, RunHints, map_spans
from agentslo.model import Finding, Run, Severity, Span

__all__ = [
    "HUMAN_DETECTOR",
    "convert_trace",
    "looks_like_openinference",
    "read_openinference",
]

#: Detector name of the people's annotations.
HUMAN_DETECTOR: Final = "human"
_EPOCH: Final = datetime(1970, 1, 1)
#: Imported traces are history: any start time up to ~30 years ahead is taken as given.
_NO_FUTURE_LIMIT: Final = 1e9
_ISO_DURATION: Final = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?"
    r"(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_CLOCK_DURATION: Final = re.compile(
    r"^(?:(?P<d>\d+) days?, )?(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d(?:\.\d+)?)$"
)
_STATUS: Final[dict[str, int]] = {"unset": 0, "ok": 1, "error": 2}
_SEVERITY: Final[dict[str, Severity]] = {
    "low": "low",
    "medium": "medium",
    "high": "high",
    "critical": "critical",
}


def looks_like_openinference(head: bytes) -> bool:
    """Whether the first bytes of a ``.json`` file look like nested OpenInference spans."""
    return b'"span_id"' in head and (b'"child_spans"' in head or b'"span_attributes"' in head)


class _TraceError(ValueError):
    """A trace that cannot be converted at all."""


@dataclass
class _Converted:
    """The records of one trace and what was wrong with parts of it."""

    records: list[Run | Span | Finding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _flatten(attributes: Any, prefix: str = "") -> dict[str, Any]:
    """``{"llm": {"model_name": "x"}}`` -> ``{"llm.model_name": "x"}``."""
    if not isinstance(attributes, dict):
        return {}
    flat: dict[str, Any] = {}
    for key, value in attributes.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _ns(moment: datetime) -> int:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000


def _instant_ns(value: Any) -> int | None:
    """A start or end time as nanoseconds since the epoch (None when unreadable)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        magnitude = abs(value)
        scale = (
            1
            if magnitude > 1e17
            else 10**3
            if magnitude > 1e14
            else 10**6
            if magnitude > 1e11
            else 10**9
        )
        return int(value * scale)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            return _ns(datetime.fromisoformat(text))
        except ValueError:
            return None
    return None


def _duration_ns(value: Any) -> int | None:
    """A duration as nanoseconds (None when unreadable)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return int(value * 10**9) if value >= 0 else None
    if not isinstance(value, str):
        return None
    match = _ISO_DURATION.match(value.strip()) or _CLOCK_DURATION.match(value.strip())
    if match is None or not any(match.groupdict().values()):
        return None
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    seconds = parts["d"] * 86_400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
    return int(seconds * 10**9)


def _status_code(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value in (0, 1, 2) else 0
    if isinstance(value, str):
        word = value.strip().lower().removeprefix("status_code_")
        return _STATUS.get(word, 0)
    return 0


def _walk(spans: list[Any]) -> Iterator[tuple[Any, str | None, str]]:
    """Every span of a nested tree (depth first, iteratively: trees can be deep), with
    the id of the span it is nested in and where it is (for messages)."""
    stack: list[tuple[Any, str | None, str]] = [
        (span, None, f"spans[{i}]") for i, span in reversed(list(enumerate(spans)))
    ]
    while stack:
        span, nested_in, where = stack.pop()
        yield span, nested_in, where
        children = span.get("child_spans") if isinstance(span, dict) else None
        if isinstance(children, list):
            own = span.get("span_id")
            parent = str(own) if own not in (None, "") else nested_in
            stack.extend(
                (child, parent, f"{where}.child_spans[{j}]")
                for j, child in reversed(list(enumerate(children)))
            )


def _otlp_span(raw: Any, nested_in: str | None, trace_id: str, where: str) -> OtlpSpan:
    if not isinstance(raw, dict):
        raise _TraceError(f"{where} is a {type(raw).__name__}, not a span object")
    span_id = raw.get("span_id")
    if span_id in (None, ""):
        raise _TraceError(f"{where} has no span_id")
    start = _instant_ns(raw.get("timestamp", raw.get("start_time")))
    if start is None:
        raise _TraceError(
            f"span {span_id}: no readable start time (expected 'timestamp' or 'start_time' "
            "as ISO 8601 text or a Unix time)"
        )
    end = _instant_ns(raw.get("end_time"))
    if end is None:
        duration = _duration_ns(raw.get("duration"))
        end = start + duration if duration is not None else 0
    parent = raw.get("parent_span_id", raw.get("parent_id"))
    scope = raw.get("scope_name")
    return OtlpSpan(
        trace_id=str(raw.get("trace_id") or trace_id),
        span_id=str(span_id),
        parent_span_id=str(parent) if parent not in (None, "") else nested_in,
        name=str(raw.get("span_name") or raw.get("name") or "(unnamed)"),
        kind=0,
        start_ns=start,
        end_ns=end,
        attributes=_flatten(raw.get("span_attributes", raw.get("attributes"))),
        resource=_flatten(raw.get("resource_attributes")),
        scope=str(scope) if scope else "",
        status_code=_status_code(raw.get("status_code")),
        status_message=str(raw.get("status_message") or ""),
    )


def _repair_parents(spans: list[OtlpSpan], problems: list[str]) -> OtlpSpan:
    """Choose the root and attach spans with a missing parent or a cyclic parent chain
    to it; return the root."""
    by_id = {s.span_id: s for s in spans}
    parentless = [s for s in spans if s.parent_span_id is None]
    root = min(parentless or spans, key=lambda s: (s.start_ns, -s.end_ns))
    root.parent_span_id = None
    for span in spans:
        if span is root or span.parent_span_id is None:
            continue
        if span.parent_span_id not in by_id:
            problems.append(
                f"span {span.span_id}: parent {span.parent_span_id} is not in the trace; "
                f"attached to the root span {root.span_id}"
            )
            span.parent_span_id = root.span_id
            continue
        chain, current = [span.span_id], by_id[span.parent_span_id]
        while current.parent_span_id is not None and current.span_id not in chain:
            chain.append(current.span_id)
            current = by_id.get(current.parent_span_id, root)
        if current.span_id in chain:
            problems.append(
                f"span {span.span_id}: parent links form a cycle "
                f"({' -> '.join([*chain, current.span_id])}); attached to the root span "
                f"{root.span_id}"
            )
            span.parent_span_id = root.span_id
    return root


def _spans_of(trace: dict[str, Any]) -> list[Any]:
    spans = trace.get("spans")
    if isinstance(spans, list):
        return spans
    if "span_id" in trace:  # a single span tree
        return [trace]
    raise _TraceError("not an OpenInference trace: expected an object with a 'spans' list")


def _time(us: int | None) -> datetime | None:
    return None if us is None else _EPOCH + timedelta(microseconds=us)


def _annotations(trace: dict[str, Any]) -> list[Any]:
    holder = trace.get("annotations", trace)
    errors = holder.get("errors") if isinstance(holder, dict) else None
    if errors is None and isinstance(holder, list):
        errors = holder
    if errors is None:
        return []
    if not isinstance(errors, list):
        raise _TraceError(f"annotation 'errors' is a {type(errors).__name__}, not a list")
    return errors


def _finding(run_id: str, number: int, note: Any, spans: dict[str, tuple[int, Span]]) -> Finding:
    if not isinstance(note, dict):
        raise _TraceError(f"errors[{number}] is a {type(note).__name__}, not an object")
    category, location = note.get("category"), note.get("location")
    if not isinstance(category, str) or not category.strip():
        raise _TraceError(
            f"errors[{number}] has no 'category' (expected text such as 'Tool Selection Errors')"
        )
    if str(location) not in spans:
        raise _TraceError(
            f"errors[{number}] ({category}): location {location!r} is not a span_id of the trace"
        )
    step, span = spans[str(location)]
    impact = str(note.get("impact") or "").strip().lower()
    return Finding(
        finding_id=hashlib.sha1(f"{run_id}\x1f{HUMAN_DETECTOR}\x1f{number}".encode()).hexdigest(),
        run_id=run_id,
        span_id=span.span_id,
        detector=HUMAN_DETECTOR,
        mode=category.strip(),
        severity=_SEVERITY.get(impact, "medium"),
        agent=span.agent,
        step=step,
        evidence={
            k: note.get(k) for k in ("evidence", "description", "impact") if note.get(k) is not None
        }
        | {"source": "openinference-json"},
        created_at=span.started_at,
    )


def _run(root: Span, spans: list[Span], hints: RunHints | None) -> Run:
    failed = ("error", "timeout", "cancelled")
    tokens_in = [s.input_tokens for s in spans if s.input_tokens is not None]
    tokens_out = [s.output_tokens for s in spans if s.output_tokens is not None]
    costs = [s.cost_usd for s in spans if s.cost_usd is not None]
    hints = hints or RunHints()
    return Run(
        run_id=root.trace_id,
        task_id=hints.task_id,
        agent=root.agent or root.name,
        version=hints.version,
        model=next((s.model for s in spans if s.model), None),
        user=hints.user,
        team=hints.team,
        environment=hints.environment,
        suite=hints.suite,
        trial=hints.trial,
        started_at=root.started_at,
        ended_at=root.ended_at,
        status=root.status,
        input_tokens=sum(tokens_in) if tokens_in else None,
        output_tokens=sum(tokens_out) if tokens_out else None,
        total_tokens=sum(tokens_in) + sum(tokens_out) if tokens_in or tokens_out else None,
        cost_usd=sum(costs) if costs else None,
        steps=sum(s.kind == "llm" for s in spans),
        tool_calls=sum(s.kind == "tool" for s in spans),
        tool_errors=sum(s.kind == "tool" and s.status in failed for s in spans),
        handoffs=sum(s.kind == "handoff" for s in spans),
        attributes={**hints.attributes, "source_format": "openinference-json"},
    )


def _inherit_agents(spans: list[Span]) -> list[Span]:
    """Spans without an agent name take their nearest ancestor's: OpenInference names
    the agent on its agent span only, and detectors attribute steps to agents."""
    by_id = {s.span_id: s for s in spans}
    resolved: dict[str, str | None] = {}

    def agent_of(span: Span) -> str | None:
        chain: list[Span] = []
        current: Span | None = span
        while current is not None and current.span_id not in resolved and current.agent is None:
            chain.append(current)
            parent = current.parent_span_id
            current = by_id.get(parent) if parent is not None else None
        found = None if current is None else resolved.get(current.span_id, current.agent)
        for link in chain:
            resolved[link.span_id] = found
        return found

    return [
        s if s.agent is not None else s.model_copy(update={"agent": agent_of(s)}) for s in spans
    ]


def convert_trace(trace: Any, *, key: str) -> tuple[list[Run | Span | Finding], list[str]]:
    """The run, spans and human findings of one trace (``key`` names a trace without a
    ``trace_id``), and the problems met with parts of it (those parts were skipped or
    repaired; the rest is converted)."""
    if isinstance(trace, list):
        trace = {"spans": trace}
    if not isinstance(trace, dict):
        raise _TraceError(f"is a {type(trace).__name__}, not a trace object")
    out = _Converted()
    trace_id = str(trace.get("trace_id") or key)
    otlp: list[OtlpSpan] = []
    seen: set[str] = set()
    for raw, nested_in, where in _walk(_spans_of(trace)):
        try:
            span = _otlp_span(raw, nested_in, trace_id, where)
        except _TraceError as exc:
            out.problems.append(f"{exc}; span left out")
            continue
        if span.span_id in seen:
            out.problems.append(
                f"span {span.span_id} ({where}) repeats an earlier span_id; left out"
            )
            continue
        seen.add(span.span_id)
        otlp.append(span)
    if not otlp:
        raise _TraceError(
            "holds no usable span" + (f" ({out.problems[0]})" if out.problems else "")
        )
    for span in otlp:  # one trace, one run: the trace id of the file wins over the spans'
        span.trace_id = trace_id
    root = _repair_parents(otlp, out.problems)
    mapped = map_spans(otlp, MappingOptions(capture_content=True, max_future_s=_NO_FUTURE_LIMIT))
    out.problems.extend(f"span {r.where}: {r.problem}; left out" for r in mapped.rejects)
    out.problems.extend(f"ignored: {w}" for w in mapped.warnings)
    cols = mapped.spans
    spans: list[Span] = []
    root_hints: RunHints | None = None
    for i in range(mapped.span_count):
        row = {name: values[i] for name, values in cols.items()}
        row["started_at"] = _time(row["started_at"])
        row["ended_at"] = _time(row["ended_at"])
        row["attributes"] = json.loads(row["attributes"])
        row["events"] = json.loads(row["events"])
        spans.append(Span(**row))
        if row["span_id"] == root.span_id:
            root_hints = mapped.hints.get(i)
    root_span = next((s for s in spans if s.span_id == root.span_id), None)
    if root_span is None:
        raise _TraceError(f"its root span {root.span_id} could not be imported: {out.problems[-1]}")
    spans = _inherit_agents(spans)
    spans.sort(key=lambda s: s.started_at)
    out.records = [_run(root_span, spans, root_hints), *spans]
    steps = {s.span_id: (i, s) for i, s in enumerate(spans)}
    try:
        notes = _annotations(trace)
    except _TraceError as exc:
        out.problems.append(f"annotations not imported: {exc}")
        notes = []
    for number, note in enumerate(notes):
        try:
            out.records.append(_finding(trace_id, number, note, steps))
        except _TraceError as exc:
            out.problems.append(f"annotation not imported: {exc}")
    return out.records, out.problems


def read_openinference(
    path: Path, display: str, *, batch_rows: int
) -> Generator[Chunk, None, None]:
    """Convert every trace of ``path``; yield chunks of whole traces, about ``batch_rows``
    rows each. Problems with parts of a trace are reported as rejects of that trace
    (with the part as ``raw``) while the rest of it is imported."""
    traces, lossy = load_json_records(path, display, "trace")
    size = path.stat().st_size
    buffer = RowBuffer()
    rejects: list[Reject] = []
    for index, trace in enumerate(traces):
        key = path.stem if len(traces) == 1 else f"{path.stem}#{index}"
        try:
            records, problems = convert_trace(trace, key=key)
        except ValidationError as exc:
            rejects.append(reject(display, "trace", index, describe_validation_error(exc), trace))
            continue
        except _TraceError as exc:
            rejects.append(reject(display, "trace", index, str(exc), trace))
            continue
        if lossy and replaced(trace):
            problems.append("holds bytes that are not UTF-8; they were replaced by U+FFFD")
        rejects.extend(reject(display, "trace", index, p, None) for p in problems)
        for record in records:
            buffer.add(TABLES[type(record)], record.to_row())
        if buffer.count >= batch_rows:
            yield Chunk(buffer.take(), rejects, f"traces up to {index}", 0)
            rejects = []
    yield Chunk(buffer.take(), rejects, f"traces of {display}", size)
