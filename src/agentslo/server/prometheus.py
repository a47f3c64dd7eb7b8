"""``GET /metrics``: the Prometheus exposition of the store's runs, SLOs and ingestion.

The run metrics are exactly those of ``agentslo.slo.METRICS`` (documented in
``docs/slo.md``), so the rules of ``agentslo slo rules`` read them unchanged:
counters of runs by status and by effective outcome, and histograms of duration
and cost whose bounds include every threshold of the configured SLOs. They are
computed from the store at scrape time, so they survive restarts and count runs
written by any path (OTLP, file import). Beside them: the configured SLOs' SLI,
error budget left and burn rates as gauges, and the receiver's own counters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from agentslo.model import OUTCOME_SOURCES
from agentslo.slo import FILTER_FIELDS, METRICS, SLOSpec, SLOStatus, histogram_buckets, le_label
from agentslo.store import Store
from agentslo.store.outcome_index import INDEX_COLUMNS, LABEL_RANK, SOURCE_UNIT

__all__ = ["CONTENT_TYPE", "IngestCounters", "exposition"]

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
_LABEL_OF_RANK: Final = {rank: label for label, rank in LABEL_RANK.items()}


@dataclass
class IngestCounters:
    """The receiver's own counters (per process, reset on restart)."""

    spans_accepted: int = 0
    spans_rejected: int = 0
    outcomes_accepted: int = 0
    requests: dict[int, int] | None = None

    def count_request(self, status: int) -> None:
        if self.requests is None:
            self.requests = {}
        self.requests[status] = self.requests.get(status, 0) + 1


def _escape(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, Any]]) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}"


def _number(value: float | int | None) -> str:
    if value is None:
        return "NaN"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def _where(project: str | None) -> tuple[str, list[Any]]:
    return ("WHERE r.project = ?", [project]) if project is not None else ("", [])


def _run_lines(
    store: Store, project: str | None, buckets: Mapping[str, Sequence[float]]
) -> list[str]:
    con = store.con
    dims = ", ".join(f'r."{f}"' for f in FILTER_FIELDS)
    where, params = _where(project)
    lines: list[str] = []

    def head(name: str) -> None:
        kind, help_text = METRICS[name]
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")

    head("agentslo_runs_total")
    rows = con.execute(
        f"SELECT {dims}, r.status, count(*) FROM runs r {where} GROUP BY ALL ORDER BY ALL", params
    ).fetchall()
    n = len(FILTER_FIELDS)
    for row in rows:
        labels = [*zip(FILTER_FIELDS, row[:n], strict=True), ("status", row[n])]
        lines.append(f"agentslo_runs_total{_labels(labels)} {row[n + 1]}")

    head("agentslo_run_outcomes_total")
    best = "least(" + ", ".join(f"o.{INDEX_COLUMNS[s]}" for s in OUTCOME_SOURCES) + ")"
    rows = con.execute(
        f"SELECT {dims}, {best} // {SOURCE_UNIT} AS trust, {best} % 4 AS label, count(*) "
        f"FROM runs r JOIN run_outcomes o ON o.project = r.project AND o.run_id = r.run_id "
        f"{where} GROUP BY ALL ORDER BY ALL",
        params,
    ).fetchall()
    for row in rows:
        if row[n] is None:
            continue
        labels = [
            *zip(FILTER_FIELDS, row[:n], strict=True),
            ("outcome", _LABEL_OF_RANK.get(int(row[n + 1]), "failure")),
            ("source", OUTCOME_SOURCES[int(row[n])]),
        ]
        lines.append(f"agentslo_run_outcomes_total{_labels(labels)} {row[n + 2]}")

    duration = (
        "date_diff('microsecond', r.started_at, r.ended_at) / 1e6",
        "r.ended_at IS NOT NULL",
    )
    for name, (value, present) in (
        ("agentslo_run_duration_seconds", duration),
        ("agentslo_run_cost_usd", ("r.cost_usd", "r.cost_usd IS NOT NULL")),
    ):
        head(name)
        bounds = list(buckets[name])
        counts = ", ".join(f"count(*) FILTER (WHERE {value} <= {b!r})" for b in bounds)
        cond = f"{where} AND {present}" if where else f"WHERE {present}"
        rows = con.execute(
            f"SELECT {dims}, {counts}, count(*), sum({value}) FROM runs r {cond} "
            "GROUP BY ALL ORDER BY ALL",
            params,
        ).fetchall()
        for row in rows:
            base = list(zip(FILTER_FIELDS, row[:n], strict=True))
            for i, bound in enumerate(bounds):
                bucket = _labels([*base, ("le", le_label(bound))])
                lines.append(f"{name}_bucket{bucket} {row[n + i]}")
            total = row[n + len(bounds)]
            lines.append(f"{name}_bucket{_labels([*base, ('le', '+Inf')])} {total}")
            lines.append(f"{name}_count{_labels(base)} {total}")
            lines.append(f"{name}_sum{_labels(base)} {_number(float(row[-1] or 0.0))}")
    return lines


_GATE_HELP: Final = {
    "agentslo_gate_decision": "1 for the current decision of each regression gate and metric.",
    "agentslo_gate_p_value": "Always-valid p-value of 'no regression' per gate and metric.",
    "agentslo_gate_runs": "Runs with data per gate, metric and arm.",
}


def _gate_lines(samples: Sequence[tuple[str, dict[str, str], float]]) -> list[str]:
    """The regression gates' samples (``agentslo.gate.prometheus_samples``), grouped."""
    lines: list[str] = []
    for name, help_text in _GATE_HELP.items():
        rows = [(labels, value) for n, labels, value in samples if n == name]
        if not rows:
            continue
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        lines += [f"{name}{_labels(labels.items())} {_number(value)}" for labels, value in rows]
    return lines


def _slo_lines(statuses: Sequence[SLOStatus], project: str | None) -> list[str]:
    if not statuses:
        return []
    lines = [
        "# HELP agentslo_slo_sli The SLI of each configured SLO objective over its window.",
        "# TYPE agentslo_slo_sli gauge",
    ]
    extra = [("project", project)] if project is not None else []
    for s in statuses:
        base = [("slo", s.name), ("objective", s.key), *extra]
        lines.append(f"agentslo_slo_sli{_labels(base)} {_number(s.sli)}")
    lines += [
        "# HELP agentslo_slo_error_budget_remaining Share of the error budget left (1 = untouched,"
        " below 0 = overspent).",
        "# TYPE agentslo_slo_error_budget_remaining gauge",
    ]
    for s in statuses:
        base = [("slo", s.name), ("objective", s.key), *extra]
        lines.append(
            f"agentslo_slo_error_budget_remaining{_labels(base)} "
            f"{_number(s.error_budget_remaining)}"
        )
    lines += [
        "# HELP agentslo_slo_burn_rate Error-budget burn rate over each alert window.",
        "# TYPE agentslo_slo_burn_rate gauge",
    ]
    for s in statuses:
        for window, burn in s.burn_rates.items():
            labels = [("slo", s.name), ("objective", s.key), ("window", window), *extra]
            lines.append(f"agentslo_slo_burn_rate{_labels(labels)} {_number(burn)}")
    lines += [
        "# HELP agentslo_slo_alert_firing 1 when the burn-rate alert of this severity fires.",
        "# TYPE agentslo_slo_alert_firing gauge",
    ]
    for s in statuses:
        for severity in ("page", "ticket"):
            firing = any(a.firing for a in s.alerts if a.severity == severity)
            labels = [("slo", s.name), ("objective", s.key), ("severity", severity), *extra]
            lines.append(f"agentslo_slo_alert_firing{_labels(labels)} {int(firing)}")
    return lines


def _ingest_lines(counters: IngestCounters, writer: Any) -> list[str]:
    s = writer.stats
    rows: list[tuple[str, str, str, list[tuple[str, Any]], Any]] = [
        (
            "agentslo_ingest_spans_accepted_total",
            "counter",
            "Spans acknowledged.",
            [],
            counters.spans_accepted,
        ),
        (
            "agentslo_ingest_spans_rejected_total",
            "counter",
            "Spans refused as invalid.",
            [],
            counters.spans_rejected,
        ),
        (
            "agentslo_ingest_outcomes_accepted_total",
            "counter",
            "Outcomes acknowledged by /v1/outcomes.",
            [],
            counters.outcomes_accepted,
        ),
        (
            "agentslo_ingest_spans_committed_total",
            "counter",
            "Spans written to the store's database (acknowledged spans are journaled first).",
            [],
            s.spans_committed,
        ),
        ("agentslo_ingest_commits_total", "counter", "Group commits to the store.", [], s.commits),
        (
            "agentslo_ingest_commit_seconds_total",
            "counter",
            "Time spent committing.",
            [],
            s.commit_seconds,
        ),
        (
            "agentslo_ingest_checkpoints_total",
            "counter",
            "Checkpoints of the store's write-ahead log run by the writer.",
            [],
            s.checkpoints,
        ),
        (
            "agentslo_ingest_checkpoint_seconds_total",
            "counter",
            "Time spent in those checkpoints (commits wait meanwhile).",
            [],
            s.checkpoint_seconds,
        ),
        (
            "agentslo_ingest_requests_shed_total",
            "counter",
            "Requests refused with 429 because the write queue was full.",
            [],
            s.requests_shed,
        ),
        (
            "agentslo_ingest_write_failures_total",
            "counter",
            "Requests the store failed to write (acknowledged ones are kept in the "
            "journal's failed directory).",
            [],
            s.write_failures,
        ),
        (
            "agentslo_ingest_queue_items",
            "gauge",
            "Spans and outcomes accepted or waiting that the database does not have yet.",
            [],
            writer.queued,
        ),
        (
            "agentslo_ingest_journal_syncs_total",
            "counter",
            "Journal appends, each synced once (every request waiting shares one).",
            [],
            s.journal_syncs,
        ),
        (
            "agentslo_ingest_journal_seconds_total",
            "counter",
            "Time spent writing and syncing the journal.",
            [],
            s.journal_seconds,
        ),
        (
            "agentslo_ingest_journal_max_seconds",
            "gauge",
            "The longest journal append and sync since the server started.",
            [],
            s.journal_max_seconds,
        ),
        (
            "agentslo_ingest_journal_failures_total",
            "counter",
            "Journal appends that failed (their requests were answered 503).",
            [],
            s.journal_failures,
        ),
        (
            "agentslo_ingest_replayed_requests_total",
            "counter",
            "Journaled requests replayed at start-up (the last run stopped before "
            "committing them).",
            [],
            s.replayed_requests,
        ),
    ]
    lines: list[str] = []
    for name, kind, help_text, labels, value in rows:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        lines.append(f"{name}{_labels(labels) if labels else ''} {_number(value)}")
    lines += [
        "# HELP agentslo_ingest_http_requests_total Ingest requests answered, by status code.",
        "# TYPE agentslo_ingest_http_requests_total counter",
    ]
    for code, count in sorted((counters.requests or {}).items()):
        lines.append(f'agentslo_ingest_http_requests_total{{code="{code}"}} {count}')
    return lines


def exposition(
    store: Store,
    *,
    project: str | None,
    slos: Sequence[SLOSpec],
    statuses: Sequence[SLOStatus],
    counters: IngestCounters | None = None,
    writer: Any = None,
    gate_samples: Sequence[tuple[str, dict[str, str], float]] = (),
) -> str:
    """The whole ``/metrics`` page for ``project`` (None: every project)."""
    lines = _run_lines(store, project, histogram_buckets(slos))
    lines += _slo_lines(statuses, project)
    lines += _gate_lines(gate_samples)
    if counters is not None and writer is not None:
        lines += _ingest_lines(counters, writer)
    return "\n".join(lines) + "\n"
