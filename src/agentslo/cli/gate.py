"""``agentslo gate``: may the candidate ship? An always-valid sequential regression test.

Exit codes: 0 safe, 1 regressed, 3 continue (keep collecting), 2 bad input.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from agentslo.cli.common import DbOption, JsonOption, console, handle_errors, open_db, print_json
from agentslo.durations import parse_instant
from agentslo.gate import (
    GateResult,
    GateSpec,
    MetricResult,
    evaluate_gate,
    parse_margins,
    parse_metric,
    parse_selector,
)
from agentslo.metrics import FINDING_RATES
from agentslo.store import Store, StoreError, default_path

__all__ = ["gate", "gate_markdown", "gate_table"]

_STYLE = {"regressed": "bold red", "safe": "green", "continue": "yellow"}
_ICON = {"regressed": "🔴", "safe": "🟢", "continue": "🟡"}


def _value(m: MetricResult, x: float) -> str:
    if not math.isfinite(x):
        return "∞" if x > 0 else "—"
    if m.kind == "difference":
        return f"{x * 100:+.1f} pts"
    return f"{x:.3f}x"


def _interval(m: MetricResult) -> str:
    return f"[{_value(m, m.low)}, {_value(m, m.high)}]"


def _margin(m: MetricResult) -> str:
    if m.metric in FINDING_RATES:  # the tolerated rise of the rate
        return f"+{m.margin * 100:g} pts"
    return f"{m.margin * 100:g} pts" if m.kind == "difference" else f"+{m.margin * 100:g}%"


def _more(m: MetricResult) -> str:
    if m.decision != "continue":
        return ""
    return "unknown" if m.projected_runs is None else f"~{m.projected_runs:,}"


def gate_table(result: GateResult) -> Table:
    """The gate as a rich table: one row per metric."""
    s = result.spec
    table = Table(
        title=f"gate {s.baseline} → {s.candidate}: "
        f"[{_STYLE[result.decision]}]{result.decision.upper()}[/]",
        caption=f"alpha {s.alpha} family-wise (Bonferroni); always-valid intervals; "
        f"'safe' needs ≥ {result.minimum_runs_for_safe} runs per arm",
    )
    for column in ("metric", "decision", "estimate", "always-valid CI", "p-value", "margin"):
        table.add_column(column)
    table.add_column("runs (base / cand)", justify="right")
    table.add_column("more runs / arm", justify="right")
    for m in result.metrics:
        table.add_row(
            m.metric,
            f"[{_STYLE[m.decision]}]{m.decision}[/]",
            _value(m, m.estimate),
            _interval(m),
            f"{m.p_value:.3g}",
            _margin(m),
            f"{m.runs['baseline']:,} / {m.runs['candidate']:,}",
            _more(m),
        )
    return table


def gate_markdown(result: GateResult) -> str:
    """A short PR comment: the verdict, one table row per metric, what it guarantees."""
    s = result.spec
    lines = [
        f"### {_ICON[result.decision]} Regression gate: **{result.decision}**",
        "",
        f"`{s.candidate}` against `{s.baseline}`"
        f" ({result.runs['candidate']:,} / {result.runs['baseline']:,} runs).",
        "",
        "| metric | decision | estimate | always-valid CI | p-value | margin | more runs / arm |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in result.metrics:
        lines.append(
            f"| {m.metric} | {_ICON[m.decision]} {m.decision} | {_value(m, m.estimate)} | "
            f"{_interval(m)} | {m.p_value:.3g} | {_margin(m)} | {_more(m) or '—'} |"
        )
    lines += [
        "",
        f"<sub>Always-valid sequential test (agentslo): false `regressed` or `safe` at most "
        f"{s.alpha:g} across all metrics, however often this gate is re-run. "
        "Success and finding rates are differences in rate (candidate - baseline); "
        "other metrics are candidate / baseline.</sub>",
    ]
    return "\n".join(lines) + "\n"


def _open(db: Path | None) -> Store:
    """The store read-write (to record first crossings); read-only if another process
    holds it for writing (a running server), in which case nothing is recorded."""
    if not (db or default_path()).exists():
        return open_db(db, read_only=True)  # raises the "no such store" error
    try:
        return open_db(db)
    except StoreError:
        return open_db(db, read_only=True)


@handle_errors
def gate(
    baseline: Annotated[
        str,
        typer.Option(help="Baseline arm: key=value[,key=value] on run columns, e.g. version=v41."),
    ],
    candidate: Annotated[
        str, typer.Option(help="Candidate arm, e.g. version=v42 (must not overlap the baseline).")
    ],
    metric: Annotated[
        list[str],
        typer.Option(
            "--metric",
            help="Repeatable: success, cost_per_success, p50|p95|p99:duration|cost|steps|tokens, "
            "or a finding rate from `agentslo detect`: "
            + ", ".join(FINDING_RATES)
            + " (a higher rate is a regression).",
        ),
    ],
    margin: Annotated[
        list[str] | None,
        typer.Option(
            "--margin",
            help="Repeatable metric=value in [0, 1): tolerated drop in success (0.02 = 2 points), "
            "rise of a finding rate (0.01 = 1 point) or relative increase (0.1 = 10%). "
            "Defaults: success 0.02, finding rates 0.01, others 0.1.",
        ),
    ] = None,
    alpha: Annotated[float, typer.Option(help="Family-wise error rate across the metrics.")] = 0.05,
    since: Annotated[
        str | None, typer.Option(help="Only runs started since: a duration (2d) or an ISO instant.")
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="table (default) or markdown (a PR comment).")
    ] = "table",
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Regression gate: regressed (exit 1), safe (exit 0) or continue (exit 3), per metric."""
    if output_format not in ("table", "markdown"):
        raise ValueError(f"--format {output_format!r}: use table or markdown")
    spec = GateSpec(
        baseline=parse_selector(baseline, arm="baseline"),
        candidate=parse_selector(candidate, arm="candidate"),
        metrics=tuple(parse_metric(m) for m in metric),
        margins=parse_margins(margin or []),
        alpha=alpha,
        since=parse_instant(since, now=datetime.now()) if since else None,
    )
    with _open(db) as store:
        result = evaluate_gate(store, spec)
    if json_output:
        print_json(result.to_dict())
    elif output_format == "markdown":
        typer.echo(gate_markdown(result), nl=False)
    else:
        console.print(gate_table(result))
    raise typer.Exit(result.exit_code)
