"""How well a detector agrees with people's labels stored beside it.

Imported annotations (detector ``human``, e.g. from Who&When) and a detector's
findings of the same mode are matched by run: the agent named (case-insensitive)
and the step (exact, within 1, within 5). Runs with a label but no finding count
as misses, so the accuracy is over every labelled run.
"""

from __future__ import annotations

from typing import Any

from agentslo.store import Store

__all__ = ["label_agreement"]


def label_agreement(
    store: Store, detector: str = "root_cause", mode: str = "root_cause", labels: str = "human"
) -> dict[str, Any]:
    """Agreement of ``detector``'s ``mode`` findings with ``labels``' findings of that mode."""
    row = store.con.execute(
        """
        WITH truth AS (
            SELECT project, run_id, any_value(agent) AS agent, any_value(step) AS step
            FROM findings WHERE detector = ? AND mode = ? GROUP BY ALL
        ), guess AS (
            SELECT project, run_id, arg_min(agent, step) AS agent, min(step) AS step
            FROM findings WHERE detector = ? AND mode = ? GROUP BY ALL
        )
        SELECT count(*), count(g.run_id),
               count(*) FILTER (WHERE lower(g.agent) = lower(t.agent)),
               count(*) FILTER (WHERE g.step = t.step),
               count(*) FILTER (WHERE abs(g.step - t.step) <= 1),
               count(*) FILTER (WHERE abs(g.step - t.step) <= 5)
        FROM truth t LEFT JOIN guess g USING (project, run_id)
        """,
        [labels, mode, detector, mode],
    ).fetchone()
    n, found, agent, exact, within1, within5 = row if row else (0, 0, 0, 0, 0, 0)

    def share(k: int) -> float | None:
        return k / n if n else None

    return {
        "detector": detector,
        "mode": mode,
        "labels": labels,
        "labelled_runs": n,
        "runs_with_finding": found,
        "agent_accuracy": share(agent),
        "step_accuracy": share(exact),
        "step_within_1": share(within1),
        "step_within_5": share(within5),
    }
