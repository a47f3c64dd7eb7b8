"""Redaction of message contents before they are stored.

Contents are stored only when the user asks for them (``--capture-content``), and
even then secrets and e-mail addresses are replaced by ``[REDACTED:<kind>]``. The
default patterns cover the common credential shapes; users add their own
(``--redact REGEX``) or switch the defaults off.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_PATTERNS", "Redactor"]

#: kind -> regular expression. Order matters: the first match of a region wins.
DEFAULT_PATTERNS: Final[dict[str, str]] = {
    "private_key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
    "jwt": r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    "bearer": r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}",
    "api_key": (
        r"\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}"
        r"|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|aslo_[A-Za-z0-9_]{20,})"
    ),
    "secret": r"(?i)\b(?:password|passwd|secret|token|api[_-]?key)\b\s*[:=]\s*[^\s,;\"']{4,}",
    "email": r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b",
}


@dataclass(frozen=True)
class Redactor:
    """Replace every match of the patterns with ``[REDACTED:<kind>]``."""

    patterns: tuple[tuple[str, re.Pattern[str]], ...]

    @classmethod
    def build(cls, extra: Sequence[str] = (), *, defaults: bool = True) -> Redactor:
        """The default patterns (unless ``defaults`` is False) plus ``extra`` regexes."""
        compiled: list[tuple[str, re.Pattern[str]]] = []
        if defaults:
            compiled += [(k, re.compile(p)) for k, p in DEFAULT_PATTERNS.items()]
        for i, pattern in enumerate(extra):
            try:
                compiled.append((f"custom{i + 1}", re.compile(pattern)))
            except re.error as exc:
                raise ValueError(
                    f"--redact {pattern!r}: not a valid regular expression ({exc})"
                ) from exc
        return cls(tuple(compiled))

    @property
    def kinds(self) -> Iterable[str]:
        return (k for k, _ in self.patterns)

    def __call__(self, text: str) -> str:
        for kind, pattern in self.patterns:
            text = pattern.sub(f"[REDACTED:{kind}]", text)
        return text
