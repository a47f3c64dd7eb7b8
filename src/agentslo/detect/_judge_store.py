"""Storing the judge's work: verdicts in ``judge_verdicts``, accepted ``present``
verdicts as findings, and ``detect_runs`` rows named ``judge:<mode>`` so the next call
skips what was judged (and asks again where a request failed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import pyarrow as pa

from agentslo.detect._judge_records import JudgeVerdict
from agentslo.detect._trace import Trace
from agentslo.model import Finding
from agentslo.store import Store, records_batch

__all__ = ["NAME", "bookkeeping_name", "judged", "mark_empty", "store_batch"]

#: The detector name of the judge's findings.
NAME: Final = "judge"


def bookkeeping_name(mode: str) -> str:
    """The ``detect_runs`` detector name recording that ``mode`` was judged."""
    return f"{NAME}:{mode}"


def judged(store: Store, marks: list[str]) -> set[tuple[str, str, str]]:
    """(project, run, mode) already judged, from the ``detect_runs`` rows ``marks``."""
    rows = store.con.execute(
        "SELECT project, run_id, detector FROM detect_runs WHERE detector IN (SELECT unnest(?))",
        [marks],
    ).fetchall()
    prefix = len(NAME) + 1
    return {(p, r, d[prefix:]) for p, r, d in rows}


def mark_empty(store: Store, traces: list[Trace], marks: list[str]) -> None:
    """Record runs without spans as judged (with no finding) so they are not read again."""
    if not traces:
        return
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [(t.project, t.run_id, mark, now, 0) for t in traces for mark in marks]
    store.con.executemany("INSERT OR REPLACE INTO detect_runs VALUES (?, ?, ?, ?, ?)", rows)


def store_batch(store: Store, rows: list[JudgeVerdict], found: list[Finding], model: str) -> None:
    """Write a batch of verdicts and the findings they made: both replace those of the
    same (run, mode); a (run, mode) is marked judged only when its answer was accepted."""
    now = datetime.now(UTC).replace(tzinfo=None)
    if not rows:
        return
    keys = pa.table(
        {
            "project": [v.project for v in rows],
            "run_id": [v.run_id for v in rows],
            "mode": [v.mode for v in rows],
            "status": [v.status for v in rows],
            "reason": [v.reason for v in rows],
            "label": [v.label for v in rows],
            "cited_step": pa.array([v.cited_step for v in rows], pa.int64()),
            "explanation": [v.explanation for v in rows],
            "answer": [v.answer for v in rows],
            "model": [model] * len(rows),
            "judged_at": pa.array([now] * len(rows), pa.timestamp("us")),
        }
    )
    con = store.con
    con.register("_judge_batch", keys)
    answered = "(SELECT project, run_id, mode FROM _judge_batch WHERE status = 'accepted')"
    # One transaction: a crash or a failed write leaves the earlier verdicts, findings
    # and judged marks as they were, never a verdict without its finding.
    con.execute("BEGIN TRANSACTION")
    try:
        # An accepted answer replaces what was there. A rejected answer or a failed
        # request replaces only an earlier rejection or failure, never an answer
        # accepted before, and leaves its run and mode unjudged: a transcript built to
        # make the judge's answer fail the checks must not pass for a clean run.
        con.execute(
            f"DELETE FROM findings WHERE detector = ? AND (project, run_id, mode) IN {answered}",
            [NAME],
        )
        con.execute(f"DELETE FROM judge_verdicts WHERE (project, run_id, mode) IN {answered}")
        con.execute(
            "DELETE FROM judge_verdicts WHERE status <> 'accepted' AND (project, run_id, mode) "
            "IN (SELECT project, run_id, mode FROM _judge_batch)"
        )
        con.execute(
            "DELETE FROM detect_runs WHERE (project, run_id, detector) IN "
            f"(SELECT project, run_id, '{NAME}:' || mode FROM _judge_batch "
            "WHERE status = 'accepted')"
        )
        if found:
            store.write_in_transaction(records_batch(found))
        con.execute("INSERT OR IGNORE INTO judge_verdicts SELECT * FROM _judge_batch")
        con.execute(
            f"INSERT INTO detect_runs SELECT b.project, b.run_id, '{NAME}:' || b.mode, "
            "b.judged_at, CASE WHEN b.label = 'present' THEN 1 ELSE 0 END "
            "FROM _judge_batch b WHERE b.status = 'accepted'"
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_judge_batch")
