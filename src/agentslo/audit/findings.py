"""An audit's findings for the store: one per exploit that scored on a task, one per
failed check, with stable ids so a re-audit replaces the suite's earlier findings."""

from __future__ import annotations

import hashlib
from typing import Any

from agentslo.audit.report import AuditReport
from agentslo.model import Finding

__all__ = ["DETECTOR", "audit_findings"]

DETECTOR = "audit"


def _id(project: str, suite: str, mode: str, subject: str) -> str:
    key = "\x1f".join([project, DETECTOR, suite, mode, subject])
    return hashlib.sha1(key.encode()).hexdigest()


def audit_findings(report: AuditReport, project: str = "default") -> list[Finding]:
    """Findings of ``report``: ``mode`` is the exploit or check name, evidence says what."""
    found = []
    for result in report.exploits:
        for task in result.scored_tasks:
            cell = result.tasks[task]
            evidence: dict[str, Any] = {
                "suite": report.suite,
                "task_id": task,
                "exploit": result.exploit.name,
                "classes": list(result.exploit.classes),
                "scored": f"passed {cell.passed} of {cell.trials} trials without doing the task",
                "tries": result.exploit.tries,
                "agent_message": cell.message[:300],
                "trial_run_id": cell.run_id,
            }
            found.append(
                Finding(
                    project=project,
                    finding_id=_id(project, report.suite, result.exploit.name, task),
                    detector=DETECTOR,
                    mode=result.exploit.name,
                    severity="high",
                    agent=f"audit:{result.exploit.name}",
                    evidence=evidence,
                )
            )
    for check in report.checks:
        if check.holds:
            continue
        found.append(
            Finding(
                project=project,
                finding_id=_id(project, report.suite, check.name, ""),
                detector=DETECTOR,
                mode=check.name,
                severity="high",
                evidence={
                    "suite": report.suite,
                    "check": check.name,
                    "changed": check.detail,
                    "evidence": list(check.evidence[:50]),
                },
            )
        )
    return found
