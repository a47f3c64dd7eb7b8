"""MAST-annotated multi-agent traces ("Why Do Multi-Agent LLM Systems Fail?", 2025):
raw transcripts of ChatDev, MetaGPT, AG2, HyperAgent, AppWorld, Magentic-One and
other systems, each labelled by people with the 14 failure modes of the MAST
taxonomy (codes 1.1-3.3, each 0 or 1).

A file holds one record or a JSON list of records ``{mas_name, llm_name?,
benchmark_name?, trace_id?, trace: {trajectory}, mast_annotation: {"1.1": 0,
...}}``. Each record becomes a ``benchmark`` run (agent = ``mas_name``, model =
``llm_name``, suite ``mast/<benchmark_name>``) with a root ``agent`` span holding
the whole transcript and one ``llm`` span per turn under it.

The transcript is raw text whose layout depends on the framework, so turns are
found by a best-effort heuristic. Four speaker-prefix patterns are tried, and the
one that matches the most lines (at least two) splits the text, each match
starting a turn of that speaker:

* AG2/AutoGen: a line ``speaker (to recipient):`` (the recipient goes to the
  span's ``handoff.to`` attribute);
* console banners: a line ``---------- speaker ----------``;
* ChatDev: ``**Role A<->Role B on : Phase, turn N**`` (the speaker is Role A);
* a line starting ``Speaker: ...`` or ``[Speaker]: ...`` whose speaker name
  (up to 40 characters, starting with a letter) starts at least two lines, so
  that one ``Note: ...`` line does not split a turn.

Text before the first match is a turn of speaker ``preamble``. When nothing
matches, the transcript is one turn. Spans are numbered from 0 in order, so a
finding's ``step`` indexes the turns.

Every failure mode marked 1 becomes a finding with detector ``human``, the code
as ``mode`` (``1.3`` is step repetition; the names are in :data:`MODES` and in
the finding's evidence) and no span: MAST labels whole traces. A malformed
annotation (an unknown code, a value other than 0/1, a ``mast_annotation`` that
is not an object) is reported and left out; the record is still imported.
Records carry no timestamps: runs start at a fixed instant plus a second per
record of the file, turns a millisecond apart.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from agentslo.ingest.chunks import Chunk, RowBuffer
from agentslo.ingest.importers._shared import TABLES, load_json_records, reject, replaced
from agentslo.ingest.messages import describe_validation_error
from agentslo.ingest.rejects import Reject
from agentslo.model import Finding, Run, Span

__all__ = ["HUMAN_DETECTOR", "MODES", "Turn", "convert_record", "read_mast", "segment"]

#: Detector name of the people's annotations.
HUMAN_DETECTOR: Final = "human"
#: MAST failure-mode code -> name.
MODES: Final[dict[str, str]] = {
    "1.1": "disobey task specification",
    "1.2": "disobey role specification",
    "1.3": "step repetition",
    "1.4": "loss of conversation history",
    "1.5": "unaware of termination conditions",
    "2.1": "conversation reset",
    "2.2": "fail to ask for clarification",
    "2.3": "task derailment",
    "2.4": "information withholding",
    "2.5": "ignored other agent's input",
    "2.6": "reasoning-action mismatch",
    "3.1": "premature termination",
    "3.2": "no or incomplete verification",
    "3.3": "incorrect verification",
}
_BASE: Final = datetime(2025, 3, 1)
_PATTERNS: Final = (
    re.compile(
        r"^[ \t]*(?P<speaker>[\w][\w .\-]{0,60}?) \(to (?P<to>[\w][\w .\-]{0,60}?)\):[ \t]*$", re.M
    ),
    re.compile(r"^[ \t]*-{3,}[ \t]*(?P<speaker>[\w][\w .\-()]{0,60}?)[ \t]*-{3,}[ \t]*$", re.M),
    re.compile(
        r"^[^*\n]*\*\*(?P<speaker>[^*<>\n]{1,60}?)<->(?P<to>[^*\n]{1,60}?)"
        r" on : [^*\n]*?turn \d+\*\*",
        re.M,
    ),
    re.compile(r"^[ \t]*\[?(?P<speaker>[A-Za-z][\w .\-]{0,39}?)\]?:[ \t]", re.M),
)
#: The generic ``Speaker:`` pattern counts a speaker only when it starts this many lines.
_MIN_GENERIC: Final = 2


@dataclass(frozen=True)
class Turn:
    """One turn of a transcript: who spoke, to whom (when the text says), and the text."""

    speaker: str
    to: str | None
    text: str


class _RecordError(ValueError):
    """A record that cannot be converted at all."""


def _matches(pattern: re.Pattern[str], text: str, generic: bool) -> list[re.Match[str]]:
    found = list(pattern.finditer(text))
    if not generic:
        return found
    counts: dict[str, int] = {}
    for match in found:
        counts[match.group("speaker").strip()] = counts.get(match.group("speaker").strip(), 0) + 1
    return [m for m in found if counts[m.group("speaker").strip()] >= _MIN_GENERIC]


def segment(text: str) -> list[Turn]:
    """The turns of a raw transcript (see the module's description of the heuristic)."""
    best: list[re.Match[str]] = []
    for number, pattern in enumerate(_PATTERNS):
        found = _matches(pattern, text, generic=number == len(_PATTERNS) - 1)
        if len(found) >= 2 and len(found) > len(best):
            best = found
    if not best:
        return [Turn("unknown", None, text)]
    turns: list[Turn] = []
    preamble = text[: best[0].start()].strip()
    if preamble:
        turns.append(Turn("preamble", None, preamble))
    for match, following in zip(best, [*best[1:], None], strict=True):
        end = following.start() if following is not None else len(text)
        to = match.groupdict().get("to")
        turns.append(
            Turn(
                match.group("speaker").strip(),
                to.strip() if to else None,
                text[match.start() : end].strip(),
            )
        )
    return turns


def _trajectory(record: dict[str, Any]) -> str:
    trace = record.get("trace")
    value = trace.get("trajectory") if isinstance(trace, dict) else trace
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    if not isinstance(value, str):
        raise _RecordError(
            "no transcript: expected 'trace.trajectory' to be text, got "
            f"{'nothing' if value is None else type(value).__name__}"
        )
    return value


def _flag(code: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("0", "1", "yes", "no", "true", "false"):
        return value.strip().lower() in ("1", "yes", "true")
    raise _RecordError(f"mast_annotation[{code!r}] is {value!r:.40}, expected 0 or 1")


def _findings(
    run_id: str, record: dict[str, Any], started: datetime
) -> tuple[list[Finding], list[str]]:
    annotation = record.get("mast_annotation")
    if annotation is None:
        return [], []
    if not isinstance(annotation, dict):
        return [], [
            f"annotation not imported: mast_annotation is a {type(annotation).__name__}, "
            'expected an object such as {"1.1": 0, "1.3": 1}'
        ]
    findings: list[Finding] = []
    problems: list[str] = []
    for raw_code, value in annotation.items():
        code = str(raw_code).strip()
        if code not in MODES:
            problems.append(
                f"annotation {raw_code!r} not imported: not a MAST failure-mode code "
                f"(expected one of {', '.join(MODES)})"
            )
            continue
        try:
            marked = _flag(code, value)
        except _RecordError as exc:
            problems.append(f"annotation not imported: {exc}")
            continue
        if marked:
            findings.append(
                Finding(
                    finding_id=hashlib.sha1(
                        f"{run_id}\x1f{HUMAN_DETECTOR}\x1f{code}".encode()
                    ).hexdigest(),
                    run_id=run_id,
                    detector=HUMAN_DETECTOR,
                    mode=code,
                    severity="high",
                    evidence={"name": MODES[code], "source": "mast"},
                    created_at=started,
                )
            )
    return findings, problems


def convert_record(
    record: Any, *, key: str, started_at: datetime = _BASE
) -> tuple[list[Run | Span | Finding], list[str]]:
    """The run, spans and human findings of one MAST record (``key`` tells records
    without a ``trace_id`` apart), and the problems with its annotation (left out)."""
    if not isinstance(record, dict):
        raise _RecordError(f"is a {type(record).__name__}, not a MAST record object")
    mas = record.get("mas_name")
    if not isinstance(mas, str) or not mas.strip():
        raise _RecordError("no 'mas_name' (the multi-agent system that produced the trace)")
    text = _trajectory(record)
    benchmark = record.get("benchmark_name")
    task = record.get("trace_id", record.get("id"))
    run_id = f"mast:{mas}:{benchmark or ''}:{task if task is not None else key}"
    trace_id = hashlib.sha1(run_id.encode()).hexdigest()[:32]
    root = Span(
        trace_id=trace_id,
        span_id="root",
        run_id=run_id,
        name=mas,
        kind="agent",
        agent=mas,
        status="ok",
        started_at=started_at,
        output_text=text,
    )
    spans = [
        Span(
            trace_id=trace_id,
            span_id=f"{step:06d}",
            parent_span_id="root",
            run_id=run_id,
            name=turn.speaker,
            kind="llm",
            agent=turn.speaker,
            status="ok",
            started_at=started_at + timedelta(milliseconds=step + 1),
            output_text=turn.text,
            attributes={"handoff.to": turn.to} if turn.to else {},
        )
        for step, turn in enumerate(segment(text))
    ]
    model = record.get("llm_name")
    run = Run(
        run_id=run_id,
        task_id=None if task is None else str(task),
        agent=mas,
        model=str(model) if model else None,
        environment="benchmark",
        suite=f"mast/{benchmark}" if benchmark else "mast",
        started_at=started_at,
        status="ok",
        steps=len(spans),
        tool_calls=0,
        attributes={"source_format": "mast"},
    )
    findings, problems = _findings(run_id, record, started_at)
    return [run, root, *spans, *findings], problems


def read_mast(path: Path, display: str, *, batch_rows: int) -> Generator[Chunk, None, None]:
    """Convert every record of ``path``; yield chunks of whole runs, about ``batch_rows``
    rows each."""
    records, lossy = load_json_records(path, display, "MAST record")
    size = path.stat().st_size
    buffer, rejects = RowBuffer(), []
    for index, raw in enumerate(records):
        key = path.stem if len(records) == 1 else f"{path.stem}#{index}"
        try:
            converted, problems = convert_record(
                raw, key=key, started_at=_BASE + timedelta(seconds=index)
            )
        except ValidationError as exc:
            rejects.append(reject(display, "record", index, describe_validation_error(exc), raw))
            continue
        except _RecordError as exc:
            rejects.append(reject(display, "record", index, str(exc), raw))
            continue
        if lossy and replaced(raw):
            problems.append("holds bytes that are not UTF-8; they were replaced by U+FFFD")
        rejects.extend(_problem(display, index, p, raw) for p in problems)
        for item in converted:
            buffer.add(TABLES[type(item)], item.to_row())
        if buffer.count >= batch_rows:
            yield Chunk(buffer.take(), rejects, f"records up to {index}", 0)
            rejects = []
    yield Chunk(buffer.take(), rejects, f"records of {display}", size)


def _problem(display: str, index: int, message: str, raw: Any) -> Reject:
    annotation = raw.get("mast_annotation") if isinstance(raw, dict) else None
    return reject(display, "record", index, message, annotation)
