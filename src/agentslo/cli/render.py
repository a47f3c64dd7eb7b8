"""Rich renderings of reports, shared by ``report`` and ``demo``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table

from agentslo.detect import RATE_MODES
from agentslo.metrics import GroupMetrics, Report

__all__ = ["finding_rates_table", "fmt_money", "fmt_pct", "fmt_seconds", "report_table"]


def fmt_pct(value: float | None, digits: int = 1) -> str:
    """A rate as a percentage, or an em dash when undefined."""
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def fmt_money(value: float | None) -> str:
    """Dollars with sensible precision for both cents and thousands."""
    if value is None:
        return "—"
    if value >= 100:
        return f"${value:,.0f}"
    return f"${value:,.2f}" if value >= 1 else f"${value:.4f}"


def fmt_seconds(value: float | None) -> str:
    """A duration in s, or in m when long."""
    if value is None:
        return "—"
    return f"{value / 60:.1f}m" if value >= 600 else f"{value:.1f}s"


def _fmt_num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _success_cell(g: GroupMetrics) -> str:
    if g.success_rate is None or g.success_ci is None:
        return "— (no verified outcome)"
    low, high = g.success_ci
    return f"{fmt_pct(g.success_rate)} [{fmt_pct(low, 0)}, {fmt_pct(high, 0)}]"


def _gap_cell(g: GroupMetrics) -> str:
    if g.claim_gap is None:
        return "—"
    style = "red" if g.claim_gap > 0.1 else "yellow" if g.claim_gap > 0.03 else ""
    text = f"{g.claim_gap * 100:+.1f} pt"
    return f"[{style}]{text}[/]" if style else text


def _pass_cell(g: GroupMetrics) -> str:
    if not g.pass_k:
        return "—"
    return " ".join(f"{v:.2f}" for v in g.pass_k.values())


def _key_cell(value: Any) -> str:
    if value is None:
        return "—"
    text = str(value)
    # Bucket starts are ISO instants; "2026-11-01 13:00" reads better in a table.
    if len(text) == 20 and text.endswith(":00Z") and text[10] == "T":
        return text[:10] + " " + text[11:16]
    return text


def report_table(report: Report, *, title: str | None = None) -> Table:
    """The fleet table: one row per group, then the overall row."""
    q = report.query
    sources = "+".join(q.sources)
    table = Table(
        title=title or "Fleet report",
        caption=f"success counts {sources} outcomes · interval: Wilson {q.confidence:.0%} · "
        "cost/success = all spend ÷ successes",
        header_style="bold",
        show_lines=False,
    )
    for key in q.keys:
        table.add_column(key.replace("_", " "), style="cyan", no_wrap=True)
    columns: list[tuple[str, dict[str, Any]]] = [
        ("runs", {"justify": "right"}),
        ("attested", {"justify": "right"}),
        ("success [CI]", {"justify": "right", "no_wrap": True}),
        ("claimed", {"justify": "right"}),
        ("claim gap", {"justify": "right"}),
        ("cost/success", {"justify": "right"}),
        ("duration p50/p95/p99", {"justify": "right", "no_wrap": True}),
        ("steps p95", {"justify": "right"}),
        ("tokens p95", {"justify": "right"}),
        ("cost p95", {"justify": "right"}),
        ("spend", {"justify": "right"}),
    ]
    show_pass = any(g.pass_k for g in [*report.groups, report.overall])
    if show_pass:
        columns.append(("pass^1..k", {"no_wrap": True}))
    for name, options in columns:
        table.add_column(name, **options)

    def cells(g: GroupMetrics) -> list[str]:
        d = g.percentiles["duration"]
        row = [
            f"{g.runs:,}",
            f"{g.with_outcome:,}",
            _success_cell(g),
            fmt_pct(g.claimed_success_rate),
            _gap_cell(g),
            fmt_money(g.cost_per_success),
            " / ".join(fmt_seconds(d[p]) for p in ("p50", "p95", "p99")),
            _fmt_num(g.percentiles["steps"]["p95"]),
            _fmt_num(g.percentiles["tokens"]["p95"]),
            fmt_money(g.percentiles["cost"]["p95"]),
            fmt_money(g.total_cost),
        ]
        if show_pass:
            row.append(_pass_cell(g))
        return row

    for g in report.groups:
        table.add_row(*[_key_cell(g.keys.get(k)) for k in q.keys], *cells(g))
    if report.groups:
        table.add_section()
    label = ["all"] + [""] * (len(q.keys) - 1) if q.keys else []
    table.add_row(*label, *cells(report.overall), style="bold")
    return table


def finding_rates_table(rows: list[dict[str, Any]], by: Sequence[str]) -> Table:
    """Finding rates per group (rows of :func:`agentslo.detect.finding_rates`)."""
    table = Table(title="finding rates (share of analysed runs with a finding)")
    for column in (*by, "runs", *RATE_MODES):
        table.add_column(column, justify="left" if column in by else "right")
    for row in rows:
        cells = [_key_cell(row[c]) for c in by]
        cells.append(f"{row['runs']:,}")
        cells += [fmt_pct(row[r]) for r in RATE_MODES]
        table.add_row(*cells)
    return table
