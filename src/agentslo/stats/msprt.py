"""The mixture sequential probability ratio test (mSPRT) for a difference of proportions.

Johari, Pekelis, Walsh (2022), "Always Valid Inference: Continuous Monitoring of
A/B Tests", Operations Research 70(3) (and Johari, Koomen, Pekelis, Walsh 2017,
"Peeking at A/B Tests", KDD). With arm means p̂_A, p̂_B over n_A, n_B runs, the
estimate theta = p̂_B - p̂_A has plug-in variance

    V = p̂_A (1 - p̂_A) / n_A + p̂_B (1 - p̂_B) / n_B,

and the likelihood ratio of theta against theta_0, mixed over theta ~ N(theta_0, tau^2), is

    Lambda = sqrt(V / (V + tau^2)) * exp( tau^2 (theta - theta_0)^2 / (2 V (V + tau^2)) ).

The always-valid p-value is p_t = min(1, 1 / max_{s <= t} Lambda_s), and the
confidence sequence is the set of theta_0 with Lambda < 1/alpha, i.e.

    theta ± sqrt( V (V + tau^2) / tau^2 * (2 log(1/alpha) + log((V + tau^2) / V)) ).

The normal approximation makes it asymptotic: valid as counts grow, optimistic in
the first few dozen runs. The mixing variance is tuned to a horizon N (runs per
arm) as tau^2 = sigma^2 rho^2 with sigma^2 the variance of one pair's difference
and rho^2 from :func:`agentslo.stats.asymptotic.horizon_rho2`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from agentslo.stats.asymptotic import horizon_rho2

__all__ = ["MSPRTState", "msprt_log_lr", "msprt_mixing_variance", "msprt_state", "update_msprt"]


def msprt_mixing_variance(horizon: float, alpha: float, p: float = 0.5) -> float:
    """tau^2 = 2 p (1 - p) rho^2(N): the mixture tuned to a horizon of N runs per arm."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"base rate {p} must be in (0, 1)")
    return 2.0 * p * (1.0 - p) * horizon_rho2(horizon, alpha)


def msprt_log_lr(
    theta: npt.ArrayLike, variance: npt.ArrayLike, tau2: float
) -> npt.NDArray[np.float64]:
    """log Lambda for estimates ``theta`` (minus theta_0) with plug-in ``variance``.

    ``0.5 log(V / (V + tau^2)) + tau^2 theta^2 / (2 V (V + tau^2))``; -inf where V = 0
    (no variance yet: no evidence either way).
    """
    th = np.asarray(theta, np.float64)
    v = np.asarray(variance, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 0.5 * np.log(v / (v + tau2)) + tau2 * th * th / (2.0 * v * (v + tau2))
    return np.where(v > 0, out, -np.inf)


@dataclass(frozen=True)
class MSPRTState:
    """Counts per arm and the running maximum of log Lambda (against theta_0 = 0)."""

    tau2: float
    successes: tuple[int, int] = (0, 0)
    runs: tuple[int, int] = (0, 0)
    max_log_lr: float = -math.inf

    def estimate(self) -> tuple[float, float]:
        """(theta, V): difference candidate - baseline and its plug-in variance."""
        (sa, sb), (na, nb) = self.successes, self.runs
        if na == 0 or nb == 0:
            return math.nan, math.nan
        pa, pb = sa / na, sb / nb
        return pb - pa, pa * (1 - pa) / na + pb * (1 - pb) / nb

    def p_value(self) -> float:
        """Always-valid p-value of theta = 0: min(1, 1 / max Lambda)."""
        return min(1.0, math.exp(-self.max_log_lr)) if self.max_log_lr > -math.inf else 1.0

    def interval(self, alpha: float) -> tuple[float, float]:
        """The current (1 - alpha) confidence sequence for theta (nan before data)."""
        theta, v = self.estimate()
        if not v > 0:
            return -1.0, 1.0
        t2 = self.tau2
        half = math.sqrt(v * (v + t2) / t2 * (2 * math.log(1 / alpha) + math.log((v + t2) / v)))
        return max(-1.0, theta - half), min(1.0, theta + half)


def msprt_state(horizon: float = 5_000, alpha: float = 0.05, p: float = 0.5) -> MSPRTState:
    """An empty mSPRT with its mixing variance tuned to ``horizon`` runs per arm."""
    return MSPRTState(tau2=msprt_mixing_variance(horizon, alpha, p))


def update_msprt(state: MSPRTState, arm: npt.ArrayLike, success: npt.ArrayLike) -> MSPRTState:
    """Feed runs in arrival order (``arm`` 0 baseline / 1 candidate, ``success`` 0/1),
    evaluating Lambda after every run so the answer does not depend on batching."""
    arms = np.asarray(arm, np.int64).ravel()
    xs = np.asarray(success, np.float64).ravel()
    if arms.shape != xs.shape:
        raise ValueError(f"arm and success differ in length ({arms.size} vs {xs.size})")
    if arms.size == 0:
        return state
    if not np.isin(arms, (0, 1)).all() or not np.isin(xs, (0.0, 1.0)).all():
        raise ValueError("mSPRT needs arm in {0, 1} and success in {0, 1}")
    is_b = arms == 1
    na = state.runs[0] + np.cumsum(~is_b)
    nb = state.runs[1] + np.cumsum(is_b)
    sa = state.successes[0] + np.cumsum(np.where(is_b, 0.0, xs))
    sb = state.successes[1] + np.cumsum(np.where(is_b, xs, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        pa, pb = sa / na, sb / nb
        v = pa * (1 - pa) / na + pb * (1 - pb) / nb
    ok = (na > 0) & (nb > 0)
    log_lr = msprt_log_lr(np.where(ok, pb - pa, 0.0), np.where(ok, v, 0.0), state.tau2)
    return replace(
        state,
        successes=(int(sa[-1]), int(sb[-1])),
        runs=(int(na[-1]), int(nb[-1])),
        max_log_lr=max(state.max_log_lr, float(log_lr.max())),
    )
