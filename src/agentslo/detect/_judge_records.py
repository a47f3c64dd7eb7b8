"""What the judge said about a run, and what a judge call did: plain records shared by
the judge, the code that stores its verdicts, and the command line."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["JudgeSummary", "JudgeVerdict"]


@dataclass(frozen=True)
class JudgeVerdict:
    """What came of asking about one mode of one run."""

    project: str
    run_id: str
    mode: str
    #: ``accepted``, ``rejected`` (failed a check) or ``error`` (no answer).
    status: str
    reason: str | None = None
    label: str | None = None
    cited_step: int | None = None
    explanation: str | None = None
    #: The raw answer (shortened), kept for rejected ones so a person can see why.
    answer: str | None = None
    #: Tokens the request used, as the server reported them (0 when it did not).
    input_tokens: int = 0
    output_tokens: int = 0
    #: The HTTP status of a failed request (None: no answer at all).
    http_status: int | None = None


@dataclass
class JudgeSummary:
    """What a judge call did: runs judged, and verdicts per mode by outcome."""

    model: str
    runs: int = 0
    skipped: int = 0
    accepted: Counter[str] = field(default_factory=Counter)
    present: Counter[str] = field(default_factory=Counter)
    rejected: dict[str, Counter[str]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    input_tokens: int = 0
    output_tokens: int = 0
    #: The first failed request's message (a wrong model or key fails every request).
    first_error: str | None = None

    def add(self, verdict: JudgeVerdict) -> None:
        self.input_tokens += verdict.input_tokens
        self.output_tokens += verdict.output_tokens
        if verdict.status == "error" and self.first_error is None:
            self.first_error = verdict.reason
        if verdict.status == "accepted":
            self.accepted[verdict.mode] += 1
            self.present[verdict.mode] += verdict.label == "present"
        elif verdict.status == "rejected":
            self.rejected.setdefault(verdict.mode, Counter())[verdict.reason or "?"] += 1
        else:
            self.errors[verdict.mode] += 1

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data."""
        modes = sorted({*self.accepted, *self.rejected, *self.errors})
        return {
            "model": self.model,
            "runs_judged": self.runs,
            "runs_skipped": self.skipped,
            "modes": {
                m: {
                    "accepted": self.accepted[m],
                    "present": self.present[m],
                    "rejected": dict(sorted(self.rejected.get(m, Counter()).items())),
                    "errors": self.errors[m],
                }
                for m in modes
            },
            "total_rejected": sum(sum(c.values()) for c in self.rejected.values()),
            "total_errors": sum(self.errors.values()),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "first_error": self.first_error,
        }
