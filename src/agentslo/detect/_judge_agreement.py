"""How often the LLM judge and the deterministic detectors agree, per mode.

For each judge mode, the runs compared are those with an accepted verdict on it whose
counterpart detector (e.g. ``handoff`` for ``lost_context``) also analysed them. On
those runs: both flagged it, only the judge did, only the rules did, neither did;
Cohen's kappa of the two (:func:`agentslo.stats.cohen_kappa_2x2`); and, where both
flagged a run, how often the judge cited a step the rules also named. Rejected and
failed verdicts are counted beside, by reason, and compared with nothing.
"""

from __future__ import annotations

from typing import Any

from agentslo.detect._judge_prompt import JUDGE_MODES
from agentslo.stats import cohen_kappa_2x2
from agentslo.store import Store

__all__ = ["judge_agreement"]


def judge_agreement(store: Store, modes: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per judge mode (``modes``, default all) comparing the judge's accepted
    verdicts with its counterpart detector's findings."""
    unknown = [m for m in modes or [] if m not in JUDGE_MODES]
    if unknown:
        raise ValueError(
            f"unknown judge mode {', '.join(map(repr, unknown))}; "
            f"use one of: {', '.join(JUDGE_MODES)}"
        )
    out = []
    for name in modes or list(JUDGE_MODES):
        mode = JUDGE_MODES[name]
        row = store.con.execute(
            """
            WITH judged AS (
                SELECT project, run_id, label = 'present' AS judge, cited_step
                FROM judge_verdicts WHERE mode = ? AND status = 'accepted'
            ), compared AS (
                SELECT j.*, EXISTS (
                    SELECT 1 FROM findings f WHERE f.project = j.project
                    AND f.run_id = j.run_id AND f.detector = ? AND f.mode = ?
                ) AS rules, EXISTS (
                    SELECT 1 FROM findings f WHERE f.project = j.project
                    AND f.run_id = j.run_id AND f.detector = ? AND f.mode = ?
                    AND f.step = j.cited_step
                ) AS same_step
                FROM judged j WHERE EXISTS (
                    SELECT 1 FROM detect_runs d WHERE d.project = j.project
                    AND d.run_id = j.run_id AND d.detector = ?
                )
            )
            SELECT (SELECT count(*) FROM judged),
                   count(*) FILTER (WHERE judge AND rules),
                   count(*) FILTER (WHERE judge AND NOT rules),
                   count(*) FILTER (WHERE rules AND NOT judge),
                   count(*) FILTER (WHERE NOT judge AND NOT rules),
                   count(*) FILTER (WHERE judge AND rules AND same_step)
            FROM compared
            """,
            [name, *(mode.detector, mode.detector_mode) * 2, mode.detector],
        ).fetchone()
        judged, both, only_judge, only_rules, neither, same_step = (
            (int(v) for v in row) if row else (0, 0, 0, 0, 0, 0)
        )
        compared = both + only_judge + only_rules + neither
        rejected = dict(
            store.con.execute(
                "SELECT reason, count(*) FROM judge_verdicts WHERE mode = ? AND "
                "status = 'rejected' GROUP BY reason ORDER BY reason",
                [name],
            ).fetchall()
        )
        errors = store.con.execute(
            "SELECT count(*) FROM judge_verdicts WHERE mode = ? AND status = 'error'", [name]
        ).fetchone()
        out.append(
            {
                "mode": name,
                "rules": f"{mode.detector}/{mode.detector_mode}",
                "judged": judged,
                "compared": compared,
                "both": both,
                "only_judge": only_judge,
                "only_rules": only_rules,
                "neither": neither,
                "agreement": (both + neither) / compared if compared else None,
                "kappa": cohen_kappa_2x2(both, only_judge, only_rules, neither),
                "same_step": same_step / both if both else None,
                "rejected": {str(k): int(v) for k, v in rejected.items()},
                "errors": int(errors[0]) if errors else 0,
            }
        )
    return out
