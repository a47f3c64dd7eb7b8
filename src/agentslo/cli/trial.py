"""``agentslo trial``: run a suite's tasks k times under fault profiles, verified, stored.

``trial run`` writes every trial to the store as a run (environment ``trial``,
suite, trial index; fault profile, reason and batch in ``attributes``) with its
spans and a ``verified`` outcome, so ``agentslo report`` reads trials unchanged.
``trial list`` shows the registered suites and their tasks.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

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
from agentslo.cli.render import fmt_money, fmt_pct, fmt_seconds
from agentslo.trials import (
    Budget,
    SuiteNotFound,
    TrialResult,
    TrialRunner,
    TrialSummary,
    list_suites,
    load_suite,
    parse_profiles,
    plan_trials,
    select_tasks,
    summarize,
)
from agentslo.trials.pool import DEFAULT_PASS_ENV, check_pass_env, protect_harness

__all__ = ["app", "hidden_store_files", "store_world_key"]

app = typer.Typer(
    help="Repeated, fault-injected, outcome-verified trials of agents on task suites.",
    no_args_is_help=True,
)

OPENAI_AGENT = "agentslo.agents.openai_chat:agent"
WORLD_KEY_META = "trials.world_key"
_WRITE_EVERY = 200


def _tasks(suite: str, pattern: str | None) -> list[Any]:
    try:
        return select_tasks(load_suite(suite), pattern)
    except SuiteNotFound as exc:
        raise UserError(str(exc)) from None


@app.command("list")
@handle_errors
def list_(
    suite: Annotated[str | None, typer.Argument(help="Show this suite's tasks.")] = None,
    tasks: Annotated[
        str | None, typer.Option(help="Glob(s) over task ids, comma-separated.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """List the registered suites, or the tasks of one suite."""
    names = [suite] if suite else sorted(list_suites())
    payload = {name: _tasks(name, tasks if suite else None) for name in names}
    if json_output:
        print_json(
            {
                name: [
                    {"id": t.id, "variant": t.variant, "summary": t.summary, "tags": list(t.tags)}
                    for t in found
                ]
                for name, found in payload.items()
            }
        )
        return
    if not suite:
        table = Table(title="Suites")
        table.add_column("suite")
        table.add_column("tasks", justify="right")
        for name, found in payload.items():
            table.add_row(name, str(len(found)))
        console.print(table)
        return
    table = Table(title=f"Suite {suite}")
    for column in ("task", "variant", "what it asks"):
        table.add_column(column)
    for t in payload[suite]:
        table.add_row(t.id, t.variant, t.summary)
    console.print(table)


@app.command("run")
@handle_errors
def run(
    suite: Annotated[str, typer.Argument(help="Suite name (see `agentslo trial list`).")],
    agent: Annotated[
        str | None,
        typer.Option(help="The agent as module:attribute (a callable, coroutine or Team)."),
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Trials per task and profile.")] = 4,
    faults: Annotated[
        str,
        typer.Option(
            help="Comma-separated fault profiles; compose within one with + "
            "(clean,api-errors:0.2,stale-reads+mid-run-change)."
        ),
    ] = "clean",
    concurrency: Annotated[int, typer.Option(min=1, help="Agent processes at once.")] = 4,
    tasks: Annotated[
        str | None, typer.Option(help="Glob(s) over task ids, comma-separated.")
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="World and fault seed.")] = 0,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds per trial.")] = 120.0,
    max_steps: Annotated[int, typer.Option(min=1, help="Tool + model calls per trial.")] = 200,
    max_tokens: Annotated[int | None, typer.Option(min=1, help="Tokens per trial.")] = None,
    max_cost: Annotated[float | None, typer.Option(min=0, help="USD per trial.")] = None,
    model: Annotated[
        str | None,
        typer.Option(help="Model name; without --agent, runs the OpenAI-compatible tool loop."),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible API base URL (key: OPENAI_API_KEY).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Agent name in the store.")] = None,
    version: Annotated[str | None, typer.Option(help="Agent version in the store.")] = None,
    pass_env: Annotated[
        list[str] | None,
        typer.Option(
            "--pass-env",
            metavar="NAME",
            help="Also give agents this environment variable when set (repeatable; "
            "OPENAI_API_KEY and OPENAI_BASE_URL always are).",
        ),
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Run k trials of each task under each fault profile; store and summarise them."""
    if agent is None and model is None:
        raise UserError(
            "give the agent as --agent module:attribute, or --model for the OpenAI loop"
        )
    passed_env = check_pass_env((*DEFAULT_PASS_ENV, *(pass_env or ())))
    for unset in sorted(set(pass_env or ()) - set(os.environ)):
        err_console.print(f"--pass-env {unset}: not set in this environment, agents get none")
    ref = agent or OPENAI_AGENT
    chosen = _tasks(suite, tasks)
    profiles = parse_profiles(faults)
    specs = plan_trials(chosen, profiles, k, seed)
    options: dict[str, Any] = {}
    if base_url:
        options["base_url"] = base_url
    protect_harness()
    runner = TrialRunner(
        ref,
        agent_name=name or (model if agent is None else None),
        version=version,
        model=model,
        options=options,
        budget=Budget(
            timeout_s=timeout, max_steps=max_steps, max_tokens=max_tokens, max_cost_usd=max_cost
        ),
        concurrency=concurrency,
        pass_env=passed_env,
    )
    with open_db(db) as store:
        runner.world_key = store_world_key(store)
        runner.hidden = hidden_store_files(store)
        pending: list[Any] = []
        passed = [0]

        def flush() -> None:
            if pending:
                store.write_records(pending)
                pending.clear()

        with Progress(
            TextColumn(f"{suite} · {runner.agent_name}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[passed]} passed"),
            TimeElapsedColumn(),
            console=err_console,
            disable=json_output,
            transient=True,
        ) as bar:
            progress = bar.add_task("trials", total=len(specs), passed=0)

            def on_result(result: TrialResult) -> None:
                passed[0] += result.passed
                pending.extend(result.records())
                if len(pending) >= _WRITE_EVERY * 10:
                    flush()
                bar.update(progress, advance=1, passed=passed[0])

            results = runner.run(specs, on_result)
        flush()
    summary = summarize(results)
    if json_output:
        print_json({**summary.to_dict(), "trials": len(results), "k": k})
        return
    _print_summary(summary, k, len(chosen))


def hidden_store_files(store: Any) -> tuple[str, ...]:
    """The store's files, which agent processes must not read: they hold earlier trials'
    verifier evidence (expected values of these same worlds) and the world key."""
    path = Path(store.path).resolve()
    return (str(path), f"{path}.wal")


def store_world_key(store: Any) -> int:
    """This store's secret world key: worlds are the same for every batch stored here
    (so agent versions meet the same tasks) and unknown to the agents."""
    key = store.get_meta(WORLD_KEY_META)
    if not isinstance(key, int):
        key = secrets.randbits(62)
        store.set_meta(WORLD_KEY_META, key)
    return key


def _print_summary(summary: TrialSummary, k: int, tasks: int) -> None:
    title = f"{summary.suite} · {summary.agent} · {tasks} tasks x {k} trials"
    table = Table(title=f"{title} (batch {summary.batch})")
    columns = ["profile", "trials", "success", "95% CI", "robustness"]
    columns += [f"pass^{i}" for i in range(1, k + 1)] + [f"pass@{k}", "$/success"]
    columns += ["p95 steps", "p95 time"]
    for column in columns:
        table.add_column(column, justify="left" if column == "profile" else "right")
    for p in summary.profiles:
        ci = f"{fmt_pct(p.success_ci[0])}-{fmt_pct(p.success_ci[1])}" if p.success_ci else "—"
        row = [p.profile, str(p.trials), fmt_pct(p.success_rate), ci]
        row.append("—" if p.robustness is None else f"{p.robustness:.2f}")
        row += [fmt_pct(p.pass_k.get(i)) for i in range(1, k + 1)]
        row += [fmt_pct(p.pass_at_k.get(k)), fmt_money(p.cost_per_success)]
        row += ["—" if p.p95_steps is None else f"{p.p95_steps:.0f}", fmt_seconds(p.p95_duration_s)]
        table.add_row(*row)
    console.print(table)
    reasons = Table(title="Outcomes by reason")
    reasons.add_column("reason")
    reasons.add_column("trials", justify="right")
    for reason, count in summary.reasons.items():
        reasons.add_row(reason, str(count))
    console.print(reasons)
    if summary.inconsistent:
        flaky = Table(title="Most inconsistent tasks (mixed outcomes across trials)")
        flaky.add_column("task")
        flaky.add_column("success per profile", justify="right")
        for item in summary.inconsistent:
            flaky.add_row(item["task_id"], ", ".join(fmt_pct(r) for r in item["success_rates"]))
        console.print(flaky)
    console.print(
        "Stored as environment=trial runs with verified outcomes: "
        f"[bold]agentslo report --by task_id --json[/] · batch {summary.batch}"
    )
