"""An always-valid interval for a ratio of sums: cost per successful run.

Cost per success of an arm is R = E[cost] / E[success] (total spend over all runs
divided by successes). Linearise (the delta method): with
Z_i = cost_i - R success_i, R̂ - R ≈ mean(Z) / mean(success), so

    Var(log R̂) ≈ Var(Z) / (n * mean(cost)^2),
    Var(Z) = Var(cost) - 2 R Cov(cost, success) + R^2 Var(success).

For two arms, log(R_B / R_A) has plug-in variance V = sum over arms of that, and
the asymptotic confidence sequence of Waudby-Smith et al. (2024) (see
:mod:`agentslo.stats.asymptotic`) with t the effective runs per arm
2 n_A n_B / (n_A + n_B) gives

    log(R̂_B / R̂_A) ± sqrt(V t) * h(t),

with h the normal-mixture half-width per unit standard deviation at level alpha.

Assumptions, stated plainly: runs are i.i.d. within an arm (a run's cost and
success are paired, arbitrarily dependent); costs have finite variance; both
arms have successes. The guarantee is asymptotic (time-uniform as the number of
runs grows), not exact for tiny samples; the gate therefore refuses to call
``safe`` before a minimum number of runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from agentslo.stats.asymptotic import asymptotic_halfwidth

__all__ = ["RatioSums", "ratio_of_ratios_cs", "update_ratio_sums"]


@dataclass(frozen=True)
class RatioSums:
    """Sufficient statistics of one arm: n, sums of cost, success, their squares and product."""

    n: int = 0
    cost: float = 0.0
    success: float = 0.0
    cost2: float = 0.0
    success2: float = 0.0
    cross: float = 0.0

    @property
    def ratio(self) -> float:
        """Total cost / successes (inf when nothing succeeded)."""
        return self.cost / self.success if self.success > 0 else math.inf

    def log_variance(self) -> float:
        """Var(Z) / (n mean(cost)^2): the plug-in variance of log R̂ (inf if undefined)."""
        if self.n < 2 or self.success <= 0 or self.cost <= 0:
            return math.inf
        n = self.n
        mc, ms = self.cost / n, self.success / n
        var_c = self.cost2 / n - mc * mc
        var_s = self.success2 / n - ms * ms
        cov = self.cross / n - mc * ms
        r = self.ratio
        var_z = max(var_c - 2 * r * cov + r * r * var_s, 0.0)
        return var_z / (n * mc * mc)


def update_ratio_sums(sums: RatioSums, cost: npt.ArrayLike, success: npt.ArrayLike) -> RatioSums:
    """Add runs (cost >= 0, success 0/1); order and batching do not matter."""
    c = np.asarray(cost, np.float64).ravel()
    s = np.asarray(success, np.float64).ravel()
    if c.shape != s.shape:
        raise ValueError(f"cost and success differ in length ({c.size} vs {s.size})")
    if c.size and (np.isnan(c).any() or c.min() < 0):
        raise ValueError("costs must be non-negative numbers; fill missing costs with 0")
    return replace(
        sums,
        n=sums.n + c.size,
        cost=sums.cost + float(c.sum()),
        success=sums.success + float(s.sum()),
        cost2=sums.cost2 + float((c * c).sum()),
        success2=sums.success2 + float((s * s).sum()),
        cross=sums.cross + float((c * s).sum()),
    )


def ratio_of_ratios_cs(
    baseline: RatioSums, candidate: RatioSums, alpha: float, horizon: float = 5_000
) -> tuple[float, float, float]:
    """(estimate, low, high) for R_B / R_A, the change in cost per success.

    Bounds are exp(log R̂_B/R̂_A ± sqrt(V t) h(t)); (nan, 0, inf) when undefined.
    """
    v = baseline.log_variance() + candidate.log_variance()
    if not math.isfinite(v):
        return math.nan, 0.0, math.inf
    est = math.log(candidate.ratio / baseline.ratio)
    t = 2.0 * baseline.n * candidate.n / (baseline.n + candidate.n)
    half = asymptotic_halfwidth(math.sqrt(v * t), t, alpha, horizon)
    return math.exp(est), math.exp(est - half), math.exp(est + half)
