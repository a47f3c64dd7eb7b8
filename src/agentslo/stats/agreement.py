"""Agreement between two raters beyond chance: Cohen's kappa.

Cohen, J. (1960). "A coefficient of agreement for nominal scales." *Educational and
Psychological Measurement* 20(1), 37-46. For two raters labelling the same n items
into k categories, with the k x k table n_ij (rater A said i, rater B said j):

    p_o = sum_i n_ii / n                       (observed agreement)
    p_e = sum_i (n_i. / n) (n_.i / n)          (agreement expected by chance,
                                                from each rater's own label shares)
    kappa = (p_o - p_e) / (1 - p_e)

kappa is 1 for perfect agreement, 0 for agreement no better than chance and negative
below it. It is undefined when p_e = 1 (both raters gave every item the same single
label), and then None is returned rather than a number that means nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["cohen_kappa", "cohen_kappa_2x2"]


def cohen_kappa(table: Sequence[Sequence[int]]) -> float | None:
    """Cohen's kappa (formula in the module docstring) of a square count table whose
    rows are rater A's labels and columns rater B's; None when undefined (no items,
    or chance agreement 1)."""
    counts = np.asarray(table, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"cohen_kappa needs a square table of counts, got shape {counts.shape}")
    if (counts < 0).any():
        raise ValueError("cohen_kappa: counts must be non-negative")
    n = float(counts.sum())
    if n == 0:
        return None
    p_o = float(np.trace(counts)) / n
    p_e = float(counts.sum(axis=1) @ counts.sum(axis=0)) / (n * n)
    if p_e >= 1.0:
        return None
    return float((p_o - p_e) / (1.0 - p_e))


def cohen_kappa_2x2(both: int, only_a: int, only_b: int, neither: int) -> float | None:
    """Cohen's kappa of two yes/no raters: ``both`` said yes, ``only_a``/``only_b``
    said yes alone, ``neither`` said yes."""
    return cohen_kappa([[both, only_a], [only_b, neither]])
