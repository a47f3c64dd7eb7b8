"""Repeated-trial reliability: pass^k (all k trials succeed) and pass@k (any does).

These are the per-task reference formulas; ``agentslo.metrics`` computes the same
quantities over a store as Ibis expressions, and the tests hold the two together.
"""

from __future__ import annotations

from math import comb

__all__ = ["pass_at_k", "pass_hat_k"]


def _check(n: int, c: int, k: int) -> None:
    if not (0 <= c <= n) or not (1 <= k <= n):
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of pass^k for one task: the chance that k i.i.d. trials all pass.

    Yao, Shinn, Razavi, Narasimhan (2024), "τ-bench: A Benchmark for Tool-Agent-User
    Interaction in Real-World Domains", eq. (1): with n trials of which c succeeded,

        pass^k = C(c, k) / C(n, k)

    averaged over tasks. It is unbiased for p^k when trials are i.i.d. Bernoulli(p),
    because C(c, k)/C(n, k) is the chance that k trials drawn without replacement
    from the n observed are all successes.
    """
    _check(n, c, k)
    return comb(c, k) / comb(n, k)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of pass@k for one task: the chance that at least one of k passes.

    Chen et al. (2021), "Evaluating Large Language Models Trained on Code", eq. (1):

        pass@k = 1 - C(n - c, k) / C(n, k)
    """
    _check(n, c, k)
    return 1.0 - comb(n - c, k) / comb(n, k)
