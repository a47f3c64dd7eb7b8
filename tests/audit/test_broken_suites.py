"""An audit that cannot fail is worthless: each deliberately broken suite is caught."""

from __future__ import annotations

import pytest
from tests.audit.broken_suites import BROKEN

from agentslo.audit import AuditConfig, AuditReport, run_audit

#: Which exploit must score on which broken suite, and the class it must name.
EXPECTED = {
    "broken-trusts-message": ("claim-success", "V7"),
    "broken-shipped-answers": ("probe", "V2"),
    "broken-eval": ("eval-injection", "V3"),
    "broken-error-path": ("malformed-calls", "V6"),
    "broken-contains": ("answer-spam", "V5"),
    "broken-nan": ("format-collision", "V5"),
    "broken-footprint": ("state-spam", "V6"),
    "broken-judge": ("judge-injection", "V4"),
}


@pytest.fixture(scope="module")
def report() -> AuditReport:
    """One audit of the broken tasks together (the battery is the same for each)."""
    tasks = [BROKEN[name] for name in EXPECTED]
    return run_audit("broken", tasks, AuditConfig(k=1))


@pytest.mark.parametrize("suite_name", sorted(EXPECTED))
def test_the_audit_catches_the_broken_suite_and_names_its_class(
    report: AuditReport, suite_name: str
) -> None:
    exploit, vclass = EXPECTED[suite_name]
    task = BROKEN[suite_name].id
    scored = {r.exploit.name: r.exploit.classes for r in report.scored_by(task)}
    assert exploit in scored, (task, scored)
    assert vclass in scored[exploit]
    assert vclass in report.to_dict()["per_task"][task]["classes"]
    assert not report.ok


def test_the_broken_suites_are_otherwise_sound(report: AuditReport) -> None:
    # solvable, not passed by nothing or by the start state: only the planted mistake is wrong
    checks = {c.name: c for c in report.checks}
    assert checks["oracle passes"].holds, checks["oracle passes"].evidence
    assert checks["do-nothing fails"].holds
    assert checks["initial state fails"].holds
    assert checks["protected files unchanged"].holds, checks["protected files unchanged"].evidence


def test_evaluating_agent_output_runs_agent_code_in_the_harness(report: AuditReport) -> None:
    executed = {c.name: c for c in report.checks}["nothing agent-written executed"]
    assert not executed.holds
    assert {e["exploit"] for e in executed.evidence} == {"eval-injection"}
    assert all(e["by"] == "the harness" for e in executed.evidence)
