"""Running detectors over the store: load the runs not yet analysed, detect, write
the findings and record what was analysed so the next call skips it.

``detect_runs`` holds one row per (project, run, detector) analysed. A run is
analysed again only when asked (``rerun``); its earlier findings from those
detectors are then replaced, not added to.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import pyarrow as pa

from agentslo.detect._registry import resolve
from agentslo.detect._trace import Trace
from agentslo.detect.relatedness import Relatedness, lexical
from agentslo.model import SOURCE_TRUST, SPANS_SCHEMA, Finding, Span
from agentslo.store import Store

__all__ = ["DetectSummary", "load_traces", "pending_count", "run_detectors"]

#: Runs analysed per write (findings and bookkeeping are written atomically per batch).
BATCH_RUNS: Final = 500


@dataclass
class DetectSummary:
    """What a detect call did."""

    runs: int = 0
    skipped: int = 0
    findings: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data."""
        return {
            "runs_analysed": self.runs,
            "runs_skipped": self.skipped,
            "findings": dict(sorted(self.findings.items())),
            "total_findings": sum(self.findings.values()),
        }


def _pending_sql(detectors: list[str], *, rerun: bool) -> str:
    names = ", ".join("'" + n.replace("'", "''") + "'" for n in detectors)
    done = (
        "FALSE"
        if rerun
        else f"(SELECT count(*) FROM detect_runs d WHERE d.project = r.project AND "
        f"d.run_id = r.run_id AND d.detector IN ({names})) >= {len(detectors)}"
    )
    return (
        "SELECT r.project, r.run_id, r.agent, r.version, r.attributes FROM runs r "
        f"WHERE (? IS NULL OR r.started_at >= ?) AND (? IS NULL OR r.run_id = ?) AND NOT {done}"
    )


def _span(row: dict[str, Any]) -> Span:
    row["attributes"] = json.loads(row["attributes"]) if row["attributes"] else {}
    row["events"] = json.loads(row["events"]) if row["events"] else []
    return Span.model_validate(row)


def _outcomes(store: Store) -> dict[tuple[str, str], dict[str, Any]]:
    rows = store.con.execute(
        "SELECT o.project, o.run_id, o.label, o.source, o.recorded_at FROM outcomes o "
        "JOIN _detect_pending p USING (project, run_id)"
    ).fetchall()
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for project, run_id, label, source, _recorded in sorted(
        rows, key=lambda r: (SOURCE_TRUST.get(r[3], 9), -r[4].timestamp())
    ):
        entry = best.setdefault((project, run_id), {"label": label, "source": source})
        if source == "claimed" and "claimed" not in entry:
            entry["claimed"] = label
    return best


def pending_count(
    store: Store,
    detectors: list[str],
    *,
    since: datetime | None = None,
    run_id: str | None = None,
    rerun: bool = False,
) -> int:
    """How many runs :func:`load_traces` would yield for the same arguments."""
    row = store.con.execute(
        f"SELECT count(*) FROM ({_pending_sql(detectors, rerun=rerun)})",
        [since, since, run_id, run_id],
    ).fetchone()
    return int(row[0]) if row else 0


def load_traces(
    store: Store,
    detectors: list[str],
    *,
    since: datetime | None = None,
    run_id: str | None = None,
    rerun: bool = False,
) -> Iterator[Trace]:
    """Traces of the runs that ``detectors`` have not analysed yet (all when ``rerun``)."""
    con = store.con
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _detect_pending AS " + _pending_sql(detectors, rerun=rerun),
        [since, since, run_id, run_id],
    )
    outcomes = _outcomes(store)
    runs = con.execute("SELECT * FROM _detect_pending ORDER BY project, run_id").fetchall()
    cols = [f.name for f in SPANS_SCHEMA]
    for start in range(0, len(runs), BATCH_RUNS):
        chunk = runs[start : start + BATCH_RUNS]
        keys = pa.table({"project": [r[0] for r in chunk], "run_id": [r[1] for r in chunk]})
        con.register("_detect_chunk", keys)
        spans = con.execute(
            f"SELECT {', '.join('s.' + c for c in cols)} FROM spans s "
            "JOIN _detect_chunk k USING (project, run_id)"
        ).fetchall()
        con.unregister("_detect_chunk")
        by_run: dict[tuple[str, str], list[Span]] = {}
        for values in spans:
            span = _span(dict(zip(cols, values, strict=True)))
            by_run.setdefault((span.project, span.run_id or ""), []).append(span)
        for project, rid, agent, version, attributes in chunk:
            outcome = outcomes.get((project, rid), {})
            attrs = json.loads(attributes) if attributes else {}
            if "claimed" in outcome:
                attrs.setdefault("claimed_outcome", outcome["claimed"])
            yield Trace.of(
                rid,
                by_run.get((project, rid), []),
                project=project,
                agent=agent,
                version=version,
                outcome=outcome.get("label"),
                outcome_source=outcome.get("source"),
                attributes=attrs,
            )


def run_detectors(
    store: Store,
    names: list[str] | None = None,
    *,
    since: datetime | None = None,
    run_id: str | None = None,
    rerun: bool = False,
    relatedness: Relatedness = lexical,
) -> DetectSummary:
    """Run the detectors called ``names`` (default: all) over the runs not yet analysed
    (started at or after ``since``; only ``run_id`` if given) and store their findings.

    ``relatedness`` is the drift detector's backend (see :mod:`agentslo.detect.relatedness`).
    """
    chosen = resolve(names, relatedness=relatedness)
    summary = DetectSummary(findings=dict.fromkeys(chosen, 0))
    total = store.con.execute(
        "SELECT count(*) FROM runs "
        "WHERE (? IS NULL OR started_at >= ?) AND (? IS NULL OR run_id = ?)",
        [since, since, run_id, run_id],
    ).fetchone()
    batch: list[Trace] = []
    for trace in load_traces(store, list(chosen), since=since, run_id=run_id, rerun=rerun):
        batch.append(trace)
        if len(batch) >= BATCH_RUNS:
            _analyse(store, batch, chosen, summary)
            batch = []
    if batch:
        _analyse(store, batch, chosen, summary)
    summary.skipped = (int(total[0]) if total else 0) - summary.runs
    return summary


def _analyse(
    store: Store, traces: list[Trace], chosen: dict[str, Any], summary: DetectSummary
) -> None:
    found: list[Finding] = []
    now = datetime.now(UTC).replace(tzinfo=None)
    done = []
    for trace in traces:
        for name, detect in chosen.items():
            result = detect(trace)
            found += result
            summary.findings[name] += len(result)
            done.append((trace.project, trace.run_id, name, now, len(result)))
    keys = pa.table({"project": [t.project for t in traces], "run_id": [t.run_id for t in traces]})
    con = store.con
    names = list(chosen)
    # Old findings go first; the new ones have stable ids, so a crash between the
    # steps leaves the runs unmarked and the next call redoes them idempotently.
    con.register("_detect_done", keys)
    try:
        for table in ("findings", "detect_runs"):
            con.execute(
                f"DELETE FROM {table} WHERE detector IN (SELECT unnest(?)) AND "
                "(project, run_id) IN (SELECT project, run_id FROM _detect_done)",
                [names],
            )
    finally:
        con.unregister("_detect_done")
    if found:
        store.write_records(found)
    marks = pa.table(
        {
            name: [row[i] for row in done]
            for i, name in enumerate(("project", "run_id", "detector", "analysed_at", "findings"))
        }
    )
    con.register("_detect_marks", marks)
    try:
        con.execute("INSERT INTO detect_runs SELECT * FROM _detect_marks")
    finally:
        con.unregister("_detect_marks")
    summary.runs += len(traces)
