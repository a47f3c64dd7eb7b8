"""``agentslo audit tau-bench FILE``: the tasks of an imported benchmark's result file
that a do-nothing agent passes, their share of the suite and of its successes.

Prints a table (or JSON, ``--json``; the shape is in docs/audit.md),
writes one finding per passable task when a store is named (``--db`` or
``AGENTSLO_DB``), and lists the records it could not use on stderr. Exit code 0
when no task is passable by doing nothing, 1 when some are, 2 when the input
cannot be audited (no such file, not the format, no record with a gold task).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError
from rich.table import Table

from agentslo.audit import (
    AuditInputError,
    ImportedAudit,
    audit_imported,
    imported_findings,
    registered_benchmarks,
)
from agentslo.cli.common import console, err_console, print_json
from agentslo.cli.render import fmt_pct
from agentslo.ingest.messages import describe_validation_error
from agentslo.store import StoreError, open_store

__all__ = ["IMPORTED_BENCHMARKS", "imported_benchmarks", "run_imported"]

#: The benchmarks whose result files ``agentslo audit NAME FILE`` reads, when the CLI loads.
IMPORTED_BENCHMARKS: Final = registered_benchmarks()
#: Problems listed on stderr before the rest are summarised in one line.
_SHOWN_PROBLEMS: Final = 20


def imported_benchmarks() -> tuple[str, ...]:
    """The registered imported benchmarks now (rules may be registered after import)."""
    return registered_benchmarks()


def run_imported(
    benchmark: str,
    file: Path,
    *,
    domain: str | None,
    as_json: bool,
    db: Path | None,
    project: str,
) -> int:
    """Audit ``file`` of ``benchmark``, print the result, store the findings when a
    store is named, and return the exit code (0 none passable, 1 some, 2 bad input)."""
    if not project.strip():
        return _error("--project: expected a project name, got an empty one")
    try:
        audit = audit_imported(benchmark, file, domain=domain)
    except AuditInputError as exc:
        return _error(str(exc))
    if not audit.records:
        return _error(f"{audit.source}: holds no records; nothing to audit")
    if not audit.tasks:
        _print_problems(audit)
        return _error(
            f"{audit.source}: no task could be classified ({_count(audit.records, 'record')}, "
            f"{_count(len(audit.problems), 'problem')} above); the audit needs records that "
            "carry their gold task"
        )
    store = db if db is not None else _env_store()
    written: int | None = None
    if store is not None:
        try:
            written = _write(store, audit, project)
        except ValidationError as exc:  # a project name the findings cannot carry
            return _error(f"--project: {describe_validation_error(exc)}")
        except StoreError as exc:
            return _error(str(exc))
    code = 1 if audit.passable else 0
    if as_json:
        print_json(_payload(audit, written, store, project, code))
    else:
        _print_report(audit, written, store, project)
        _print_problems(audit)
    return code


def _error(message: str) -> int:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return 2


def _env_store() -> Path | None:
    named = os.environ.get("AGENTSLO_DB")
    return Path(named) if named else None


def _write(store: Path, audit: ImportedAudit, project: str) -> int:
    findings = imported_findings(audit, project=project)
    if findings:
        with open_store(store) as opened:
            opened.write_records(findings)
    return len(findings)


def _payload(
    audit: ImportedAudit, written: int | None, store: Path | None, project: str, code: int
) -> dict[str, Any]:
    return {
        **audit.to_dict(),
        "findings": {
            "written": written,
            "store": str(store) if store is not None else None,
            "project": project,
        },
        "exit_code": code,
    }


def _title(audit: ImportedAudit) -> str:
    share = fmt_pct(audit.task_share)
    return (
        f"{audit.benchmark} {audit.source}: {len(audit.passable):,} of {len(audit.tasks):,} "
        f"tasks ({share}) passable by a do-nothing agent"
    )


def _print_report(
    audit: ImportedAudit, written: int | None, store: Path | None, project: str
) -> None:
    table = Table(
        caption="each passable task's gold actions only read (or there are none) and it "
        "requires no output, so the untouched state is the gold state",
        caption_justify="left",
    )
    table.add_column("task", justify="right")
    table.add_column("domain")
    table.add_column("records", justify="right")
    table.add_column("successes", justify="right")
    table.add_column("gold actions", overflow="fold")
    for task in audit.passable:
        actions = ", ".join(dict.fromkeys(task.actions)) or "(none)"
        records, successes = f"{len(task.records)}", f"{task.successes}"
        table.add_row(task.task_id, task.domain, records, successes, actions)
    style = "bold red" if audit.passable else "green"
    console.print(f"[{style}]{_title(audit)}[/]", highlight=False, soft_wrap=True)
    if audit.passable:
        console.print(table)
    console.print(
        f"reported successes: {audit.successes:,}; on do-nothing-passable tasks: "
        f"{audit.passable_successes:,} ({fmt_pct(audit.success_share)})",
        highlight=False,
    )
    if len(audit.by_domain) > 1:
        parts = [f"{name} {n} of {total}" for name, (n, total) in sorted(audit.by_domain.items())]
        console.print(f"passable by domain: {', '.join(parts)}", highlight=False)
    _print_coverage(audit)
    if store is None:
        console.print("[dim]findings not stored: pass --db or set AGENTSLO_DB[/]")
    else:
        console.print(f"{written:,} findings written to {store} (project {project})")


#: How the summary line names the records of each problem kind.
_PROBLEM_LABELS: Final = {
    "no_gold": "without a usable gold task",
    "unreadable": "unreadable",
    "domain": "of unknown domain",
    "unknown_tool": "naming an unknown tool",
    "conflicting_gold": "with conflicting gold",
    "duplicate": "repeated",
}


def _print_coverage(audit: ImportedAudit) -> None:
    if audit.unclassified or audit.unclassified_successes:
        console.print(
            f"[yellow]not classified:[/] {_count(len(audit.unclassified), 'task')}; "
            f"{_count(audit.unclassified_successes, 'reported success')} not attributed "
            "to a classified task",
            highlight=False,
        )
    counts = audit.problem_counts
    if counts:
        parts = [
            f"{counts[kind]:,} {label}" for kind, label in _PROBLEM_LABELS.items() if kind in counts
        ]
        console.print(
            f"[yellow]record problems:[/] {', '.join(parts)} (the reasons are on stderr)",
            highlight=False,
        )


def _count(n: int, noun: str) -> str:
    plural = noun + ("es" if noun.endswith("s") else "s")
    return f"{n:,} {noun if n == 1 else plural}"


def _print_problems(audit: ImportedAudit) -> None:
    for problem in audit.problems[:_SHOWN_PROBLEMS]:
        err_console.print(
            f"[yellow]{problem.kind}:[/] {problem.message}", highlight=False, soft_wrap=True
        )
    hidden = len(audit.problems) - _SHOWN_PROBLEMS
    if hidden > 0:
        err_console.print(f"[yellow]... and {hidden:,} more problems (see --json)[/]")
