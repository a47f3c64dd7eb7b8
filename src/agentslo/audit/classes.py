"""The vulnerability classes an exploit probes (the 2026 benchmark audit's taxonomy)."""

from __future__ import annotations

from typing import Final

__all__ = ["VULNERABILITY_CLASSES"]

#: Class id -> what it means.
VULNERABILITY_CLASSES: Final = {
    "V1": "no isolation between agent and evaluator",
    "V2": "answers shipped with the test",
    "V3": "eval/exec on untrusted input",
    "V4": "unsanitised LLM judge",
    "V5": "weak string matching",
    "V6": "evaluation logic gaps (error paths that default to pass)",
    "V7": "trusting output of code the agent controls",
    "V8": "excess permissions (network, root)",
}
