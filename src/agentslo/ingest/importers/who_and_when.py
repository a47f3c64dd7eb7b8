"""Who&When failure-attribution logs ("Which Agent Causes Task Failures and When?",
ICML 2025): multi-agent transcripts of failed GAIA/AssistantBench tasks, each
annotated by people with the agent and the step that caused the failure.

A file holds one log (a JSON object) or a JSON list of logs, in either shape:

* Algorithm-Generated (CaptainAgent): messages ``{content, role, name}`` with the
  agent in ``name``, a ``system_prompt`` per agent, ``is_correct``;
* Hand-Crafted (Magentic-One): the agent in ``role``, e.g. ``"Orchestrator (->
  WebSurfer)"`` (the target goes to the span's ``handoff.to`` attribute),
  ``is_corrected`` instead of ``is_correct``.

Each log becomes a ``benchmark`` run (agent ``captainagent`` or ``magentic-one``,
suite ``who-and-when/<split>``, the question as its ``instruction`` attribute), one
span per message in order (step *i* is ``history[i]``, so ``mistake_step`` indexes
steps directly): code-execution output (``Computer_terminal``, or text starting
with ``exitcode:``) is a ``tool`` span, failed when it reports a non-zero exit code,
a traceback or an ``…Error``; every other message is an ``llm`` span of its agent.
The answer check becomes a ``verified`` outcome (evaluator ``who-and-when``).

The people's annotation becomes a finding with detector ``human`` and mode
``root_cause`` at the annotated step and agent (casing normalised to the agent's
name in the log), with ``mistake_reason`` as evidence, so that the automatic
``root_cause`` detector can be scored against it. An annotation that does not fit
its log (a step that is not an index of ``history``) is rejected with the reason
and the log is imported without it.

Logs carry no timestamps: runs start at a fixed instant plus one second per log
of the file, and spans a millisecond apart, so that importing again replaces
rather than copies.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Generator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from agentslo.ingest.chunks import Chunk, RowBuffer
from agentslo.ingest.errors import SourceError
from agentslo.ingest.messages import describe_validation_error
from agentslo.ingest.rejects import Reject
from agentslo.model import Finding, Outcome, Run, Span

__all__ = [
    "EVALUATOR",
    "HUMAN_DETECTOR",
    "convert_log",
    "looks_like_who_and_when",
    "read_who_and_when",
]

EVALUATOR: Final = "who-and-when"
#: Detector name of the people's annotations.
HUMAN_DETECTOR: Final = "human"
_BASE: Final = datetime(2025, 5, 1)
_TERMINAL: Final = "computer_terminal"
_FAILED: Final = re.compile(r"exitcode: [1-9]|Traceback \(most recent call last\)|\w*Error\b")
_ROLE: Final = re.compile(r"^\s*(?P<agent>[^(]+?)\s*(?:\(\s*->\s*(?P<to>[^)]+?)\s*\))?\s*$")


def looks_like_who_and_when(head: bytes) -> bool:
    """Whether the first bytes of a ``.json`` file look like Who&When logs."""
    return b'"history"' in head and (
        b'"mistake_agent"' in head or b'"is_correct' in head or b'"question"' in head
    )


class _LogError(ValueError):
    """A log that cannot be converted at all."""


def _speaker(message: dict[str, Any], algorithm: bool) -> tuple[str, str | None]:
    if algorithm:
        return str(message.get("name") or message.get("role") or "unknown"), None
    match = _ROLE.match(str(message.get("role") or "unknown"))
    if match is None:
        return str(message.get("role")), None
    return match.group("agent"), match.group("to")


def _span(run_id: str, step: int, message: Any, algorithm: bool, start: datetime) -> Span:
    if not isinstance(message, dict):
        raise _LogError(f"history[{step}] is a {type(message).__name__}, not a message object")
    agent, to = _speaker(message, algorithm)
    content = message.get("content")
    text = content if isinstance(content, str) else json.dumps(content, default=str)
    tool = agent.lower() == _TERMINAL or text.lstrip().startswith("exitcode:")
    return Span(
        trace_id=hashlib.sha1(run_id.encode()).hexdigest()[:32],
        span_id=f"{step:06d}",
        run_id=run_id,
        name=agent,
        kind="tool" if tool else "llm",
        agent=agent,
        tool="code_execution" if tool else None,
        status=("error" if _FAILED.search(text) else "ok") if tool else "ok",
        started_at=start + timedelta(milliseconds=step),
        output_text=text,
        attributes={"who_and_when.role": message.get("role"), **({"handoff.to": to} if to else {})},
    )


def _annotation(run_id: str, log: dict[str, Any], spans: list[Span]) -> Finding:
    raw_step, raw_agent = log.get("mistake_step"), log.get("mistake_agent")
    try:
        step = int(str(raw_step).strip())
    except ValueError:
        raise _LogError(f"mistake_step {raw_step!r} is not a step number") from None
    if not 0 <= step < len(spans):
        raise _LogError(f"mistake_step {step} is outside history (0-{len(spans) - 1})")
    names: dict[str, str | None] = {}
    for span in spans:  # the first spelling of an agent's name in the log wins
        names.setdefault((span.agent or "").lower(), span.agent)
    agent = names.get(str(raw_agent).strip().lower(), str(raw_agent).strip() or None)
    return Finding(
        project="default",
        finding_id=hashlib.sha1(f"{run_id}\x1f{HUMAN_DETECTOR}".encode()).hexdigest(),
        run_id=run_id,
        span_id=spans[step].span_id,
        detector=HUMAN_DETECTOR,
        mode="root_cause",
        severity="high",
        agent=agent,
        step=step,
        evidence={"reason": log.get("mistake_reason"), "source": EVALUATOR},
        created_at=_BASE,
    )


def convert_log(
    log: Any, *, key: str, started_at: datetime = _BASE
) -> tuple[list[Run | Span | Outcome | Finding], str | None]:
    """The records of one log (``key`` tells logs without a question id apart), and the
    problem with its annotation, if any (the log is still converted)."""
    if not isinstance(log, dict) or not isinstance(log.get("history"), list):
        raise _LogError("not a Who&When log: expected an object with a 'history' list")
    history = log["history"]
    algorithm = "is_correct" in log or any(isinstance(m, dict) and "name" in m for m in history)
    split = "algorithm-generated" if algorithm else "hand-crafted"
    run_id = f"who-and-when:{split}:{log.get('question_ID') or key}"
    spans = [_span(run_id, i, m, algorithm, started_at) for i, m in enumerate(history)]
    correct = log.get("is_correct", log.get("is_corrected"))
    run = Run(
        run_id=run_id,
        task_id=str(log.get("question_ID") or key),
        agent="captainagent" if algorithm else "magentic-one",
        environment="benchmark",
        suite=f"who-and-when/{split}",
        started_at=started_at,
        status="ok",
        steps=len(spans),
        tool_calls=sum(s.kind == "tool" for s in spans),
        tool_errors=sum(s.kind == "tool" and s.status == "error" for s in spans),
        attributes={
            "instruction": str(log.get("question") or ""),
            "level": log.get("level"),
            "ground_truth": log.get("ground_truth"),
        },
    )
    records: list[Run | Span | Outcome | Finding] = [run, *spans]
    if isinstance(correct, bool):
        records.append(
            Outcome(
                run_id=run_id,
                label="success" if correct else "failure",
                source="verified",
                evaluator=EVALUATOR,
                recorded_at=started_at,
            )
        )
    problem = None
    if log.get("mistake_step") is not None or log.get("mistake_agent") is not None:
        try:
            records.append(_annotation(run_id, log, spans))
        except _LogError as exc:
            problem = f"annotation not imported: {exc}"
    return records, problem


def _load(path: Path, display: str) -> list[Any]:
    try:
        data = json.loads(path.read_bytes())
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"{display}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "a Who&When file is one log object or a JSON list of them"
        ) from exc
    except UnicodeDecodeError as exc:
        raise SourceError(f"{display}: not UTF-8 text ({exc.reason})") from exc
    return data if isinstance(data, list) else [data]


_TABLES: Final = {Run: "runs", Span: "spans", Outcome: "outcomes", Finding: "findings"}


def read_who_and_when(path: Path, display: str, *, batch_rows: int) -> Generator[Chunk, None, None]:
    """Convert every log of ``path``; yield chunks of whole runs, about ``batch_rows`` rows."""
    logs = _load(path, display)
    size = path.stat().st_size
    buffer, rejects = RowBuffer(), []
    for index, log in enumerate(logs):
        key = path.stem if len(logs) == 1 else f"{path.stem}#{index}"
        try:
            records, problem = convert_log(
                log, key=key, started_at=_BASE + timedelta(seconds=index)
            )
        except ValidationError as exc:
            rejects.append(_reject(display, index, describe_validation_error(exc), log))
            continue
        except _LogError as exc:
            rejects.append(_reject(display, index, str(exc), log))
            continue
        if problem is not None:
            rejects.append(_reject(display, index, problem, log.get("mistake_step")))
        for record in records:
            buffer.add(_TABLES[type(record)], record.to_row())
        if buffer.count >= batch_rows:
            yield Chunk(buffer.take(), rejects, f"logs up to {index}", 0)
            rejects = []
    yield Chunk(buffer.take(), rejects, f"logs of {display}", size)


def _reject(display: str, index: int, message: str, raw: Any) -> Reject:
    return Reject(source=display, index=index, error=f"{display}: log {index}: {message}", raw=raw)
