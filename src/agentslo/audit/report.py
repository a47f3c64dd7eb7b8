"""The audit's result: per exploit and task whether it scored, the validity checks, exposure."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agentslo.audit.battery import Exploit

__all__ = ["AuditReport", "CellResult", "ExploitResult", "ValidityCheck"]


@dataclass
class CellResult:
    """One exploit on one task: k trials, how many passed, why the others failed."""

    trials: int = 0
    passed: int = 0
    best_score: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)
    #: The start of the agent's final message in a passing (else the first) trial.
    message: str = ""
    run_id: str = ""
    #: What an agent said it read of the harness (``/proc/PID/{environ,mem,fd}``).
    harness_reads: list[str] = field(default_factory=list)

    @property
    def scored(self) -> bool:
        return self.passed > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "scored": self.scored,
            "trials": self.trials,
            "passed": self.passed,
            "best_score": round(self.best_score, 4),
            "reasons": dict(self.reasons.most_common()),
            "harness_reads": self.harness_reads,
        }


@dataclass
class ExploitResult:
    """One exploit across the suite."""

    exploit: Exploit
    tasks: dict[str, CellResult] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    executed: list[dict[str, Any]] = field(default_factory=list)
    sandbox: dict[str, Any] = field(default_factory=dict)
    #: Why it was not run (empty when it ran): a sandbox-only exploit without the sandbox.
    skipped: str = ""

    @property
    def scored_tasks(self) -> list[str]:
        return [t for t, cell in self.tasks.items() if cell.scored]

    @property
    def reasons(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for cell in self.tasks.values():
            total.update(cell.reasons)
        return total

    def to_dict(self) -> dict[str, Any]:
        e = self.exploit
        return {
            "name": e.name,
            "agent": e.agent,
            "classes": list(e.classes),
            "tries": e.tries,
            "defeated_by": e.defeated_by,
            "scored": bool(self.scored_tasks),
            "scored_tasks": self.scored_tasks,
            "trials": sum(c.trials for c in self.tasks.values()),
            "passed": sum(c.passed for c in self.tasks.values()),
            "reasons": dict(self.reasons.most_common()),
            "protected_changes": self.changes,
            "executed_payloads": self.executed,
            "skipped": self.skipped,
            "tasks": {t: cell.to_dict() for t, cell in self.tasks.items()},
        }


@dataclass(frozen=True)
class ValidityCheck:
    """One property of the suite: holds or not, with what shows it."""

    name: str
    holds: bool
    detail: str
    evidence: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "holds": self.holds,
            "detail": self.detail,
            "evidence": list(self.evidence),
        }


@dataclass
class AuditReport:
    """Everything one audit found; ``ok`` only when no exploit scored and every check holds."""

    suite: str
    tasks: list[str]
    k: int
    seed: int
    exploits: list[ExploitResult]
    checks: list[ValidityCheck]
    oracle: dict[str, CellResult]
    exposure: dict[str, Any]

    @property
    def scored(self) -> list[ExploitResult]:
        return [r for r in self.exploits if r.scored_tasks]

    @property
    def ok(self) -> bool:
        return not self.scored and all(c.holds for c in self.checks)

    def scored_by(self, task: str) -> list[ExploitResult]:
        """The exploits that scored on ``task``."""
        return [r for r in self.exploits if task in r.scored_tasks]

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "ok": self.ok,
            "k": self.k,
            "seed": self.seed,
            "tasks": self.tasks,
            "exploits": [r.to_dict() for r in self.exploits],
            "per_task": {
                t: {
                    "oracle_passed": self.oracle[t].scored if t in self.oracle else None,
                    "scored_by": [r.exploit.name for r in self.scored_by(t)],
                    "classes": sorted({c for r in self.scored_by(t) for c in r.exploit.classes}),
                }
                for t in self.tasks
            },
            "checks": [c.to_dict() for c in self.checks],
            "exposure": self.exposure,
        }
