"""Finding rates per agent and version: the share of analysed runs with at least one
finding of a failure mode. These are the numbers SLOs and gates can hold a fleet to
(a loop rate under 2%, no rise in hand-off loss between versions).

The denominator is the runs the mode's detector analysed (``detect_runs``), so a
run no detector has seen yet counts neither for nor against a rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from agentslo.metrics import FINDING_RATES
from agentslo.model import to_utc_naive
from agentslo.store import Store

__all__ = ["RATE_MODES", "finding_rates"]

#: Rate name -> (detector, mode or None for any mode of the detector): the metric
#: definitions of :data:`agentslo.metrics.FINDING_RATES`, which SLOs and gates use too.
RATE_MODES: Final[dict[str, tuple[str, str | None]]] = FINDING_RATES
_GROUPS: Final = ("project", "agent", "version", "environment", "suite", "model")


def finding_rates(
    store: Store,
    by: Sequence[str] = ("agent", "version"),
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    project: str | None = None,
) -> list[dict[str, Any]]:
    """One row per group of ``by`` (run columns) with ``runs`` analysed and each rate of
    :data:`RATE_MODES` (None where its detector analysed no run of the group).

    ``since``/``until`` (exclusive) and ``project`` select runs as ``agentslo report``
    does, by their start, so that the rates sit next to the report's other numbers.
    """
    bad = [c for c in by if c not in _GROUPS]
    if bad:
        raise ValueError(f"cannot group finding rates by {bad}; use any of: {', '.join(_GROUPS)}")
    keys = ", ".join(f"r.{c}" for c in by) or "'all'"
    parts = []
    for rate, (detector, mode) in RATE_MODES.items():
        mode_filter = "" if mode is None else f" AND f.mode = '{mode}'"
        parts.append(
            f"count(DISTINCT CASE WHEN d.detector = '{detector}' THEN d.run_id END) "
            f'AS "{rate}_n", '
            f"count(DISTINCT CASE WHEN d.detector = '{detector}' AND EXISTS (SELECT 1 FROM "
            f"findings f WHERE f.project = d.project AND f.run_id = d.run_id AND "
            f"f.detector = '{detector}'{mode_filter}) THEN d.run_id END) AS \"{rate}_k\""
        )
    where, params = _selection(since, until, project)
    sql = (
        f"SELECT {keys}, count(DISTINCT d.run_id) AS runs, {', '.join(parts)} "
        f"FROM detect_runs d JOIN runs r USING (project, run_id){where} "
        f"GROUP BY ALL ORDER BY ALL"
    )
    cursor = store.con.execute(sql, params)
    names = [c[0] for c in cursor.description or []]
    out: list[dict[str, Any]] = []
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        item = {c: row[c] for c in by}
        item["runs"] = row["runs"]
        for rate in RATE_MODES:
            n, k = row[f"{rate}_n"], row[f"{rate}_k"]
            item[rate] = k / n if n else None
        out.append(item)
    return out


def _selection(
    since: datetime | None, until: datetime | None, project: str | None
) -> tuple[str, list[Any]]:
    conditions: list[str] = []
    params: list[Any] = []
    for condition, value in (
        ("r.started_at >= ?", to_utc_naive(since) if since else None),
        ("r.started_at < ?", to_utc_naive(until) if until else None),
        ("r.project = ?", project),
    ):
        if value is not None:
            conditions.append(condition)
            params.append(value)
    return (" WHERE " + " AND ".join(conditions) if conditions else ""), params
