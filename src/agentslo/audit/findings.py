"""An audit's findings for the store: one per exploit that scored on a task, one per
failed check, with stable ids so a re-audit replaces the suite's earlier findings."""

from __future__ import annotations

import hashlib
from typing import Any

from agentslo.audit.report import AuditReport
from agentslo.model import Finding
from agentslo.store import Store

__all__ = ["DETECTOR", "audit_findings", "replace_findings"]

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
                "transcript_head": cell.message[:300],
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


def replace_findings(store: Store, report: AuditReport, findings: list[Finding]) -> int:
    """Write ``findings``, then delete this suite's earlier audit findings not among them.

    A task that an exploit scored on before a fix, and no longer does, must not
    keep its old finding; findings of other suites and detectors are untouched.
    The new findings are written first (a finding with the same id replaces the
    old one), so a failed write leaves the earlier findings as they were; only
    once they are in are the ones this audit no longer has removed.
    """
    if findings:
        store.write_records(findings)
    kept = [f.finding_id for f in findings]
    keep = f" AND finding_id NOT IN ({', '.join('?' * len(kept))})" if kept else ""
    for project in sorted({f.project for f in findings} | {"default"}):
        store.con.execute(
            "DELETE FROM findings WHERE project = ? AND detector = ? "
            f"AND json_extract_string(evidence, '$.suite') = ?{keep}",
            [project, DETECTOR, report.suite, *kept],
        )
    return len(findings)
