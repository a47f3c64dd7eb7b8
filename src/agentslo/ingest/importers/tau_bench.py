"""tau-bench result files (``historical_trajectories/*.json``, ``results/*.json``).

A file is a JSON list of ``EnvRunResult`` records: ``{task_id, trial, reward,
info, traj}`` where ``traj`` is the OpenAI-format chat of one trial. Each record
becomes

* a run (``environment="benchmark"``, ``task_id``, ``trial``, the suite, agent
  and version given on the command line) with its step and tool counts;
* a root ``agent`` span, an ``llm`` span per assistant turn and a ``tool`` span
  per tool call, matched to its result (the next ``role: tool`` message with the
  same ``tool_call_id``; ids are reused within a trajectory, so earlier calls are
  matched first);
* a ``verified`` outcome from evaluator ``tau-bench``: tau-bench compares the
  environment's final database with the gold one (and checks required outputs),
  so its reward is an attested result, not the agent's claim. Success means a
  reward within 1e-6 of 1.

tau-bench records carry no timestamps. Rather than invent durations, runs start
at a base time (``started_at``, default the file's modification time, whole
seconds, UTC) plus one second per record; spans start at the run's start plus a
millisecond per message so that they sort in conversation order; every
``ended_at`` is left empty, so latency metrics see these runs as unmeasured. A
run already in the store keeps its start, so a re-import replaces rather than
copies (the store tells spans apart by their start too).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, ValidationError

from agentslo.ingest.chunks import Chunk, RowBuffer
from agentslo.ingest.errors import SourceError
from agentslo.ingest.messages import describe_validation_error, field_problem
from agentslo.ingest.rejects import Reject
from agentslo.model import Outcome, Run, Span, Status

__all__ = [
    "DEFAULT_AGENT",
    "EVALUATOR",
    "SUCCESS_TOLERANCE",
    "StoredStarts",
    "TauBenchOptions",
    "TauBenchResult",
    "convert",
    "default_suite",
    "load_results",
    "read_tau_bench",
    "run_id_for",
]

DEFAULT_AGENT: Final = "tau-bench-agent"
EVALUATOR: Final = "tau-bench"
#: A reward within this distance of 1.0 is a success.
SUCCESS_TOLERANCE: Final = 1e-6
_DOMAINS: Final = ("airline", "retail", "telecom")
_ERROR_PREFIXES: Final = ("error", "unknown action")


class _Loose(BaseModel):
    """tau-bench and its forks add keys freely; only the keys used here are checked."""

    model_config = ConfigDict(extra="allow", frozen=True)


class _Function(_Loose):
    name: str
    arguments: str | dict[str, Any] | None = None


class _ToolCall(_Loose):
    id: str | None = None
    function: _Function


class _Message(_Loose):
    role: str
    content: str | list[Any] | None = None
    tool_calls: list[_ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None


class TauBenchResult(_Loose):
    """One ``EnvRunResult`` of a tau-bench results file."""

    task_id: int
    reward: float
    info: dict[str, Any] = Field(default_factory=dict)
    traj: list[_Message]
    trial: NonNegativeInt = 0


@dataclass(frozen=True)
class TauBenchOptions:
    """Who ran the benchmark and when: none of it is in the file itself."""

    suite: str | None = None
    agent: str | None = None
    version: str | None = None
    started_at: datetime | None = None


def default_suite(path: Path) -> str:
    """``tau-bench-<domain>`` when the file name names a tau-bench domain, else
    ``tau-bench`` (``gpt-4o-airline.json`` -> ``tau-bench-airline``)."""
    stem = path.stem.lower()
    for domain in _DOMAINS:
        if domain in stem:
            return f"tau-bench-{domain}"
    return "tau-bench"


def _text(content: str | list[Any] | None) -> str | None:
    """Message content as text (content-part lists joined, non-text parts skipped)."""
    if content is None or isinstance(content, str):
        return content
    parts = [p.get("text", "") for p in content if isinstance(p, dict) and "text" in p]
    return "".join(str(p) for p in parts)


def _arguments(arguments: str | dict[str, Any] | None) -> str | None:
    if arguments is None or isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, ensure_ascii=False)


def _looks_like_error(result: str | None) -> bool:
    """tau-bench tools report failures as text: ``Error: ...``, ``Unknown action ...``."""
    return result is not None and result.lstrip().lower().startswith(_ERROR_PREFIXES)


@dataclass
class _Trace:
    """Spans of one run under construction (the root span is built separately)."""

    run_id: str
    agent: str
    start: datetime
    spans: list[dict[str, Any]] = field(default_factory=list)

    def add(self, position: int, offset: int, **fields: Any) -> None:
        """Add a child of the root at message ``position`` (``offset`` orders the
        tool calls of one message after the message itself)."""
        started = self.start + timedelta(milliseconds=position, microseconds=offset)
        self.spans.append(
            {
                "trace_id": self.run_id,
                "parent_span_id": _span_id(0),
                "run_id": self.run_id,
                "agent": self.agent,
                "started_at": started,
                **fields,
            }
        )

    def finish(self) -> list[Span]:
        """The spans in conversation order, numbered in that order."""
        ordered = sorted(self.spans, key=lambda s: s["started_at"])
        return [Span(span_id=_span_id(i), **s) for i, s in enumerate(ordered, start=1)]


def _span_id(n: int) -> str:
    """Span ids are 16 hex digits, as in OpenTelemetry; the root is 1, its children 2..."""
    return f"{n + 1:016x}"


@dataclass
class _Call:
    """A tool call waiting for its result."""

    call: _ToolCall
    position: int
    offset: int
    result: _Message | None = None


def _tool_span(trace: _Trace, pending: _Call) -> bool:
    """Add the span of one tool call; return whether it failed."""
    result = _text(pending.result.content) if pending.result is not None else None
    failed = _looks_like_error(result)
    status: Status = "error" if failed else ("ok" if pending.result is not None else "unset")
    attributes: dict[str, Any] = {"tau_bench.message_index": pending.position}
    if pending.call.id is not None:
        attributes["tau_bench.tool_call_id"] = pending.call.id
    if pending.result is None:
        attributes["tau_bench.result_missing"] = True
    name = pending.call.function.name
    trace.add(
        pending.position,
        pending.offset,
        name=f"execute_tool {name}",
        kind="tool",
        tool=name,
        status=status,
        error_type="tool_error" if failed else None,
        input_text=_arguments(pending.call.function.arguments),
        output_text=result,
        attributes=attributes,
    )
    return failed


@dataclass
class _Counts:
    steps: int = 0
    tool_calls: int = 0
    tool_errors: int = 0


def _walk(trace: _Trace, traj: list[_Message]) -> _Counts:
    """Turn the conversation into llm and tool spans, in order; count the steps."""
    counts = _Counts()
    pending: dict[str, list[_Call]] = {}
    calls: list[_Call] = []
    for position, message in enumerate(traj):
        if message.role == "assistant":
            counts.steps += 1
            trace.add(
                position,
                0,
                name="chat",
                kind="llm",
                status="ok",
                output_text=_text(message.content),
                attributes={"tau_bench.message_index": position},
            )
            for offset, call in enumerate(message.tool_calls or [], start=1):
                waiting = _Call(call, position, offset)
                calls.append(waiting)
                pending.setdefault(call.id or "", []).append(waiting)
        elif message.role == "tool":
            queue = pending.get(message.tool_call_id or "")
            if queue:
                waiting = queue.pop(0)
            else:  # a result whose call is not in the trajectory: keep what is known
                orphan = _ToolCall(function=_Function(name=message.name or "unknown"))
                waiting = _Call(orphan, position, 0)
                calls.append(waiting)
            waiting.result = message
    for waiting in calls:
        counts.tool_calls += 1
        counts.tool_errors += _tool_span(trace, waiting)
    return counts


def _reward_problem(reward: float) -> str | None:
    if -SUCCESS_TOLERANCE <= reward <= 1 + SUCCESS_TOLERANCE:
        return None
    return field_problem("reward", "a number between 0 and 1", reward)


def _run_attributes(result: TauBenchResult) -> dict[str, Any]:
    info = result.info
    task = info.get("task")
    if not isinstance(task, dict):
        task = {}
    found = {
        "tau_bench.reward": result.reward,
        "tau_bench.source": info.get("source"),
        "tau_bench.user_cost": info.get("user_cost"),
        "tau_bench.user_id": task.get("user_id"),
        "tau_bench.instruction": task.get("instruction"),
        "tau_bench.error": info.get("error"),
    }
    return {key: value for key, value in found.items() if value is not None}


def run_id_for(result: TauBenchResult, *, suite: str, agent: str, version: str | None) -> str:
    """``{suite}:{agent}:{version}:{task_id}:{trial}``: the same record always gets the
    same id, so importing a file twice replaces its runs instead of adding them."""
    return f"{suite}:{agent}:{version or ''}:{result.task_id}:{result.trial}"


def convert(
    result: TauBenchResult, *, suite: str, agent: str, version: str | None, started_at: datetime
) -> list[Run | Span | Outcome]:
    """The run, its spans and its verified outcome for one tau-bench record.

    Raises ``ValidationError`` (from the models) or ``ValueError`` when the record
    cannot be represented, e.g. a reward outside [0, 1].
    """
    problem = _reward_problem(result.reward)
    if problem is not None:
        raise ValueError(problem)
    run_id = run_id_for(result, suite=suite, agent=agent, version=version)
    status: Status = "error" if result.info.get("error") else "ok"
    trace = _Trace(run_id=run_id, agent=agent, start=started_at)
    counts = _walk(trace, result.traj)
    first_user = next((m for m in result.traj if m.role == "user"), None)
    last_reply = next((m for m in reversed(result.traj) if m.role == "assistant"), None)
    root = Span(
        trace_id=run_id,
        span_id=_span_id(0),
        run_id=run_id,
        name=f"invoke_agent {agent}",
        kind="agent",
        agent=agent,
        started_at=started_at,
        status=status,
        error_type="harness_error" if status == "error" else None,
        input_text=_text(first_user.content) if first_user else None,
        output_text=_text(last_reply.content) if last_reply else None,
    )
    cost = result.info.get("total_cost")
    run = Run(
        run_id=run_id,
        task_id=str(result.task_id),
        agent=agent,
        version=version,
        environment="benchmark",
        suite=suite,
        trial=result.trial,
        started_at=started_at,
        status=status,
        cost_usd=cost if isinstance(cost, int | float) and cost >= 0 else None,
        steps=counts.steps,
        tool_calls=counts.tool_calls,
        tool_errors=counts.tool_errors,
        attributes=_run_attributes(result),
    )
    success = abs(result.reward - 1.0) <= SUCCESS_TOLERANCE
    evidence = result.info.get("reward_info")
    if evidence is None and result.info.get("error"):
        evidence = {"error": result.info["error"]}
    outcome = Outcome(
        outcome_id=f"{run_id}:{EVALUATOR}",
        run_id=run_id,
        label="success" if success else "failure",
        score=min(max(result.reward, 0.0), 1.0),
        source="verified",
        evaluator=EVALUATOR,
        recorded_at=started_at,
        evidence=evidence,
    )
    return [run, root, *trace.finish(), outcome]


def _base_time(path: Path, options: TauBenchOptions) -> datetime:
    if options.started_at is not None:
        given = options.started_at
        return given.astimezone(UTC).replace(tzinfo=None) if given.tzinfo else given
    mtime = datetime.fromtimestamp(int(path.stat().st_mtime), tz=UTC)
    return mtime.replace(tzinfo=None)


def load_results(path: Path, display: str) -> list[Any]:
    """The raw records of a tau-bench results file (a JSON list), unvalidated.

    Raises ``SourceError`` naming ``display`` when the file is not UTF-8 JSON or
    not a list; the records themselves are checked by whoever reads them (the
    importer here, the audit of imported results in ``agentslo.audit``).
    """
    try:
        data = json.loads(path.read_bytes())
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"{display}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "a tau-bench results file is one JSON list of records"
        ) from exc
    except UnicodeDecodeError as exc:
        raise SourceError(f"{display}: not UTF-8 text ({exc.reason})") from exc
    if not isinstance(data, list):
        raise SourceError(
            f"{display}: expected a JSON list of tau-bench records, got a JSON "
            f"{type(data).__name__}; pass the results file that run.py writes"
        )
    return data


_TABLE_OF: Final = {Run: "runs", Span: "spans", Outcome: "outcomes"}

#: Run ids -> start times of those runs already in the store.
StoredStarts = Callable[[Sequence[str]], Mapping[str, datetime]]


def read_tau_bench(
    path: Path,
    display: str,
    options: TauBenchOptions,
    *,
    batch_rows: int,
    stored_starts: StoredStarts | None = None,
) -> Generator[Chunk, None, None]:
    """Convert every record of ``path``; yield chunks of up to ``batch_rows`` rows
    (whole runs: a run and its spans are never split across batches).

    ``stored_starts`` gives the start times of runs already in the store: those
    runs keep them, so that a re-import (after the file's time changed, or with
    another ``--started-at``) replaces runs and spans instead of adding copies.
    """
    records = load_results(path, display)
    suite = options.suite or default_suite(path)
    agent = options.agent or DEFAULT_AGENT
    base = _base_time(path, options)
    size = path.stat().st_size
    parsed = [_parse(display, index, raw) for index, raw in enumerate(records)]
    ids = {
        index: run_id_for(item, suite=suite, agent=agent, version=options.version)
        for index, item in enumerate(parsed)
        if isinstance(item, TauBenchResult)
    }
    kept = stored_starts(list(ids.values())) if stored_starts and ids else {}
    buffer, rejects = RowBuffer(), []
    first = reported = 0
    for index, item in enumerate(parsed):
        if isinstance(item, Reject):
            rejects.append(item)
            continue
        started = kept.get(ids[index], base + timedelta(seconds=index))
        try:
            converted = convert(
                item, suite=suite, agent=agent, version=options.version, started_at=started
            )
        except ValidationError as exc:
            rejects.append(_reject(display, index, describe_validation_error(exc), records[index]))
            continue
        except ValueError as exc:
            rejects.append(_reject(display, index, str(exc), records[index]))
            continue
        for record in converted:
            buffer.add(_TABLE_OF[type(record)], record.to_row())
        if buffer.count >= batch_rows:
            advance = size * (index + 1) // len(records) - reported
            reported += advance
            yield Chunk(buffer.take(), rejects, f"records {first}-{index}", advance)
            rejects, first = [], index + 1
    if buffer.count or rejects or reported < size:
        yield Chunk(buffer.take(), rejects, f"records {first}-{len(records) - 1}", size - reported)


def _parse(display: str, index: int, raw: Any) -> TauBenchResult | Reject:
    try:
        return TauBenchResult.model_validate(raw)
    except ValidationError as exc:
        return _reject(display, index, describe_validation_error(exc), raw)


def _reject(display: str, index: int, message: str, raw: Any) -> Reject:
    error = f"{display}: record {index}: {message}"
    return Reject(source=display, index=index, error=error, raw=raw)
