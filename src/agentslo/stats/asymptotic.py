"""Asymptotic confidence sequences, horizon-tuned mixing and sample-size projection.

Waudby-Smith, Arnold, Wu, Howard, Ramdas (2024), "Time-uniform central limit
theory and asymptotic confidence sequences", Annals of Statistics 52(6): for an
estimator with (plug-in) variance sigma^2 / t, the normal-mixture boundary gives

    estimate ± sigma * sqrt( 2 (t rho^2 + 1) / (t^2 rho^2) * log( sqrt(t rho^2 + 1) / alpha ) ),

an asymptotic (1 - alpha) confidence sequence: valid uniformly over time as the
sample grows, under i.i.d. data with finite variance (no bound needed). The
mixing parameter is tuned so the boundary is tightest at t = N (Howard, Ramdas,
McAuliffe, Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic confidence
sequences", Annals of Statistics 49(2), on tuning the normal mixture to a target
sample size):

    rho^2 = (-2 log alpha + log(-2 log alpha + 1)) / N.

It is the boundary GrowthBook and Eppo use for "sequential testing".
"""

from __future__ import annotations

import math

__all__ = ["asymptotic_halfwidth", "horizon_rho2", "projected_runs"]


def horizon_rho2(horizon: float, alpha: float) -> float:
    """rho^2 = (-2 log alpha + log(-2 log alpha + 1)) / N: the mixture tightest at N."""
    if horizon <= 0:
        raise ValueError(f"horizon {horizon} must be positive (a number of runs per arm)")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha {alpha} must be in (0, 1)")
    c = -2.0 * math.log(alpha)
    return (c + math.log(c + 1.0)) / horizon


def asymptotic_halfwidth(sigma: float, t: float, alpha: float, horizon: float = 5_000) -> float:
    """Half-width of the asymptotic CS for an estimator with variance sigma^2 / t.

    ``sigma * sqrt(2 (t rho^2 + 1) / (t^2 rho^2) * log(sqrt(t rho^2 + 1) / alpha))``
    with rho^2 from :func:`horizon_rho2`; inf for t <= 0.
    """
    if t <= 0:
        return math.inf
    r2 = horizon_rho2(horizon, alpha)
    tr = t * r2
    return sigma * math.sqrt(2.0 * (tr + 1.0) / (t * tr) * math.log(math.sqrt(tr + 1.0) / alpha))


def projected_runs(
    halfwidth: float, distance: float, n: float, alpha: float, horizon: float = 5_000
) -> int | None:
    """Runs per arm still likely needed before an interval of ``halfwidth`` at ``n``
    runs per arm clears a threshold ``distance`` away from the estimate.

    Assumes the estimate stays where it is and the width shrinks like the
    normal-mixture boundary, w(n') = w(n) * h(n') / h(n) with h the half-width
    per unit sigma of :func:`asymptotic_halfwidth`. A projection, not a promise:
    None when the estimate sits on the threshold (no finite sample decides it) or
    beyond 10 million runs.
    """
    if not (distance > 0 and math.isfinite(halfwidth) and n > 0):
        return None
    if halfwidth < distance:
        return 0
    unit = asymptotic_halfwidth(1.0, n, alpha, horizon)
    low, high = n, n
    while asymptotic_halfwidth(1.0, high, alpha, horizon) * halfwidth / unit >= distance:
        if high > 1e7:
            return None
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) / 2
        if asymptotic_halfwidth(1.0, mid, alpha, horizon) * halfwidth / unit >= distance:
            low = mid
        else:
            high = mid
    return max(1, math.ceil(high - n))
