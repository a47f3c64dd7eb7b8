"""``agentslo.audit``: prove that an evaluation cannot be gamed.

The exploit battery (scripted adversarial agents in
:mod:`agentslo.agents.exploits`, each tagged with the vulnerability classes V1-V8
it probes) runs against a registered suite through the real trials harness, and
the suite's validity checks say whether "no exploit scored" means anything:
every oracle passes, do-nothing and the initial state fail, protected files are
unchanged, nothing agent-written was executed. Imported benchmark results (a
tau-bench trajectory file, or any benchmark with a registered rule) are audited
for the tasks a do-nothing agent would pass. See docs/audit.md.
"""

from agentslo.audit.battery import BATTERY, Exploit, exploit_named
from agentslo.audit.classes import VULNERABILITY_CLASSES
from agentslo.audit.findings import DETECTOR, audit_findings
from agentslo.audit.imported import (
    AuditInputError,
    DomainTools,
    GoldAction,
    GoldTask,
    ImportedAudit,
    ImportedRecord,
    ImportedRule,
    RecordError,
    RecordProblem,
    TaskVerdict,
    UnclassifiedTask,
    audit_imported,
    imported_findings,
    imported_rule,
    register_rule,
    registered_benchmarks,
    unregister_rule,
)
from agentslo.audit.report import AuditReport, CellResult, ExploitResult, ValidityCheck
from agentslo.audit.run import AuditConfig, run_audit, total_trials

__all__ = [
    "BATTERY",
    "DETECTOR",
    "VULNERABILITY_CLASSES",
    "AuditConfig",
    "AuditInputError",
    "AuditReport",
    "CellResult",
    "DomainTools",
    "Exploit",
    "ExploitResult",
    "GoldAction",
    "GoldTask",
    "ImportedAudit",
    "ImportedRecord",
    "ImportedRule",
    "RecordError",
    "RecordProblem",
    "TaskVerdict",
    "UnclassifiedTask",
    "ValidityCheck",
    "audit_findings",
    "audit_imported",
    "exploit_named",
    "imported_findings",
    "imported_rule",
    "register_rule",
    "registered_benchmarks",
    "run_audit",
    "total_trials",
    "unregister_rule",
]
