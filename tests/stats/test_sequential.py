"""Always-valid sequential tests: error rates and power by fixed-seed simulation,
batching invariance by property tests, and agreement between equivalent forms."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentslo.stats import (
    Pairing,
    RatioSums,
    bernoulli_boundary,
    betting_cs,
    bonferroni_alpha,
    msprt_state,
    pair_arms,
    projected_runs,
    quantile_cs,
    quantile_ratio_cs,
    ratio_of_ratios_cs,
    sign_test_boundary,
    sign_test_log_evidence,
    update_betting_cs,
    update_msprt,
    update_ratio_sums,
)

ALPHA = 0.05
HORIZON = 20_000


def stopping_times(
    pa: float, pb: float, streams: int, seed: int, horizon: int = HORIZON
) -> tuple[np.ndarray, np.ndarray]:
    """First pair index (1-based; -1 never) at which the gate's success test says
    ``regressed``, and the naive repeated one-sided z-test's, on the same streams."""
    rng = np.random.default_rng(seed)
    c = sign_test_boundary(horizon, ALPHA)
    ours, naive = [], []
    n = np.arange(1, horizon + 1)
    for start in range(0, streams, 250):
        k = min(250, streams - start)
        a = rng.random((k, horizon), dtype=np.float32) < pa
        b = rng.random((k, horizon), dtype=np.float32) < pb
        worse = np.cumsum(a & ~b, axis=1, dtype=np.int32)
        better = np.cumsum(b & ~a, axis=1, dtype=np.int32)
        hit = worse >= c[worse + better]
        ours.append(np.where(hit.any(1), hit.argmax(1) + 1, -1))
        sa = np.cumsum(a, axis=1, dtype=np.int32) / n
        sb = np.cumsum(b, axis=1, dtype=np.int32) / n
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (sb - sa) / np.sqrt((sa * (1 - sa) + sb * (1 - sb)) / n)
        zhit = (z < -1.6449) & (n >= 20)
        naive.append(np.where(zhit.any(1), zhit.argmax(1) + 1, -1))
    return np.concatenate(ours), np.concatenate(naive)


def test_type_one_error_under_continuous_monitoring() -> None:
    ours, naive = stopping_times(0.6, 0.6, 2_000, seed=20261122)
    false_alarm = float(np.mean(ours > 0))
    assert false_alarm <= ALPHA
    # the same streams, peeked at with a z-test after every pair, cry wolf far more
    assert float(np.mean(naive > 0)) > 0.3


def test_power_and_stopping_time_beat_the_references() -> None:
    ours, _ = stopping_times(0.6, 0.55, 1_000, seed=7)
    assert np.all(ours > 0)
    assert ours.mean() < 1_500  # mSPRT(5,000): 1,963; asymptotic CS: 1,707
    assert np.median(ours) < 1_300


def test_sign_test_boundary_is_the_betting_test_at_zero() -> None:
    rng = np.random.default_rng(3)
    d = (rng.random(4_000) < 0.5).astype(float) - (rng.random(4_000) < 0.6).astype(float)
    state = update_betting_cs(betting_cs(watch=(0.0,)), d)
    worse, better = np.cumsum(d == -1), np.cumsum(d == 1)
    running = float(sign_test_log_evidence(worse, better).max())
    assert state.log_evidence(0.0, "below") == pytest.approx(running, rel=1e-9)
    c = sign_test_boundary(int((worse + better)[-1]), ALPHA)
    crossed = worse >= c[worse + better]
    assert crossed.any() == (running >= math.log(1 / ALPHA))


def test_betting_interval_covers_and_narrows() -> None:
    rng = np.random.default_rng(11)
    d = (rng.random(5_000) < 0.55).astype(float) - (rng.random(5_000) < 0.6).astype(float)
    early = update_betting_cs(betting_cs(), d[:500])
    late = update_betting_cs(early, d[500:])
    for state in (early, late):
        low, high = state.bounds(ALPHA)
        assert low <= -0.05 <= high
    assert np.diff(late.bounds(ALPHA)) < np.diff(early.bounds(ALPHA))


def _splits(draw: st.DrawFn, size: int) -> list[int]:
    cuts = draw(st.lists(st.integers(0, size), max_size=6))
    return sorted(set(cuts))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_batching_does_not_change_any_answer(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 150))
    arm = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    x = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=n, max_size=n)))
    cost = np.array(data.draw(st.lists(st.floats(0, 10), min_size=n, max_size=n)))
    cuts = [0, *_splits(data.draw, n), n]
    once_pairs = pair_arms(Pairing(), arm, x)
    once_cs = update_betting_cs(betting_cs(watch=(0.0, -0.02)), once_pairs[1])
    once_msprt = update_msprt(msprt_state(), arm, x)
    once_ratio = update_ratio_sums(RatioSums(), cost, x)
    pairing, cs, ms, ratio = Pairing(), betting_cs(watch=(0.0, -0.02)), msprt_state(), RatioSums()
    for lo, hi in itertools.pairwise(cuts):
        pairing, diffs = pair_arms(pairing, arm[lo:hi], x[lo:hi])
        cs = update_betting_cs(cs, diffs)
        ms = update_msprt(ms, arm[lo:hi], x[lo:hi])
        ratio = update_ratio_sums(ratio, cost[lo:hi], x[lo:hi])
    assert pairing == once_pairs[0]
    assert cs.n == once_cs.n
    assert cs.bounds(ALPHA) == once_cs.bounds(ALPHA)
    for mu in (0.0, -0.02):
        for side in ("below", "above"):
            assert cs.log_evidence(mu, side) == pytest.approx(once_cs.log_evidence(mu, side))
    assert ms.runs == once_msprt.runs and ms.successes == once_msprt.successes
    assert ms.max_log_lr == pytest.approx(once_msprt.max_log_lr)
    assert ratio.n == once_ratio.n and ratio.cost == pytest.approx(once_ratio.cost)


def test_quantile_boundary_coverage_over_the_whole_stream() -> None:
    """The Binomial walk S_t - t p of the true quantile crosses g_t on either side
    (the only way the order-statistic interval misses) in at most alpha of streams."""
    rng = np.random.default_rng(5)
    p, horizon, streams = 0.95, 5_000, 2_000
    t = np.arange(1, horizon + 1)
    upper = bernoulli_boundary(t, p, ALPHA / 2, upper=True)
    lower = bernoulli_boundary(t, p, ALPHA / 2, upper=False)
    misses = 0
    for _ in range(streams // 500):
        walk = np.cumsum(rng.random((500, horizon)) < p, axis=1) - t * p
        misses += int(np.any((walk >= upper) | (walk <= -lower), axis=1).sum())
    assert misses / streams <= ALPHA


def test_quantile_interval_covers_the_true_p95() -> None:
    rng = np.random.default_rng(8)
    true = math.exp(1.6449 * 0.6)  # p95 of lognormal(0, 0.6)
    missed = 0
    for _ in range(300):
        x = rng.lognormal(0.0, 0.6, 1_000)
        low, high = quantile_cs(x, 0.95, ALPHA)
        missed += not low <= true <= high
    assert missed / 300 <= ALPHA
    assert quantile_cs([], 0.95, ALPHA) == (-math.inf, math.inf)


def test_latency_regression_is_caught_and_equal_arms_are_not() -> None:
    rng = np.random.default_rng(9)
    base = rng.lognormal(0.0, 0.5, 4_000)
    slower = rng.lognormal(math.log(1.2), 0.5, 4_000)
    same = rng.lognormal(0.0, 0.5, 4_000)
    assert quantile_ratio_cs(base, slower, 0.95, ALPHA)[0] > 1.0
    low, high = quantile_ratio_cs(base, same, 0.95, ALPHA)
    assert low <= 1.0 <= high


def _ratio_arm(rng: np.random.Generator, n: int, p: float, cost: float) -> RatioSums:
    success = (rng.random(n) < p).astype(float)
    return update_ratio_sums(RatioSums(), rng.gamma(2.0, cost / 2.0, n), success)


def test_cost_per_success_regression_is_caught_and_equal_arms_are_not() -> None:
    rng = np.random.default_rng(10)
    base = _ratio_arm(rng, 4_000, 0.6, 1.0)
    dearer = _ratio_arm(rng, 4_000, 0.6, 1.25)
    assert ratio_of_ratios_cs(base, dearer, ALPHA)[1] > 1.0
    flagged = 0
    for _ in range(200):
        a, b = _ratio_arm(rng, 2_000, 0.6, 1.0), _ratio_arm(rng, 2_000, 0.6, 1.0)
        flagged += ratio_of_ratios_cs(a, b, ALPHA)[1] > 1.0
    assert flagged / 200 <= ALPHA


def test_msprt_matches_its_formula_and_tracks_the_running_maximum() -> None:
    state = update_msprt(msprt_state(5_000, ALPHA), [0, 1] * 400, [1, 0] * 400)
    # every baseline run succeeded and every candidate run failed: no variance, so
    # the plug-in mSPRT has no evidence (the betting test does not have this blind spot)
    assert state.estimate() == (-1.0, 0.0)
    assert state.p_value() == 1.0
    rng = np.random.default_rng(2)
    arm = rng.integers(0, 2, 6_000)
    x = (rng.random(6_000) < np.where(arm == 1, 0.5, 0.6)).astype(float)
    state = update_msprt(msprt_state(5_000, ALPHA), arm, x)
    theta, v = state.estimate()
    t2 = state.tau2
    now = 0.5 * math.log(v / (v + t2)) + t2 * theta**2 / (2 * v * (v + t2))
    assert state.max_log_lr >= now
    assert state.p_value() < ALPHA
    low, high = state.interval(ALPHA)
    assert low < theta < high < 0


def test_projection_shrinks_with_distance() -> None:
    near = projected_runs(0.05, 0.01, 1_000, ALPHA)
    far = projected_runs(0.05, 0.04, 1_000, ALPHA)
    assert near is not None and far is not None and near > far > 0
    assert projected_runs(0.05, 0.0, 1_000, ALPHA) is None
    assert projected_runs(0.01, 0.05, 1_000, ALPHA) == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: bonferroni_alpha(1.5, 2), "alpha 1.5 must be in (0, 1)"),
        (lambda: bonferroni_alpha(0.05, 0), "need at least one metric"),
        (lambda: update_betting_cs(betting_cs(), [2.0]), "observations in [-1, 1]"),
        (lambda: betting_cs(watch=(3.0,)), "watched mean 3.0 is outside [-1, 1]"),
        (lambda: betting_cs().log_evidence(0.5, "below"), "not watched"),
        (lambda: pair_arms(Pairing(), [0, 1], [1.0]), "differ in length"),
        (lambda: update_msprt(msprt_state(), [2], [1.0]), "arm in {0, 1}"),
        (lambda: update_ratio_sums(RatioSums(), [-1.0], [1.0]), "non-negative"),
        (lambda: bernoulli_boundary(10, 1.5, ALPHA), "quantile level 1.5"),
    ],
)
def test_bad_input_is_named(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        call()  # type: ignore[operator]


def test_bonferroni_split() -> None:
    assert bonferroni_alpha(0.05, 4) == pytest.approx(0.0125)
