"""Family-wise error control across the metrics of one gate.

Bonferroni: each of K metrics is tested at alpha / K. By the union bound,

    P(any true null rejected) <= sum_k P(null k rejected) <= K * alpha / K = alpha,

whatever the dependence between the metrics (success, latency and cost of the
same runs are strongly dependent). The always-valid guarantees compose: each
metric's sequence holds at alpha / K uniformly over time, so the union does too,
for every stopping rule. (Bonferroni, 1936; see e.g. Wasserman, *All of
Statistics*, 10.7.) Holm's step-down would be uniformly more powerful at one look
but re-orders metrics as data arrives, which a monitor must not do mid-stream.
"""

from __future__ import annotations

__all__ = ["bonferroni_alpha"]


def bonferroni_alpha(alpha: float, metrics: int) -> float:
    """alpha / K: the level each of ``metrics`` tests runs at for family-wise level alpha."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha {alpha} must be in (0, 1), e.g. 0.05")
    if metrics < 1:
        raise ValueError(f"need at least one metric, got {metrics}")
    return alpha / metrics
