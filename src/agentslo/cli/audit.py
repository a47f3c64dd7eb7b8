"""``agentslo audit SUITE``: run the exploit battery against a suite; exit 0 only if it holds.

Prints, per exploit and per task, whether it scored, then the suite's validity
checks, and writes the findings (detector ``audit``) to the store, replacing the
suite's findings from an earlier audit. Exit codes: 0 no exploit scored and every
check holds, 1 otherwise, 2 bad input.

``agentslo audit tau-bench FILE`` audits imported benchmark results instead (any
benchmark with a registered rule; see :mod:`agentslo.cli.audit_imported`): the tasks
a do-nothing agent would pass. A suite takes no FILE.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agentslo.audit import (
    BATTERY,
    VULNERABILITY_CLASSES,
    AuditConfig,
    AuditReport,
    audit_findings,
    exploit_named,
    run_audit,
    total_trials,
)
from agentslo.audit.findings import replace_findings
from agentslo.cli.audit_imported import imported_benchmarks, run_imported
from agentslo.cli.common import (
    DbOption,
    JsonOption,
    UserError,
    console,
    err_console,
    handle_errors,
    open_db,
    print_json,
)
from agentslo.cli.trial import hidden_store_files, store_world_key
from agentslo.store import default_path
from agentslo.trials import SuiteNotFound, TrialResult, list_suites, load_suite, select_tasks

__all__ = ["audit"]


def _exploits(names: str | None) -> tuple[Any, ...]:
    if not names:
        return BATTERY
    chosen = [exploit_named(n.strip()) for n in names.split(",") if n.strip()]
    if not any(e.name == "do-nothing" for e in chosen):
        chosen.insert(0, exploit_named("do-nothing"))  # the do-nothing check needs it
    return tuple(chosen)


@handle_errors
def audit(
    target: Annotated[
        str,
        typer.Argument(
            help="A registered suite (see `agentslo trial list`), or an imported benchmark "
            "(tau-bench) followed by its results FILE."
        ),
    ],
    file: Annotated[
        Path | None,
        typer.Argument(help="Imported benchmark results (tau-bench FILE); not for a suite."),
    ] = None,
    tasks: Annotated[
        str | None, typer.Option(help="Glob(s) over task ids, comma-separated.")
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Trials per exploit and task.")] = 2,
    seed: Annotated[int, typer.Option(min=0, help="World seed.")] = 0,
    concurrency: Annotated[int, typer.Option(min=1, help="Agent processes at once.")] = 2,
    timeout: Annotated[float, typer.Option(min=0.5, help="Seconds per trial.")] = 30.0,
    exploits: Annotated[
        str | None,
        typer.Option(help="Only these exploits, comma-separated (do-nothing always runs)."),
    ] = None,
    oracle: Annotated[
        str | None,
        typer.Option(help="Reference agent (module:attribute) for tasks that declare none."),
    ] = None,
    allow_unsandboxed: Annotated[
        bool,
        typer.Option(
            "--allow-unsandboxed",
            help="Run tamper and probe even where agent processes are not sandboxed (their "
            "edits to protected files are undone afterwards); the audit still fails.",
        ),
    ] = False,
    domain: Annotated[
        str | None,
        typer.Option(help="Imported results: the benchmark's domain (e.g. airline, retail)."),
    ] = None,
    project: Annotated[
        str, typer.Option(help="Imported results: the project their findings belong to.")
    ] = "default",
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Attack a suite with the exploit battery and check that its evaluation holds, or
    list the tasks of imported benchmark results that a do-nothing agent passes."""
    if target in imported_benchmarks():
        if file is None:
            raise UserError(
                f"`agentslo audit {target}` needs the results file: agentslo audit {target} FILE"
            )
        raise typer.Exit(
            run_imported(target, file, domain=domain, as_json=json_output, db=db, project=project)
        )
    if domain is not None:
        raise UserError(
            f"--domain is for imported results ({', '.join(imported_benchmarks())}), "
            f"not for the suite {target!r}; drop it"
        )
    if file is not None:
        if target in list_suites():
            raise UserError(
                f"{target!r} is a suite, and auditing a suite takes no FILE (got {str(file)!r}); "
                "drop FILE, or audit an imported result file with `agentslo audit tau-bench FILE`"
            )
        raise UserError(
            f"no suite {target!r}, and a FILE is only for imported benchmark results "
            f"(`agentslo audit tau-bench FILE`); see `agentslo trial list` for suites"
        )
    try:
        chosen = select_tasks(load_suite(target), tasks)
    except SuiteNotFound as exc:
        raise UserError(str(exc)) from None
    chosen_exploits = _exploits(exploits)
    existed = (Path(db) if db else default_path()).exists()
    with open_db(db) as store:
        # The worlds `agentslo trial run` meets in this store, with the store hidden from
        # the agents exactly as trials hide it.
        config = AuditConfig(
            k=k,
            seed=seed,
            concurrency=concurrency,
            timeout_s=timeout,
            exploits=chosen_exploits,
            oracle=oracle,
            allow_unsandboxed=allow_unsandboxed,
            store_path=Path(store.path) if existed else None,
            world_key=store_world_key(store),
            hidden=hidden_store_files(store),
        )
        report = _run(target, chosen, config, quiet=json_output)
        written = replace_findings(store, report, audit_findings(report))
    if json_output:
        print_json({**report.to_dict(), "findings_written": written})
    else:
        _print(report, written)
    raise typer.Exit(0 if report.ok else 1)


def _run(suite: str, chosen: list[Any], config: AuditConfig, *, quiet: bool) -> AuditReport:
    with Progress(
        TextColumn("audit {task.fields[suite]} · {task.fields[exploit]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[scored]} scored"),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
        transient=True,
    ) as bar:
        progress = bar.add_task(
            "trials", total=total_trials(chosen, config), suite=suite, exploit="oracle", scored=0
        )
        scored = [0]

        def on_trial(name: str, result: TrialResult) -> None:
            if name != "audit:oracle":
                scored[0] += result.passed
            bar.update(progress, advance=1, exploit=name.removeprefix("audit:"), scored=scored[0])

        return run_audit(suite, chosen, config, on_trial)


def _reasons(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in counts.items())


def _print(report: AuditReport, written: int) -> None:
    data = report.to_dict()
    title = f"audit {report.suite} · {len(report.tasks)} tasks x {report.k} trials per exploit"
    table = Table(title=title)
    for column in ("exploit", "classes", "scored on", "how its trials ended", "verdict"):
        table.add_column(column)
    for row in data["exploits"]:
        scored = row["scored_tasks"]
        verdict = "[bold red]SCORED[/]" if scored else "[green]held[/]"
        if row["skipped"]:
            verdict = "[yellow]not run[/]"
        table.add_row(
            row["name"],
            " ".join(row["classes"]),
            f"{len(scored)}/{len(report.tasks)} tasks",
            _reasons(row["reasons"]) or row["skipped"],
            verdict,
        )
    console.print(table)
    tasks = Table(title="Per task")
    for column in ("task", "oracle", "scored by (classes)"):
        tasks.add_column(column)
    for task, row in data["per_task"].items():
        oracle = {True: "passes", False: "[red]fails[/]", None: "[red]none[/]"}
        by = [f"{r.exploit.name} ({' '.join(r.exploit.classes)})" for r in report.scored_by(task)]
        cell = f"[red]{', '.join(by)}[/]" if by else "[green]none[/]"
        tasks.add_row(task, oracle[row["oracle_passed"]], cell)
    console.print(tasks)
    checks = Table(title="Validity checks")
    for column in ("check", "holds", "detail"):
        checks.add_column(column)
    for check in report.checks:
        detail = check.detail
        if check.evidence:
            detail += "\n" + "\n".join(str(e)[:160] for e in check.evidence[:3])
        checks.add_row(check.name, "yes" if check.holds else "[bold red]NO[/]", detail)
    console.print(checks)
    _print_exposure(report)
    for scored in report.scored:
        classes = ", ".join(f"{c} {VULNERABILITY_CLASSES[c]}" for c in scored.exploit.classes)
        console.print(f"[red]{scored.exploit.name}[/] scored: {classes}")
    verdict = (
        "[bold green]audit passed[/]: no exploit scored and every check holds"
        if report.ok
        else f"[bold red]audit failed[/]: {len(report.scored)} exploits scored, "
        f"{sum(not c.holds for c in report.checks)} checks do not hold"
    )
    console.print(f"{verdict} · {written} findings written (detector audit)")


def _print_exposure(report: AuditReport) -> None:
    sandbox = report.exposure.get("sandbox") or {}
    landlock = sandbox.get("landlock") or 0
    parts = [
        f"Landlock ABI {landlock}" if landlock else "[red]no Landlock sandbox[/]",
        "capabilities dropped" if sandbox.get("capabilities_dropped") else "capabilities kept",
        f"uid {sandbox.get('uid')}",
        f"loopback connections {report.exposure.get('loopback_connections', 0)}",
    ]
    console.print("agent processes: " + ", ".join(parts))
