"""The rule table of imported benchmarks: how to read one's result file, what each
record says about its task, and which tools change the environment's state.

A benchmark that grades an agent by comparing the environment's final state with
the state its gold actions produce (tau-bench compares database hashes) passes a
do-nothing agent on every task whose gold actions change nothing and that asks
for no output. Finding those tasks needs three things per benchmark, and a rule
holds exactly these: a reader for its result file, a parser that turns one record
into an :class:`ImportedRecord` (task id, reward, the gold task, the tool names
seen), and per domain the tools that change state and the tools known not to.
Registering one more :class:`ImportedRule` gives another benchmark the same check.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "AuditInputError",
    "DomainTools",
    "GoldAction",
    "GoldTask",
    "ImportedRecord",
    "ImportedRule",
    "RecordError",
    "imported_rule",
    "register_rule",
    "registered_benchmarks",
    "unregister_rule",
]


class AuditInputError(ValueError):
    """The input of an audit cannot be used at all (no such file, not the format,
    an unknown benchmark or domain); the message names it and the fix."""


class RecordError(ValueError):
    """One record cannot be read (no task id, a reward that is not a number...).

    The message says what is wrong without the file and index: the audit adds
    those, reports the record and goes on with the others.
    """


@dataclass(frozen=True)
class DomainTools:
    """The tools of one domain of a benchmark, split by whether they change state.

    A gold action naming a tool in neither set cannot be classified: guessing that
    an unknown tool is harmless would count tasks as do-nothing-passable that are
    not, so such tasks are reported instead.
    """

    name: str
    writes: frozenset[str]
    reads: frozenset[str]

    def __post_init__(self) -> None:
        both = self.writes & self.reads
        if both:
            raise ValueError(
                f"domain {self.name!r}: {', '.join(sorted(both))} listed as both changing "
                "and not changing state; put each tool in one set"
            )

    @property
    def tools(self) -> frozenset[str]:
        """Every tool this domain knows."""
        return self.writes | self.reads


@dataclass(frozen=True)
class GoldAction:
    """One action of a task's gold solution: a tool name and its arguments."""

    name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GoldTask:
    """What a task's grader compares against: the gold actions and the outputs the
    agent must state (empty when the grader only checks the final state)."""

    actions: tuple[GoldAction, ...]
    outputs: tuple[str, ...]

    def fingerprint(self) -> str:
        """A short digest of the gold task: two records of the same task id with
        different fingerprints were graded against different tasks."""
        canonical = json.dumps(
            {
                "actions": [{"name": a.name, "kwargs": dict(a.kwargs)} for a in self.actions],
                "outputs": list(self.outputs),
            },
            sort_keys=True,
            ensure_ascii=False,
            default=str,
        )
        return hashlib.sha1(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ImportedRecord:
    """What the audit needs from one record of a result file.

    ``gold`` is None when the record carries no usable gold task; ``gold_problem``
    then says why (missing, malformed). ``domain_hint`` is the domain the record
    names itself, if any; ``tools_seen`` are the tool names it mentions (calls in
    the trajectory, gold actions), which tell the domain when the record does not.
    ``trial`` (None when the file does not number trials) tells a repeated trial of
    a task from a copy of the same record.
    """

    index: int
    task_id: str
    reward: float
    trial: int | None = None
    domain_hint: str | None = None
    tools_seen: tuple[str, ...] = ()
    gold: GoldTask | None = None
    gold_problem: str | None = None


def _no_hint(path: Path) -> str | None:
    return None


@dataclass(frozen=True)
class ImportedRule:
    """How to audit the result files of one imported benchmark.

    ``load(path, display)`` returns the raw records of a file (raising
    :class:`AuditInputError` when the file is unusable as a whole);
    ``parse(index, raw)`` reads one (raising :class:`RecordError` when it cannot);
    ``domain_of_path`` may guess the domain from the file name, the last resort
    when neither the records nor ``--domain`` say it. A reward within
    ``success_tolerance`` of 1.0 is a reported success.
    """

    name: str
    summary: str
    domains: tuple[DomainTools, ...]
    load: Callable[[Path, str], Sequence[Any]]
    parse: Callable[[int, Any], ImportedRecord]
    domain_of_path: Callable[[Path], str | None] = _no_hint
    success_tolerance: float = 1e-6

    def __post_init__(self) -> None:
        if not self.domains:
            raise ValueError(f"rule {self.name!r}: give at least one domain")
        names = [d.name for d in self.domains]
        if len(set(names)) != len(names):
            raise ValueError(f"rule {self.name!r}: domain names repeat: {', '.join(names)}")

    def domain(self, name: str) -> DomainTools:
        """The domain called ``name``; :class:`AuditInputError` listing the known ones."""
        for domain in self.domains:
            if domain.name == name:
                return domain
        known = ", ".join(d.name for d in self.domains)
        raise AuditInputError(f"{self.name} has no domain {name!r}; known domains: {known}")

    def is_success(self, reward: float) -> bool:
        """Whether ``reward`` counts as a reported success."""
        return abs(reward - 1.0) <= self.success_tolerance


_RULES: dict[str, ImportedRule] = {}


def register_rule(rule: ImportedRule, *, replace: bool = False) -> ImportedRule:
    """Add ``rule`` to the table (``replace`` to swap a registered one) and return it."""
    if rule.name in _RULES and not replace and _RULES[rule.name] is not rule:
        raise ValueError(
            f"a rule for {rule.name!r} is already registered; pass replace=True to swap it"
        )
    _RULES[rule.name] = rule
    return rule


def unregister_rule(name: str) -> None:
    """Remove the rule for ``name`` from the table (nothing happens when there is none)."""
    _RULES.pop(name, None)


def imported_rule(name: str) -> ImportedRule:
    """The registered rule for benchmark ``name``."""
    try:
        return _RULES[name]
    except KeyError:
        known = ", ".join(sorted(_RULES)) or "none"
        raise AuditInputError(
            f"no audit rule for imported benchmark {name!r}; registered: {known}"
        ) from None


def registered_benchmarks() -> tuple[str, ...]:
    """The names of the registered benchmarks, sorted."""
    return tuple(sorted(_RULES))
