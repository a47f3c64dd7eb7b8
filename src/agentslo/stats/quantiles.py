"""Always-valid confidence sequences for quantiles, and a two-sample test of quantiles.

Howard & Ramdas (2022), "Sequential estimation of quantiles with applications to
A/B-testing and best-arm identification", Bernoulli 28(3). For the p-quantile Q
of i.i.d. X_1, X_2, ..., the count S_t(Q) = #{i <= t: X_i <= Q} is a Binomial(t,
F(Q)) walk with F(Q) >= p (and #{X_i < Q} one with F(Q-) <= p). If g_t is a
time-uniform boundary for a Binomial(t, p) walk,

    P(exists t: S_t - t p >= g_t) <= alpha / 2,   and likewise below,

then with probability at least 1 - alpha, for every t at once,

    X_(l_t) <= Q <= X_(u_t),   l_t = floor(t p - g_t) + 1,   u_t = ceil(t p + g_t)

(order statistics of the first t observations; -inf / +inf when the rank falls
outside 1..t). The boundary here is the exact Bernoulli exponential mixture: for
every lambda, exp(lambda (S_t - t p) - t kappa(lambda)) with kappa(lambda) =
log(1 - p + p e^lambda) - lambda p is a martingale, so a mixture over a
log-spaced grid of lambda with equal weights is one too, and Ville's inequality
gives g_t = the smallest g with mixture >= 2 / alpha. No continuity assumption:
ties and integer measures (steps, tokens) are covered.

Two samples (their Section 5): with each arm's sequence at level alpha, the ratio
of candidate to baseline quantiles lies in [L_B / U_A, U_B / L_A], each side
failing with probability at most alpha / 2 + alpha / 2 = alpha.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["bernoulli_boundary", "quantile_cs", "quantile_ratio_cs"]

F64 = npt.NDArray[np.float64]
_LAMBDAS: Final = np.geomspace(0.01, 4.0, 32)


def _kappa(lam: F64, p: float) -> F64:
    return np.log1p(p * np.expm1(lam)) - lam * p


def bernoulli_boundary(t: npt.ArrayLike, p: float, alpha: float, *, upper: bool = True) -> F64:
    """g_t with P(exists t: ±(S_t - t p) >= g_t) <= alpha for S_t ~ Binomial(t, p).

    The smallest g with  mean_j exp(|lambda_j| g - t kappa(±|lambda_j|)) >= 1 / alpha,
    found by bisection for every t at once.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"quantile level {p} must be in (0, 1), e.g. 0.95")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha {alpha} must be in (0, 1)")
    ts = np.asarray(t, np.float64)
    lam = _LAMBDAS if upper else -_LAMBDAS
    cost = ts[..., None] * _kappa(lam, p)  # (..., G)
    target = math.log(1.0 / alpha) + math.log(lam.size)
    low = np.zeros_like(ts)
    high = ts + 1.0
    for _ in range(50):
        mid = (low + high) / 2
        terms = np.abs(lam) * mid[..., None] - cost
        top = terms.max(axis=-1)
        ok = top + np.log(np.exp(terms - top[..., None]).sum(axis=-1)) >= target
        high = np.where(ok, mid, high)
        low = np.where(ok, low, mid)
    return high


def quantile_cs(values: npt.ArrayLike, p: float, alpha: float) -> tuple[float, float]:
    """The (1 - alpha) always-valid interval for the p-quantile after ``values``.

    Returns (X_(l), X_(u)) with the ranks above; (-inf, inf) while too few values.
    Depends only on the multiset of values, so batching cannot change it.
    """
    x = np.sort(np.asarray(values, np.float64).ravel())
    x = x[~np.isnan(x)]
    t = x.size
    if t == 0:
        return -math.inf, math.inf
    g_low = float(bernoulli_boundary(t, p, alpha / 2, upper=False))
    g_high = float(bernoulli_boundary(t, p, alpha / 2, upper=True))
    lo_rank = math.floor(t * p - g_low) + 1
    hi_rank = math.ceil(t * p + g_high)
    low = float(x[lo_rank - 1]) if lo_rank >= 1 else -math.inf
    high = float(x[hi_rank - 1]) if hi_rank <= t else math.inf
    return low, high


def quantile_ratio_cs(
    baseline: npt.ArrayLike, candidate: npt.ArrayLike, p: float, alpha: float
) -> tuple[float, float]:
    """Always-valid bounds on Q_B(p) / Q_A(p) for non-negative measures.

    [L_B / U_A, U_B / L_A] from each arm's (1 - alpha) sequence; each bound alone
    holds with probability at least 1 - alpha. 0 and inf where an arm's bound is
    still unbounded or zero.
    """
    la, ua = quantile_cs(baseline, p, alpha)
    lb, ub = quantile_cs(candidate, p, alpha)
    low = lb / ua if lb > 0 and math.isfinite(ua) and ua > 0 else 0.0
    high = ub / la if la > 0 and math.isfinite(ub) else math.inf
    return low, high
