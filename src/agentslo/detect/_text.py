"""Text helpers shared by the detectors: tokens, similarity, and the constraints and
entities of an instruction (numbers, ids, amounts, dates, must/never clauses).

Everything here is lexical and deterministic: the same text gives the same tokens
on every machine, so a finding can be reproduced from its evidence.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Final

__all__ = ["Constraint", "constraints", "cosine", "entities", "mentions", "quote", "tokens"]

_WORD: Final = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
_STOP: Final = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "you",
        "your",
        "we",
        "our",
        "they",
        "them",
        "their",
        "he",
        "she",
        "his",
        "her",
        "not",
        "no",
        "do",
        "does",
        "did",
        "can",
        "could",
        "should",
        "would",
        "may",
        "might",
        "please",
        "then",
        "than",
        "so",
        "if",
    ]
)
#: Money, dates, ids and plain numbers, most specific first.
_ENTITY: Final = re.compile(
    r"(?P<amount>[$€£]\s?\d[\d,]*(?:\.\d+)?|\d[\d,]*(?:\.\d+)?\s?(?:usd|eur|gbp|dollars?))"
    r"|(?P<date>\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})"
    r"|(?P<id>\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z][A-Za-z0-9_-]{2,}\b"
    r"|#\d+)"
    r"|(?P<number>\b\d+(?:[.,]\d+)*\b)",
    re.IGNORECASE,
)
_CLAUSE: Final = re.compile(
    r"\b(?P<kind>must not|must|never|do not|don't|always|only|without|at most|at least"
    r"|no more than)\b(?P<rest>[^.;\n]{3,120})",
    re.IGNORECASE,
)
_NEGATIVE: Final = frozenset({"must not", "never", "do not", "don't", "without"})


def tokens(text: str | None) -> list[str]:
    """Lower-case content words of ``text`` (stop words dropped)."""
    if not text:
        return []
    return [t for t in _WORD.findall(text.lower()) if t not in _STOP]


def cosine(a: str | None, b: str | None) -> float:
    """Cosine similarity of the word counts of ``a`` and ``b`` (0 when either is empty)."""
    ca, cb = Counter(tokens(a)), Counter(tokens(b))
    if not ca or not cb:
        return 0.0
    dot = sum(n * cb[t] for t, n in ca.items())
    return dot / (
        math.sqrt(sum(n * n for n in ca.values())) * math.sqrt(sum(n * n for n in cb.values()))
    )


def _normal(value: str) -> str:
    """An entity as compared: lower case, without spaces, thousands separators or '#'."""
    return re.sub(r"[\s,#]", "", value.lower())


def entities(text: str | None) -> dict[str, str]:
    """Entities of ``text``: normalised value -> kind (amount, date, id, number).

    Single-digit numbers are left out: they are list markers and step counts far
    more often than facts a hand-off must carry.
    """
    found: dict[str, str] = {}
    for match in _ENTITY.finditer(text or ""):
        kind = match.lastgroup or "number"
        value = match.group(0)
        if kind == "number" and len(value) < 2:
            continue
        found.setdefault(_normal(value), kind)
    return found


def mentions(text: str | None, entity: str) -> bool:
    """Whether ``text`` carries ``entity`` (a normalised value from :func:`entities`)."""
    return entity in _normal(text or "") or entity in entities(text)


@dataclass(frozen=True)
class Constraint:
    """A must/never clause of an instruction."""

    text: str
    negative: bool
    #: The clause's content words: what a step must (not) do.
    words: tuple[str, ...]


def constraints(text: str | None) -> list[Constraint]:
    """The must/never/always/only clauses of ``text``."""
    out: list[Constraint] = []
    for match in _CLAUSE.finditer(text or ""):
        kind = match.group("kind").lower()
        words = tuple(dict.fromkeys(tokens(match.group("rest"))))
        if words:
            out.append(Constraint(match.group(0).strip(), kind in _NEGATIVE, words))
    return out


def quote(text: str | None, limit: int = 240) -> str:
    """``text`` shortened to ``limit`` characters for a finding's evidence."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
