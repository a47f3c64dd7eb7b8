"""Cohen's kappa: a worked example, its properties, and the undefined cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentslo.stats import cohen_kappa, cohen_kappa_2x2

tables = st.integers(2, 4).flatmap(
    lambda k: st.lists(st.lists(st.integers(0, 50), min_size=k, max_size=k), min_size=k, max_size=k)
)


def test_worked_example() -> None:
    # 50 items: both yes 20, A alone 5, B alone 10, both no 15.
    # p_o = 35/50 = 0.7; p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = 0.2/0.5 = 0.4
    assert cohen_kappa_2x2(20, 5, 10, 15) == pytest.approx(0.4)


def test_perfect_chance_and_opposite_agreement() -> None:
    assert cohen_kappa_2x2(10, 0, 0, 30) == pytest.approx(1.0)
    assert cohen_kappa_2x2(25, 25, 25, 25) == pytest.approx(0.0)
    assert cohen_kappa_2x2(0, 10, 10, 0) == pytest.approx(-1.0)


def test_undefined_cases_are_none() -> None:
    assert cohen_kappa_2x2(0, 0, 0, 0) is None
    assert cohen_kappa_2x2(0, 0, 0, 12) is None  # both always said no
    with pytest.raises(ValueError, match="square"):
        cohen_kappa([[1, 2, 3]])
    with pytest.raises(ValueError, match="non-negative"):
        cohen_kappa([[1, -1], [0, 1]])


@given(tables)
def test_kappa_is_at_most_one_and_symmetric(table: list[list[int]]) -> None:
    kappa = cohen_kappa(table)
    transposed = cohen_kappa([list(col) for col in zip(*table, strict=True)])
    if kappa is None:
        assert transposed is None
        return
    assert kappa <= 1.0 + 1e-12
    assert transposed == pytest.approx(kappa)
    # relabelling the categories (the same permutation for both raters) changes nothing
    order = list(reversed(range(len(table))))
    permuted = [[table[i][j] for j in order] for i in order]
    assert cohen_kappa(permuted) == pytest.approx(kappa)
