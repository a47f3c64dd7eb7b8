"""Wilson interval: properties and simulated coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentslo.stats import wilson_interval


@given(n=st.integers(1, 10_000), data=st.data())
def test_interval_contains_the_estimate_and_stays_in_unit_range(
    n: int, data: st.DataObject
) -> None:
    s = data.draw(st.integers(0, n))
    low, high = wilson_interval(s, n)
    assert 0.0 <= low <= s / n <= high <= 1.0


@given(n=st.integers(2, 2000), data=st.data())
def test_interval_narrows_with_confidence(n: int, data: st.DataObject) -> None:
    s = data.draw(st.integers(0, n))
    l90, h90 = wilson_interval(s, n, 0.90)
    l99, h99 = wilson_interval(s, n, 0.99)
    assert l99 <= l90 + 1e-12 and h90 <= h99 + 1e-12


def test_known_value() -> None:
    # Textbook example (Newcombe 1998, Statistics in Medicine, Table I): 81/263.
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


def test_no_data_gives_nan_and_bad_input_raises() -> None:
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    with pytest.raises(ValueError, match="successes <= n"):
        wilson_interval(5, 3)
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 3, 1.5)


@pytest.mark.parametrize(("p", "n"), [(0.5, 20), (0.9, 50), (0.05, 200), (0.6, 1000)])
def test_simulated_coverage_is_close_to_nominal(p: float, n: int) -> None:
    rng = np.random.default_rng(20261122)
    successes = rng.binomial(n, p, size=4000)
    covered = 0
    for s in successes:
        low, high = wilson_interval(int(s), n)
        covered += low <= p <= high
    coverage = covered / len(successes)
    # Wilson's coverage oscillates around nominal; Brown-Cai-DasGupta report >= ~0.92.
    assert coverage >= 0.92, coverage
