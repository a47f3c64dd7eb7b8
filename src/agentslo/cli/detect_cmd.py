"""``agentslo detect``: run the failure-mode detectors over runs not yet analysed, and
(only when asked) the LLM judge over the semantic modes."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agentslo.cli.common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    fail,
    handle_errors,
    open_db,
    print_json,
)
from agentslo.detect import (
    DETECTORS,
    JUDGE_MODES,
    JudgeConfig,
    JudgeSummary,
    run_detectors,
    run_judge,
)
from agentslo.detect.judge import resolve_modes
from agentslo.detect.relatedness import (
    EmbeddingRelatedness,
    MissingExtraError,
    Relatedness,
    lexical,
)
from agentslo.durations import parse_instant

__all__ = ["detect"]


@handle_errors
def detect(
    since: Annotated[
        str | None,
        typer.Option(help="Only runs started since: a duration before now (1d) or an ISO instant."),
    ] = None,
    detector: Annotated[
        list[str] | None,
        typer.Option(
            "--detector",
            help=f"Run only this detector (repeatable): {', '.join(DETECTORS)}. Default: all.",
        ),
    ] = None,
    run: Annotated[str | None, typer.Option("--run", help="Only this run id.")] = None,
    rerun: Annotated[
        bool,
        typer.Option(
            "--rerun", help="Analyse runs again even if already analysed (replaces their findings)."
        ),
    ] = False,
    embeddings: Annotated[
        bool,
        typer.Option(
            "--embeddings",
            help="Drift: measure relatedness to the instruction by sentence embeddings "
            "(all-MiniLM-L6-v2, loaded offline; needs the [embeddings] extra) instead of "
            "shared words.",
        ),
    ] = False,
    judge: Annotated[
        bool,
        typer.Option(
            "--judge",
            help="Also ask an LLM judge (OpenAI-compatible endpoint; key from OPENAI_API_KEY) "
            "about the semantic modes; off by default.",
        ),
    ] = False,
    model: Annotated[
        str | None,
        typer.Option("--model", help="The judge's model (with --judge; default: $OPENAI_MODEL)."),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="The judge's OpenAI-compatible API, e.g. http://localhost:8000/v1 (with "
            "--judge; default: $OPENAI_BASE_URL).",
        ),
    ] = None,
    judge_mode: Annotated[
        list[str] | None,
        typer.Option(
            "--judge-mode",
            help=f"Judge only this mode (repeatable): {', '.join(JUDGE_MODES)}. Default: all.",
        ),
    ] = None,
    judge_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for one judge answer.", min=0.1)
    ] = 60.0,
    judge_attempts: Annotated[
        int, typer.Option(help="Tries per judge request (timeouts, 429, 5xx retried).", min=1)
    ] = 3,
    judge_concurrency: Annotated[
        int, typer.Option(help="Judge requests in flight at once.", min=1)
    ] = 4,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Find loops, unrecovered faults, premature endings, lost hand-off context, drift,
    root causes and claim-execution gaps; write them to the findings table."""
    start = parse_instant(since, now=datetime.now()) if since else None
    config = _judge_config(
        judge,
        model,
        base_url,
        timeout=judge_timeout,
        attempts=judge_attempts,
        concurrency=judge_concurrency,
    )
    if config is not None:
        resolve_modes(judge_mode)  # a typo fails before any run is analysed
    relatedness = _relatedness(embeddings, json_output)
    with open_db(db) as store:
        summary = run_detectors(
            store, detector, since=start, run_id=run, rerun=rerun, relatedness=relatedness
        )
        judged = (
            _judge(store, config, judge_mode, start, run, rerun, json_output)
            if config is not None
            else None
        )
    if json_output:
        payload: dict[str, Any] = summary.to_dict()
        if judged is not None:
            payload["judge"] = judged.to_dict()
        print_json(payload)
        return
    table = Table(title=f"{summary.runs:,} runs analysed, {summary.skipped:,} already done")
    table.add_column("detector")
    table.add_column("findings", justify="right")
    for name, count in sorted(summary.findings.items()):
        table.add_row(name, f"{count:,}")
    console.print(table)
    if summary.skipped and not rerun:
        console.print("[dim]runs analysed before were skipped; pass --rerun to redo them[/]")
    if judged is not None:
        _print_judge(judged)


def _judge_config(
    judge: bool,
    model: str | None,
    base_url: str | None,
    *,
    timeout: float,
    attempts: int,
    concurrency: int,
) -> JudgeConfig | None:
    """The judge asked for on the command line (None without --judge)."""
    if not judge:
        if model or base_url:
            fail("--model and --base-url configure the LLM judge; add --judge to run it")
        return None
    model = model or os.environ.get("OPENAI_MODEL")
    base_url = base_url or os.environ.get("OPENAI_BASE_URL")
    if not model:
        fail("--judge needs the judge's model: pass --model NAME (or set OPENAI_MODEL)")
    if not base_url:
        fail(
            "--judge needs the judge's endpoint: pass --base-url URL (an OpenAI-compatible "
            "API such as http://localhost:8000/v1, or set OPENAI_BASE_URL)"
        )
    return JudgeConfig(
        model=model,
        base_url=base_url,
        api_key=os.environ.get("OPENAI_API_KEY"),
        timeout=timeout,
        attempts=attempts,
        concurrency=concurrency,
    )


def _judge(
    store: Any,
    config: JudgeConfig,
    modes: list[str] | None,
    since: datetime | None,
    run: str | None,
    rerun: bool,
    quiet: bool,
) -> JudgeSummary:
    with Progress(
        TextColumn(f"judging with {config.model}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet,
        transient=True,
    ) as bar:
        task = bar.add_task("runs", total=None)
        return run_judge(
            store,
            config,
            modes,
            since=since,
            run_id=run,
            rerun=rerun,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )


def _print_judge(judged: JudgeSummary) -> None:
    data = judged.to_dict()
    table = Table(
        title=f"judge {data['model']}: {data['runs_judged']:,} runs judged, "
        f"{data['runs_skipped']:,} already done",
        caption=f"{data['input_tokens']:,} prompt and {data['output_tokens']:,} completion tokens",
    )
    for column in ("mode", "accepted", "present", "rejected", "errors"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for mode, row in data["modes"].items():
        rejected = ", ".join(f"{k} {v}" for k, v in row["rejected"].items()) or "0"
        table.add_row(mode, str(row["accepted"]), str(row["present"]), rejected, str(row["errors"]))
    console.print(table)
    if data["total_rejected"]:
        console.print("[dim]rejected answers are never findings; see the judge_verdicts table[/]")
    if data["total_errors"]:
        err_console.print(f"first failed request: {data['first_error']}", markup=False)
        console.print("[dim]runs whose requests failed are judged again by the next call[/]")


def _relatedness(embeddings: bool, quiet: bool) -> Relatedness:
    """The drift backend asked for, loaded before any run is read (a missing extra
    fails at once, not after the first run)."""
    if not embeddings:
        return lexical
    if not quiet:
        err_console.print("[dim]loading the embedding model (all-MiniLM-L6-v2, offline)…[/]")
    try:
        return EmbeddingRelatedness().load()
    except MissingExtraError as exc:
        fail(str(exc))
