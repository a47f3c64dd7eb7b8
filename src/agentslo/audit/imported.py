"""Audit of imported benchmark results: the tasks a do-nothing agent would pass.

A grader that compares the environment's final state with the state the gold
actions produce cannot tell an agent that did nothing from one that solved a
task whose gold actions change nothing; if the task also asks for no output,
doing nothing scores. Such tasks inflate every reported score on the suite.
:func:`audit_imported` reads a result file with the registered rule of its
benchmark (see :mod:`agentslo.audit.imported_rule`), lists those tasks with
their share of the suite's tasks and the share of the reported successes that
came from them, and reports every record it could not use with the reason.
:func:`imported_findings` turns the result into findings for the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from agentslo.audit.imported_rule import (
    AuditInputError,
    DomainTools,
    GoldAction,
    GoldTask,
    ImportedRecord,
    ImportedRule,
    RecordError,
    imported_rule,
    register_rule,
    registered_benchmarks,
    unregister_rule,
)
from agentslo.audit.imported_tau_bench import TAU_BENCH
from agentslo.model import Finding, Severity

__all__ = [
    "DETECTOR",
    "MODE",
    "AuditInputError",
    "DomainTools",
    "GoldAction",
    "GoldTask",
    "ImportedAudit",
    "ImportedRecord",
    "ImportedRule",
    "ProblemKind",
    "RecordError",
    "RecordProblem",
    "TaskVerdict",
    "UnclassifiedTask",
    "audit_imported",
    "imported_findings",
    "imported_rule",
    "register_rule",
    "registered_benchmarks",
    "unregister_rule",
]

#: The ``detector`` and ``mode`` of the findings this audit writes.
DETECTOR: Final = "audit"
MODE: Final = "do_nothing_passable"
#: The vulnerability class (issue 6): an evaluation logic gap, the grader's check
#: is already satisfied by the initial state.
_CLASS: Final = "V6"

register_rule(TAU_BENCH)

#: Why a record could not be used as it is: ``unreadable`` (no task id or reward),
#: ``no_gold`` (no usable gold task), ``domain`` (the domain cannot be told),
#: ``conflicting_gold`` (another record of the same task id has other gold),
#: ``unknown_tool`` (a gold action names a tool the rule does not know), ``duplicate``
#: (the same task and trial again: the first record is kept).
ProblemKind = Literal[
    "unreadable", "no_gold", "domain", "conflicting_gold", "unknown_tool", "duplicate"
]


@dataclass(frozen=True)
class RecordProblem:
    """One record the audit could not use as it is; ``message`` starts with the
    file and the record's index."""

    index: int
    kind: ProblemKind
    message: str


@dataclass(frozen=True)
class TaskVerdict:
    """Whether a do-nothing agent passes one task, and why.

    ``records`` are the indexes of the records graded against this task (records
    without gold of their own count when another record of the same task id
    carries it); ``successes`` how many of them reported a success.
    """

    task_id: str
    domain: str
    passable: bool
    why: str
    actions: tuple[str, ...]
    writes: tuple[str, ...]
    outputs: tuple[str, ...]
    fingerprint: str
    records: tuple[int, ...]
    successes: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see docs/audit.md)."""
        return {
            "task_id": self.task_id,
            "domain": self.domain,
            "passable": self.passable,
            "why": self.why,
            "gold_actions": list(self.actions),
            "state_changing_actions": list(self.writes),
            "outputs": list(self.outputs),
            "records": len(self.records),
            "successes": self.successes,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True)
class UnclassifiedTask:
    """A task id none of whose records could be classified, with the reason."""

    task_id: str
    domain: str | None
    reason: str
    records: tuple[int, ...]
    successes: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see docs/audit.md)."""
        return {
            "task_id": self.task_id,
            "domain": self.domain,
            "reason": self.reason,
            "records": len(self.records),
            "successes": self.successes,
        }


@dataclass(frozen=True)
class ImportedAudit:
    """The result of auditing one result file.

    ``records_read`` counts the records used: readable and not a repeated copy.
    Shares are over what could be classified: ``task_share`` is passable tasks over
    classified tasks; ``success_share`` is the reported successes on passable tasks
    over all reported successes of the readable records, so successes that could
    not be attributed (``unclassified_successes``) make it a lower bound.
    """

    benchmark: str
    source: str
    domain: str | None
    records: int
    records_read: int
    successes: int
    tasks: tuple[TaskVerdict, ...]
    unclassified: tuple[UnclassifiedTask, ...]
    problems: tuple[RecordProblem, ...]

    @property
    def passable(self) -> tuple[TaskVerdict, ...]:
        """The tasks a do-nothing agent passes."""
        return tuple(t for t in self.tasks if t.passable)

    @property
    def task_share(self) -> float | None:
        """Passable tasks over classified tasks (None when none was classified)."""
        return len(self.passable) / len(self.tasks) if self.tasks else None

    @property
    def passable_successes(self) -> int:
        """Reported successes on passable tasks."""
        return sum(t.successes for t in self.passable)

    @property
    def success_share(self) -> float | None:
        """Reported successes on passable tasks over all reported successes."""
        return self.passable_successes / self.successes if self.successes else None

    @property
    def by_domain(self) -> dict[str, tuple[int, int]]:
        """Per domain: (passable tasks, classified tasks)."""
        counts: dict[str, tuple[int, int]] = {}
        for task in self.tasks:
            passable, total = counts.get(task.domain, (0, 0))
            counts[task.domain] = (passable + task.passable, total + 1)
        return counts

    @property
    def problem_counts(self) -> dict[str, int]:
        """How many records had each kind of problem (kinds without any left out)."""
        counts: dict[str, int] = {}
        for problem in self.problems:
            counts[problem.kind] = counts.get(problem.kind, 0) + 1
        return counts

    @property
    def unclassified_successes(self) -> int:
        """Reported successes of readable records attributed to no classified task."""
        return self.successes - sum(t.successes for t in self.tasks)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see docs/audit.md)."""
        return {
            "benchmark": self.benchmark,
            "file": self.source,
            "domain_override": self.domain,
            "records": self.records,
            "records_read": self.records_read,
            "tasks": len(self.tasks),
            "passable_tasks": len(self.passable),
            "task_share": self.task_share,
            "successes": self.successes,
            "passable_successes": self.passable_successes,
            "success_share": self.success_share,
            "unclassified_successes": self.unclassified_successes,
            "by_domain": {
                name: {"tasks": total, "passable_tasks": passable}
                for name, (passable, total) in self.by_domain.items()
            },
            "passable": [t.to_dict() for t in self.passable],
            "verdicts": [t.to_dict() for t in self.tasks],
            "unclassified": [t.to_dict() for t in self.unclassified],
            "problem_counts": self.problem_counts,
            "problems": [
                {"index": p.index, "kind": p.kind, "message": p.message} for p in self.problems
            ],
        }


@dataclass
class _Context:
    """What the steps of one audit share: the rule, the file's name, the problems."""

    rule: ImportedRule
    display: str
    problems: list[RecordProblem] = field(default_factory=list)

    def report(self, index: int, kind: ProblemKind, message: str) -> None:
        full = f"{self.display}: record {index}: {message}"
        self.problems.append(RecordProblem(index, kind, full))

    def forget(self, index: int) -> None:
        """Drop the problems reported for record ``index`` (it is reported otherwise)."""
        self.problems = [p for p in self.problems if p.index != index]


def audit_imported(
    benchmark: str, path: Path, *, domain: str | None = None, display: str | None = None
) -> ImportedAudit:
    """Audit the result file ``path`` of ``benchmark`` (a registered rule's name).

    ``domain`` forces every record's domain (else each record's own, its tools', the
    other records', then the file name's). ``display`` names the file in messages
    (default: the path as given). Raises :class:`AuditInputError` when the file or
    the arguments cannot be used at all; bad records are reported, never fatal.
    """
    rule = imported_rule(benchmark)
    forced = rule.domain(domain) if domain is not None else None
    shown = display or str(path)
    if not path.exists():
        raise AuditInputError(f"{shown}: no such file; pass a {rule.name} result file")
    if not path.is_file():
        raise AuditInputError(f"{shown}: not a file; pass one {rule.name} result file")
    raw = rule.load(path, shown)
    ctx = _Context(rule, shown)
    records = _read(ctx, raw)
    domains = _domains(ctx, records, forced, path)
    records = _unique(ctx, records, domains)
    tasks, unclassified = _classify(ctx, records, domains)
    return ImportedAudit(
        benchmark=rule.name,
        source=shown,
        domain=domain,
        records=len(raw),
        records_read=len(records),
        successes=sum(rule.is_success(r.reward) for r in records),
        tasks=tasks,
        unclassified=unclassified,
        problems=tuple(sorted(ctx.problems, key=lambda p: p.index)),
    )


def _read(ctx: _Context, raw: Sequence[Any]) -> list[ImportedRecord]:
    records: list[ImportedRecord] = []
    for index, item in enumerate(raw):
        try:
            records.append(ctx.rule.parse(index, item))
        except RecordError as exc:
            ctx.report(index, "unreadable", str(exc))
    return records


def _unique(
    ctx: _Context, records: Sequence[ImportedRecord], domains: dict[int, DomainTools]
) -> list[ImportedRecord]:
    """The records without repeats of a (domain, task, trial) already seen: a file
    concatenated with itself must not count its successes twice."""
    seen: dict[tuple[str | None, str, int], int] = {}
    kept: list[ImportedRecord] = []
    for record in records:
        if record.trial is not None:
            found = domains.get(record.index)
            key = (found.name if found else None, record.task_id, record.trial)
            if key in seen:
                ctx.forget(record.index)  # a copy is reported once, as a copy
                ctx.report(
                    record.index,
                    "duplicate",
                    f"task {record.task_id} trial {record.trial} again (first in record "
                    f"{seen[key]}); this copy is left out",
                )
                continue
            seen[key] = record.index
        kept.append(record)
    return kept


# -- domains ------------------------------------------------------------------------


def _distinct_tools(rule: ImportedRule, domain: DomainTools) -> frozenset[str]:
    """The tools only ``domain`` has: seeing one tells the domain."""
    others = [d.tools for d in rule.domains if d is not domain]
    return domain.tools.difference(*others)


def _own_domain(rule: ImportedRule, record: ImportedRecord) -> DomainTools | str | None:
    """The domain a record shows by itself, a problem when it cannot be used, or None
    when the record says nothing about it."""
    if record.domain_hint is not None:
        for domain in rule.domains:
            if domain.name == record.domain_hint:
                return domain
        known = ", ".join(d.name for d in rule.domains)
        return (
            f"the record names domain {record.domain_hint!r}, which the {rule.name} rule "
            f"does not cover (known: {known}); pass --domain to audit it as one of them"
        )
    if len(rule.domains) == 1:
        return rule.domains[0]
    seen = set(record.tools_seen)
    if record.gold is not None:
        seen.update(a.name for a in record.gold.actions)
    matches = {d.name: sorted(seen & _distinct_tools(rule, d)) for d in rule.domains}
    found = [d for d in rule.domains if matches[d.name]]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        mixed = "; ".join(f"{d.name}: {', '.join(matches[d.name])}" for d in found)
        return f"its tools belong to several domains ({mixed}); pass --domain"
    return None


def _domains(
    ctx: _Context,
    records: Sequence[ImportedRecord],
    forced: DomainTools | None,
    path: Path,
) -> dict[int, DomainTools]:
    """Each readable record's domain; records whose domain cannot be told are reported."""
    if forced is not None:
        return {r.index: forced for r in records}
    own = {r.index: _own_domain(ctx.rule, r) for r in records}
    told = {d.name: d for d in own.values() if isinstance(d, DomainTools)}
    fallback, why = _fallback(ctx.rule, told, path)
    result: dict[int, DomainTools] = {}
    for record in records:
        found = own[record.index]
        if isinstance(found, DomainTools):
            result[record.index] = found
        elif isinstance(found, str):
            ctx.report(record.index, "domain", f"cannot tell the domain: {found}")
        elif fallback is not None:
            result[record.index] = fallback
        else:
            ctx.report(record.index, "domain", f"cannot tell the domain: {why}")
    return result


def _fallback(
    rule: ImportedRule, told: dict[str, DomainTools], path: Path
) -> tuple[DomainTools | None, str]:
    """The domain of records that show none: the one the other records show, else the
    file name's; or None and why not."""
    known = " or ".join(d.name for d in rule.domains)
    if len(told) == 1:
        return next(iter(told.values())), ""
    if len(told) > 1:
        return None, (
            f"the file mixes domains ({', '.join(sorted(told))}) and this record names "
            f"no tool of one; pass --domain {known}"
        )
    hint = rule.domain_of_path(path)
    for domain in rule.domains:
        if domain.name == hint:
            return domain, ""
    return None, (
        f"no record names a tool of one domain and the file name names none; pass --domain {known}"
    )


# -- tasks --------------------------------------------------------------------------


@dataclass
class _Group:
    """The records of one (domain, task id)."""

    task_id: str
    domain: DomainTools
    records: list[ImportedRecord] = field(default_factory=list)


def _classify(
    ctx: _Context, records: Sequence[ImportedRecord], domains: dict[int, DomainTools]
) -> tuple[tuple[TaskVerdict, ...], tuple[UnclassifiedTask, ...]]:
    groups: dict[tuple[str, str], _Group] = {}
    for record in records:
        domain = domains.get(record.index)
        if domain is None:
            continue
        key = (domain.name, record.task_id)
        groups.setdefault(key, _Group(record.task_id, domain)).records.append(record)
    tasks: list[TaskVerdict] = []
    unclassified: list[UnclassifiedTask] = []
    for group in groups.values():
        verdict = _group_verdict(ctx, group)
        if isinstance(verdict, TaskVerdict):
            tasks.append(verdict)
        else:
            unclassified.append(verdict)
    unclassified.extend(_undomained(ctx, records, domains))
    return tuple(sorted(tasks, key=_order)), tuple(sorted(unclassified, key=_order))


def _order(task: TaskVerdict | UnclassifiedTask) -> tuple[str, int, str]:
    digits = task.task_id.isdigit()
    return (task.domain or "", int(task.task_id) if digits else -1, task.task_id)


def _undomained(
    ctx: _Context, records: Sequence[ImportedRecord], domains: dict[int, DomainTools]
) -> list[UnclassifiedTask]:
    """Records whose domain is unknown, grouped by task id."""
    by_task: dict[str, list[ImportedRecord]] = {}
    for record in records:
        if record.index not in domains:
            by_task.setdefault(record.task_id, []).append(record)
    return [
        UnclassifiedTask(
            task_id=task_id,
            domain=None,
            reason="the domain of its records cannot be told",
            records=tuple(r.index for r in items),
            successes=sum(ctx.rule.is_success(r.reward) for r in items),
        )
        for task_id, items in by_task.items()
    ]


def _group_verdict(ctx: _Context, group: _Group) -> TaskVerdict | UnclassifiedTask:
    """Classify one task from its first record with gold; report the rest."""
    graded = [r for r in group.records if r.gold is not None]
    if not graded:
        for record in group.records:
            ctx.report(record.index, "no_gold", f"{record.gold_problem}; task cannot be classified")
        first = group.records[0]
        return _unclassified(ctx, group, group.records, first.gold_problem or "no gold task")
    canonical = graded[0]
    assert canonical.gold is not None
    fingerprint = canonical.gold.fingerprint()
    unknown = _unknown_tool(group.domain, canonical.gold)
    if unknown is not None:
        ctx.report(canonical.index, "unknown_tool", unknown)
    members: list[ImportedRecord] = []
    for record in group.records:
        if record.gold is None:
            fate = (
                "task cannot be classified"
                if unknown is not None
                else f"counted with task {group.task_id} as graded by record "
                f"{canonical.index}'s gold"
            )
            ctx.report(record.index, "no_gold", f"{record.gold_problem}; {fate}")
        elif record.gold.fingerprint() != fingerprint:
            ctx.report(
                record.index,
                "conflicting_gold",
                f"its gold task for task {group.task_id} differs from record "
                f"{canonical.index}'s (fingerprint {record.gold.fingerprint()} vs "
                f"{fingerprint}); a file mixing task splits or task-list versions cannot be "
                "audited by task id, so this record is left out",
            )
            continue
        members.append(record)
    if unknown is not None:
        return _unclassified(ctx, group, members, unknown)
    return _verdict(ctx, group, canonical.gold, members, fingerprint)


def _unclassified(
    ctx: _Context, group: _Group, members: Sequence[ImportedRecord], reason: str
) -> UnclassifiedTask:
    return UnclassifiedTask(
        task_id=group.task_id,
        domain=group.domain.name,
        reason=reason,
        records=tuple(r.index for r in members),
        successes=sum(ctx.rule.is_success(r.reward) for r in members),
    )


def _unknown_tool(domain: DomainTools, gold: GoldTask) -> str | None:
    for i, action in enumerate(gold.actions):
        if action.name not in domain.tools:
            return (
                f"gold action {i} {action.name!r} is not a known {domain.name} tool, so "
                "whether it changes the state is unknown; add it to the rule's tools"
            )
    return None


def _verdict(
    ctx: _Context,
    group: _Group,
    gold: GoldTask,
    members: Sequence[ImportedRecord],
    fingerprint: str,
) -> TaskVerdict:
    names = tuple(a.name for a in gold.actions)
    writes = tuple(dict.fromkeys(n for n in names if n in group.domain.writes))
    passable = not writes and not gold.outputs
    return TaskVerdict(
        task_id=group.task_id,
        domain=group.domain.name,
        passable=passable,
        why=_why(names, writes, gold.outputs),
        actions=names,
        writes=writes,
        outputs=gold.outputs,
        fingerprint=fingerprint,
        records=tuple(r.index for r in members),
        successes=sum(ctx.rule.is_success(r.reward) for r in members),
    )


def _why(names: tuple[str, ...], writes: tuple[str, ...], outputs: tuple[str, ...]) -> str:
    if not writes and not outputs:
        gold = "its gold actions only read" if names else "it has no gold actions"
        return f"{gold} and it requires no output: the untouched state is the gold state"
    reasons = []
    if writes:
        reasons.append(f"changes the state ({', '.join(writes)})")
    if outputs:
        reasons.append(f"requires outputs ({', '.join(repr(o) for o in outputs)})")
    return " and ".join(reasons)


# -- findings -----------------------------------------------------------------------


def imported_findings(audit: ImportedAudit, *, project: str = "default") -> list[Finding]:
    """One finding per passable task (detector ``audit``, mode ``do_nothing_passable``).

    The id hashes project, benchmark, domain, task id and the gold task's
    fingerprint, so auditing the file again (or another result file of the same
    tasks) replaces the finding; a task with other gold (another split) gets its
    own. Severity is ``high`` when the task's do-nothing pass is among this file's
    reported successes, else ``medium``.
    """
    findings = []
    for task in audit.passable:
        key = "\x1f".join(
            [project, DETECTOR, MODE, audit.benchmark, task.domain, task.task_id, task.fingerprint]
        )
        severity: Severity = "high" if task.successes else "medium"
        findings.append(
            Finding(
                project=project,
                finding_id=hashlib.sha1(key.encode()).hexdigest(),
                detector=DETECTOR,
                mode=MODE,
                severity=severity,
                evidence={
                    "benchmark": audit.benchmark,
                    "file": Path(audit.source).name,
                    "task_id": task.task_id,
                    "domain": task.domain,
                    "why": task.why,
                    "class": _CLASS,
                    "gold_actions": list(task.actions),
                    "records": len(task.records),
                    "successes": task.successes,
                    "fingerprint": task.fingerprint,
                },
            )
        )
    return findings
