"""A brute-force, pure-Python reference for the fleet report, to hold the Ibis version to."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from agentslo.model import SOURCE_TRUST, Outcome, Run
from agentslo.stats import pass_at_k, pass_hat_k

LABEL_RANK = {"failure": 0, "partial": 1, "success": 2}


def effective(outcomes: Sequence[Outcome], sources: Sequence[str]) -> Outcome | None:
    """Most trusted source first, then the latest recorded, then the most pessimistic label."""
    eligible = [o for o in outcomes if o.source in sources]
    if not eligible:
        return None
    return min(
        eligible,
        key=lambda o: (SOURCE_TRUST[o.source], -o.recorded_at.timestamp(), LABEL_RANK[o.label]),
    )


def quantile(values: list[float], q: float) -> float | None:
    return None if not values else float(np.quantile(np.array(values, dtype=float), q))


def reference_group(
    runs: Sequence[Run], outcomes: Sequence[Outcome], sources: Sequence[str]
) -> dict[str, Any]:
    by_run: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_run[o.run_id].append(o)
    succ: dict[str, int | None] = {}
    claim: dict[str, int | None] = {}
    for r in runs:
        eff = effective(by_run[r.run_id], sources)
        succ[r.run_id] = None if eff is None else int(eff.label == "success")
        c = effective(by_run[r.run_id], ["claimed"])
        claim[r.run_id] = None if c is None else int(c.label == "success")
    attested = [v for v in succ.values() if v is not None]
    successes = sum(attested)
    claims = [v for v in claim.values() if v is not None]
    claimed_attested = [
        r.run_id for r in runs if claim[r.run_id] == 1 and succ[r.run_id] is not None
    ]
    false_claims = sum(1 for rid in claimed_attested if succ[rid] == 0)
    costs = [r.cost_usd for r in runs if r.cost_usd is not None]
    tokens = [r.total_tokens for r in runs if r.total_tokens is not None]
    total_cost = sum(costs) if costs else None
    total_tokens = sum(tokens) if tokens else None
    success_rate = successes / len(attested) if attested else None
    claimed_rate = sum(claims) / len(claims) if claims else None
    durations = [
        (r.ended_at - r.started_at).total_seconds() for r in runs if r.ended_at is not None
    ]
    out: dict[str, Any] = {
        "runs": len(runs),
        "with_outcome": len(attested),
        "successes": successes,
        "success_rate": success_rate,
        "claimed_success_rate": claimed_rate,
        "claim_gap": None
        if claimed_rate is None or success_rate is None
        else claimed_rate - success_rate,
        "false_claim_rate": false_claims / len(claimed_attested) if claimed_attested else None,
        "total_cost": total_cost,
        "cost_per_success": total_cost / successes
        if total_cost is not None and successes
        else None,
        "tokens_per_success": total_tokens / successes
        if total_tokens is not None and successes
        else None,
        "duration": {f"p{round(q * 100)}": quantile(durations, q) for q in (0.5, 0.95, 0.99)},
        "steps": {
            f"p{round(q * 100)}": quantile([r.steps for r in runs if r.steps is not None], q)
            for q in (0.5, 0.95, 0.99)
        },
        "tokens": {
            f"p{round(q * 100)}": quantile([float(t) for t in tokens], q) for q in (0.5, 0.95, 0.99)
        },
        "cost": {f"p{round(q * 100)}": quantile(costs, q) for q in (0.5, 0.95, 0.99)},
    }
    trials: dict[str, list[int]] = defaultdict(list)
    for r in runs:
        if r.trial is not None and r.task_id is not None and succ[r.run_id] is not None:
            trials[r.task_id].append(int(succ[r.run_id] or 0))
    if trials:
        min_n = min(len(v) for v in trials.values())
        out["pass_k"] = {
            k: float(np.mean([pass_hat_k(len(v), sum(v), k) for v in trials.values()]))
            for k in range(1, min_n + 1)
        }
        out["pass_at_k"] = {
            k: float(np.mean([pass_at_k(len(v), sum(v), k) for v in trials.values()]))
            for k in range(1, min_n + 1)
        }
    else:
        out["pass_k"] = {}
        out["pass_at_k"] = {}
    return out
