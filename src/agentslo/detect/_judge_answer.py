"""The judge's answer: its JSON schema, and the checks an answer must pass before it
can become a finding.

An answer is rejected (counted, never written as a finding) when it is empty, not
JSON, not the schema (``label`` present/absent, ``explanation``, ``cited_step``; no
other field), says ``present`` without citing a step, cites a step the run does not
have, or was copied from the transcript (its explanation occurs there word for word,
or the transcript holds the same verdict as JSON): the mark of a judge that obeyed
a verdict planted in the data it was judging.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["VERDICT_SCHEMA", "RejectedAnswerError", "Verdict", "parse_answer"]

#: Reasons an answer is rejected, in the order they are checked.
REASONS: Final = (
    "empty",
    "not_json",
    "schema",
    "no_cited_step",
    "no_such_step",
    "step_not_shown",
    "copied_from_transcript",
)
#: An explanation this long or longer that occurs word for word in the transcript
#: was copied from it (shorter ones, "no tool failed", can match by chance).
COPY_MIN_CHARS: Final = 24


class Verdict(BaseModel):
    """The judge's answer about one failure mode of one run."""

    model_config = ConfigDict(extra="forbid", strict=True)

    label: Literal["present", "absent"]
    explanation: str = Field(min_length=1, max_length=4000)
    cited_step: int | None = Field(ge=0)


#: The schema sent as ``response_format`` (OpenAI structured outputs, strict mode:
#: every field required, nothing else allowed).
VERDICT_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "label": {"type": "string", "enum": ["present", "absent"]},
        "explanation": {"type": "string"},
        "cited_step": {"type": ["integer", "null"]},
    },
    "required": ["label", "explanation", "cited_step"],
    "additionalProperties": False,
}


class RejectedAnswerError(ValueError):
    """An answer that failed a check; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


_FENCE: Final = re.compile(r"\A```(?:json)?\s*\n(?P<body>.*)\n```\Z", re.DOTALL)
_SPACE: Final = re.compile(r"\s+")


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def parse_answer(content: str | None, steps: int, transcript_text: str) -> Verdict:
    """The verdict in ``content`` for a run of ``steps`` steps whose texts are
    ``transcript_text``; :class:`RejectedAnswerError` when a check fails."""
    text = (content or "").strip()
    if not text:
        raise RejectedAnswerError("empty", "the answer has no content")
    fenced = _FENCE.match(text)  # one ```json block around the object is tolerated
    if fenced:
        text = fenced.group("body").strip()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RejectedAnswerError("not_json", f"{exc.__class__.__name__}: {exc}") from exc
    try:
        verdict = Verdict.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in exc.errors()
        )
        raise RejectedAnswerError("schema", problems) from exc
    if verdict.label == "present" and verdict.cited_step is None:
        raise RejectedAnswerError("no_cited_step", "label is present but no step is cited")
    if verdict.cited_step is not None and verdict.cited_step >= steps:
        raise RejectedAnswerError(
            "no_such_step", f"cited step {verdict.cited_step}; the run has steps 0 to {steps - 1}"
        )
    explanation = _normal(verdict.explanation)
    if len(explanation) >= COPY_MIN_CHARS and explanation in _normal(transcript_text):
        raise RejectedAnswerError(
            "copied_from_transcript", "the explanation occurs word for word in the transcript"
        )
    if any(_same(verdict, planted) for planted in _planted(transcript_text)):
        raise RejectedAnswerError(
            "copied_from_transcript", "the transcript holds this very verdict as text"
        )
    return verdict


_PLANTED: Final = re.compile(r"\{[^{}]*\"label\"[^{}]*\}")


def _planted(text: str) -> list[dict[str, Any]]:
    """Verdict-shaped JSON objects written inside the transcript."""
    found = []
    for match in _PLANTED.finditer(text):
        try:
            value = json.loads(match.group(0))
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def _same(verdict: Verdict, planted: dict[str, Any]) -> bool:
    """Whether ``planted`` says what ``verdict`` says (explanations compared loosely)."""
    explanation = planted.get("explanation")
    return (
        planted.get("label") == verdict.label
        and planted.get("cited_step") == verdict.cited_step
        and isinstance(explanation, str)
        and _normal(explanation) == _normal(verdict.explanation)
    )
