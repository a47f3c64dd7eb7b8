"""The optional LLM judge: asks a model behind any OpenAI-compatible chat-completions
endpoint whether a run shows each semantic failure mode, and keeps only answers that
pass every check.

Off by default (``agentslo detect --judge --model NAME --base-url URL``, key from
``OPENAI_API_KEY``); nothing here runs unless asked. Per run and mode, one request:
the transcript goes in as quoted, delimited data (:mod:`._judge_prompt`), the answer
must be the verdict schema (sent as ``response_format`` json_schema; a server that
refuses that parameter is asked again without it, and the answer is validated with
pydantic always) and pass the checks of :mod:`._judge_answer`. An accepted
``present`` verdict becomes a finding of detector ``judge`` with the mode's name at
the cited step; every verdict, accepted, rejected or failed, is a row of
``judge_verdicts``, from which agreement with the deterministic detectors is
computed (:func:`agentslo.detect.judge_agreement`).

Timeouts, connection errors, HTTP 429 and 5xx are retried by the chat client; a
request that still fails is recorded as an error and its (run, mode) is left
unmarked, so the next call asks again. One bad answer or failed request never stops
the rest. Bookkeeping in ``detect_runs`` uses the detector name ``judge:<mode>``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from agentslo.agents.openai_chat import ChatClient, ChatError
from agentslo.detect._finding import finding
from agentslo.detect._judge_answer import VERDICT_SCHEMA, RejectedAnswerError, parse_answer
from agentslo.detect._judge_prompt import JUDGE_MODES, JudgeMode, messages, transcript
from agentslo.detect._judge_records import JudgeSummary, JudgeVerdict
from agentslo.detect._judge_store import (
    NAME,
    bookkeeping_name,
    judged,
    mark_empty,
    store_batch,
)
from agentslo.detect._run import load_traces, pending_count
from agentslo.detect._text import quote
from agentslo.detect._trace import Trace
from agentslo.model import Finding
from agentslo.store import Store

__all__ = [
    "JUDGE_MODES",
    "NAME",
    "Judge",
    "JudgeConfig",
    "JudgeSummary",
    "JudgeUnavailableError",
    "JudgeVerdict",
    "run_judge",
]

#: Statuses that say the judge is misconfigured (key, URL, model): every request would
#: fail the same way, so the call stops after the batch that met one.
FATAL_STATUSES: Final = frozenset({401, 403, 404})


class JudgeUnavailableError(ValueError):
    """The judge refuses every request (bad key, URL or model); what was judged is kept."""


#: Runs judged between two writes to the store.
BATCH_RUNS: Final = 20


@dataclass(frozen=True)
class JudgeConfig:
    """Where the judge is and how to talk to it."""

    model: str
    base_url: str
    api_key: str | None = None
    #: Seconds to wait for one response.
    timeout: float = 60.0
    #: Tries per request (timeouts, connection errors, 429 and 5xx are retried).
    attempts: int = 3
    #: First wait between tries, doubled each time (a Retry-After header wins).
    backoff: float = 1.0
    #: Requests in flight at once.
    concurrency: int = 4
    temperature: float = 0.0

    def __post_init__(self) -> None:
        if not self.model.strip():
            raise ValueError("the judge needs a model: pass --model NAME")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"judge base URL {self.base_url!r} is not an http(s) URL; pass --base-url "
                "such as http://localhost:8000/v1"
            )
        if self.attempts < 1 or self.concurrency < 1 or self.timeout <= 0:
            raise ValueError("judge attempts, concurrency and timeout must be positive")


def _texts(trace: Trace) -> str:
    """Every text of the run the transcript shows, unclipped: what an explanation must
    not be copied from (names, tools and error types are the agent's to write too)."""
    parts = [trace.instruction]
    for span in trace.spans:
        fields = (span.name, span.agent, span.tool, span.error_type)
        parts += [span.input_text or "", span.output_text or "", *(f or "" for f in fields)]
    return "\n".join(parts)


def _shown_steps(document: str) -> frozenset[int]:
    """The steps a transcript shows (a long run's middle is left out)."""
    steps = json.loads(document)["steps"]
    return frozenset(s["step"] for s in steps if isinstance(s.get("step"), int))


class Judge:
    """Asks the model of ``config`` about the modes of one run at a time."""

    def __init__(self, config: JudgeConfig) -> None:
        self.config = config
        self.client = ChatClient(
            config.base_url, config.api_key, timeout=config.timeout, backoff=config.backoff
        )
        #: Cleared when the server refuses ``response_format``: ask without it from then on.
        self.structured = True

    def _complete(self, chat: list[dict[str, str]]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": chat,
            "temperature": self.config.temperature,
        }
        if self.structured:
            schema = {"name": "verdict", "strict": True, "schema": VERDICT_SCHEMA}
            try:
                return self.client.complete(
                    {**body, "response_format": {"type": "json_schema", "json_schema": schema}},
                    attempts=self.config.attempts,
                )
            except ChatError as exc:
                if exc.status not in (400, 422):
                    raise
            # Refused: ask without the parameter, and keep doing so once that works
            # (a 400 for another reason fails again and changes nothing).
            response = self.client.complete(body, attempts=self.config.attempts)
            self.structured = False
            return response
        return self.client.complete(body, attempts=self.config.attempts)

    def ask(
        self,
        trace: Trace,
        mode: JudgeMode,
        document: str,
        texts: str,
        shown: frozenset[int] | None = None,
    ) -> JudgeVerdict:
        """The verdict on ``mode`` for ``trace`` (never raises for a bad answer); a
        verdict citing a step the transcript left out (not in ``shown``) is rejected."""
        base = (trace.project, trace.run_id, mode.name)
        try:
            response = self._complete(messages(trace, mode, document))
        except ChatError as exc:
            return JudgeVerdict(
                *base, status="error", reason=quote(str(exc), 300), http_status=exc.status
            )
        content = _content(response)
        tokens = _tokens(response)
        try:
            verdict = parse_answer(content, len(trace.spans), texts)
            cited = verdict.cited_step
            if shown is not None and cited is not None and cited not in shown:
                raise RejectedAnswerError(
                    "step_not_shown", f"cites step {cited}, which the transcript left out"
                )
        except RejectedAnswerError as exc:
            return JudgeVerdict(
                *base,
                status="rejected",
                reason=exc.reason,
                answer=quote(content or "", 1000),
                input_tokens=tokens[0],
                output_tokens=tokens[1],
            )
        return JudgeVerdict(
            *base,
            input_tokens=tokens[0],
            output_tokens=tokens[1],
            status="accepted",
            label=verdict.label,
            cited_step=verdict.cited_step,
            explanation=verdict.explanation,
        )

    def judge(self, trace: Trace, modes: Iterable[JudgeMode]) -> list[JudgeVerdict]:
        """Verdicts on each of ``modes`` for ``trace``."""
        document, texts = transcript(trace), _texts(trace)
        shown = _shown_steps(document)
        return [self.ask(trace, mode, document, texts, shown) for mode in modes]

    def finding(self, trace: Trace, verdict: JudgeVerdict) -> Finding | None:
        """The finding an accepted ``present`` verdict makes (None for any other)."""
        if verdict.status != "accepted" or verdict.label != "present":
            return None
        step = verdict.cited_step
        mode = JUDGE_MODES[verdict.mode]
        span = trace.spans[step] if step is not None else None
        step_text = (span.output_text or span.input_text or span.name) if span else None
        return finding(
            trace,
            NAME,
            mode.name,
            step,
            mode.severity,
            {
                "label": "present",
                "explanation": quote(verdict.explanation, 600),
                "cited_step": step,
                "step_text": quote(step_text),
                "model": self.config.model,
                "span_ids": [span.span_id] if span else [],
            },
        )


def _content(response: dict[str, Any]) -> str | None:
    """The assistant message's text in a chat-completions response (None if missing)."""
    try:
        content = response["choices"][0]["message"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    return content if isinstance(content, str) else None


def _tokens(response: dict[str, Any]) -> tuple[int, int]:
    """(prompt, completion) tokens of a response's ``usage`` (0 where not reported)."""
    usage = response.get("usage")
    if not isinstance(usage, dict):
        return 0, 0

    def count(key: str) -> int:
        value = usage.get(key)
        return value if isinstance(value, int) and value >= 0 else 0

    return count("prompt_tokens"), count("completion_tokens")


def resolve_modes(names: list[str] | None) -> list[JudgeMode]:
    """The judge modes called ``names`` (all when empty); ValueError on an unknown one."""
    if not names:
        return list(JUDGE_MODES.values())
    unknown = [n for n in names if n not in JUDGE_MODES]
    if unknown:
        raise ValueError(
            f"unknown judge mode {', '.join(map(repr, unknown))}; "
            f"use one of: {', '.join(JUDGE_MODES)}"
        )
    return [JUDGE_MODES[n] for n in dict.fromkeys(names)]


def run_judge(
    store: Store,
    config: JudgeConfig,
    modes: list[str] | None = None,
    *,
    since: datetime | None = None,
    run_id: str | None = None,
    rerun: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> JudgeSummary:
    """Judge the runs not yet judged on ``modes`` (default: all of :data:`JUDGE_MODES`),
    started at or after ``since`` (only ``run_id`` if given); store findings and verdicts.

    ``progress(done, total)`` is called after each batch of runs.
    """
    chosen = resolve_modes(modes)
    judge = Judge(config)
    summary = JudgeSummary(model=config.model)
    marks = [bookkeeping_name(m.name) for m in chosen]
    pending = pending_count(store, marks, since=since, run_id=run_id, rerun=rerun)
    total = store.con.execute(
        "SELECT count(*) FROM runs "
        "WHERE (? IS NULL OR started_at >= ?) AND (? IS NULL OR run_id = ?)",
        [since, since, run_id, run_id],
    ).fetchone()
    summary.skipped = (int(total[0]) if total else 0) - pending
    done = set() if rerun else judged(store, marks)

    def work(trace: Trace) -> tuple[Trace, list[JudgeVerdict]]:
        if not trace.spans:
            return trace, []  # nothing to show a judge; marked judged below
        todo = [m for m in chosen if (trace.project, trace.run_id, m.name) not in done]
        return trace, judge.judge(trace, todo)

    traces = load_traces(store, marks, since=since, run_id=run_id, rerun=rerun)
    with ThreadPoolExecutor(max_workers=config.concurrency) as pool:
        for batch in _batches(traces, BATCH_RUNS):
            results = list(pool.map(work, batch))
            verdicts = [v for _, vs in results for v in vs]
            found = [f for t, vs in results for v in vs if (f := judge.finding(t, v))]
            store_batch(store, verdicts, found, config.model)
            mark_empty(store, [t for t, _ in results if not t.spans], marks)
            for _, verdicts in results:
                for verdict in verdicts:
                    summary.add(verdict)
            summary.runs += len(results)
            if progress is not None:
                progress(summary.runs, pending)
            fatal = next(
                (v for _, vs in results for v in vs if v.http_status in FATAL_STATUSES), None
            )
            if fatal is not None:
                raise JudgeUnavailableError(
                    f"the judge at {config.base_url} refused a request ({fatal.reason}); check "
                    "--base-url, --model and OPENAI_API_KEY. Runs judged so far are kept; "
                    "the rest are judged by the next call"
                )
    return summary


def _batches(traces: Iterator[Trace], size: int) -> Iterator[list[Trace]]:
    batch: list[Trace] = []
    for trace in traces:
        batch.append(trace)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
