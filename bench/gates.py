"""Benchmark: error rates and stopping times of the regression gate's success test.

Simulates streams of paired runs (one per arm per step), looked at after every
step up to 20,000 runs per arm, and runs four monitors on the *same* streams:

- ``agentslo`` — the gate's test: one-sided betting e-process (half-normal
  mixture of bets, ``agentslo.stats.sign_test_boundary``), exact;
- ``mSPRT(5000)`` — Johari, Pekelis, Walsh's normal-mixture SPRT with the mixing
  variance tuned to a 5,000-run horizon (``agentslo.stats.msprt_log_lr``),
  "regressed" when Lambda >= 1/alpha with a negative estimate;
- ``asymptotic CS(5000)`` — the asymptotic confidence sequence GrowthBook uses,
  tuned to N = 5,000, "regressed" when its upper bound is below 0;
- ``naive z-test`` — a one-sided z-test at alpha repeated after every step from
  n = 20: what peeking at a dashboard does.

Prints (1) the false "regressed" rate with equal arms (p = 0.60 both), (2) the
runs per arm to "regressed" for a drop 0.60 -> 0.55 (mean, median, p80, p90)
next to the fixed-horizon sample size at 80% power, and writes (3) a PNG of one
confidence sequence narrowing as runs arrive (needs ``pip install -e '.[plot]'``).

Usage::

    python bench/gates.py                        # 10,000 streams each, ~2-3 minutes
    python bench/gates.py --streams 2000         # quicker
    python bench/gates.py --png docs/gates-confidence-sequence.png
"""

from __future__ import annotations

import argparse
import math
import os
import time
from statistics import NormalDist

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from agentslo.stats import (
    betting_cs,
    horizon_rho2,
    msprt_log_lr,
    msprt_mixing_variance,
    sign_test_boundary,
    update_betting_cs,
)

ALPHA = 0.05
HORIZON = 20_000
TUNED = 5_000
CHUNK = 200
METHODS = ("agentslo", "mSPRT(5000)", "asymptotic CS(5000)", "naive z-test")
console = Console()


def _first(hit: np.ndarray) -> np.ndarray:
    return np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, -1)


def simulate(
    pa: float, pb: float, streams: int, seed: int, progress: Progress
) -> dict[str, np.ndarray]:
    """Stopping step (runs per arm; -1 = never) of each monitor on the same streams."""
    rng = np.random.default_rng(seed)
    c = sign_test_boundary(HORIZON, ALPHA)
    tau2 = msprt_mixing_variance(TUNED, ALPHA, p=pa)
    r2 = horizon_rho2(TUNED, ALPHA)
    n = np.arange(1, HORIZON + 1, dtype=np.float64)
    # asymptotic CS half-width per unit standard deviation, at every n
    unit = np.sqrt(2 * (n * r2 + 1) / (n * n * r2) * np.log(np.sqrt(n * r2 + 1) / ALPHA)) * np.sqrt(
        n
    )
    z = NormalDist().inv_cdf(1 - ALPHA)
    out: dict[str, list[np.ndarray]] = {m: [] for m in METHODS}
    task = progress.add_task(f"p={pa:.2f} vs {pb:.2f}", total=streams)
    for start in range(0, streams, CHUNK):
        k = min(CHUNK, streams - start)
        a = rng.random((k, HORIZON), dtype=np.float32) < pa
        b = rng.random((k, HORIZON), dtype=np.float32) < pb
        worse = np.cumsum(a & ~b, axis=1, dtype=np.int32)
        better = np.cumsum(b & ~a, axis=1, dtype=np.int32)
        out["agentslo"].append(_first(worse >= c[worse + better]))
        ma = np.cumsum(a, axis=1, dtype=np.int32) / n
        mb = np.cumsum(b, axis=1, dtype=np.int32) / n
        diff = mb - ma
        var = (ma * (1 - ma) + mb * (1 - mb)) / n
        log_lr = msprt_log_lr(diff, var, tau2)
        out["mSPRT(5000)"].append(_first((log_lr >= math.log(1 / ALPHA)) & (diff < 0)))
        sd = np.sqrt(var)
        out["asymptotic CS(5000)"].append(_first((diff + sd * unit < 0) & (var > 0)))
        with np.errstate(divide="ignore", invalid="ignore"):
            naive = (diff / sd < -z) & (n >= 20)
        out["naive z-test"].append(_first(naive))
        progress.advance(task, k)
    return {m: np.concatenate(v) for m, v in out.items()}


def fixed_horizon_n(pa: float, pb: float, power: float, *, sided: int) -> int:
    """n per arm for a fixed-horizon z-test: (z_{1-alpha/s} + z_power)^2 (p q + p q) / delta^2."""
    nd = NormalDist()
    za = nd.inv_cdf(1 - ALPHA / sided)
    zb = nd.inv_cdf(power)
    return math.ceil((za + zb) ** 2 * (pa * (1 - pa) + pb * (1 - pb)) / (pa - pb) ** 2)


def type_one_table(stops: dict[str, np.ndarray], streams: int) -> Table:
    table = Table(title=f"False 'regressed' rate, equal arms p = 0.60, {streams:,} streams")
    table.add_column("monitor (look after every run, up to 20,000 per arm)")
    table.add_column("type-I error", justify="right")
    table.add_column("95% MC interval", justify="right")
    for method, stop in stops.items():
        rate = float(np.mean(stop > 0))
        se = math.sqrt(rate * (1 - rate) / stop.size)
        table.add_row(method, f"{rate:.4f}", f"±{1.96 * se:.4f}")
    return table


def stopping_table(stops: dict[str, np.ndarray], streams: int) -> Table:
    table = Table(title=f"Runs per arm to 'regressed', 0.60 -> 0.55, {streams:,} streams")
    for column in ("monitor", "power by 20,000", "mean", "median", "p80", "p90"):
        table.add_column(column, justify="right" if column != "monitor" else "left")
    for method, stop in stops.items():
        if method == "naive z-test":
            continue
        s = np.where(stop > 0, stop, HORIZON).astype(float)
        table.add_row(
            method,
            f"{np.mean(stop > 0):.4f}",
            f"{s.mean():,.0f}",
            f"{np.median(s):,.0f}",
            f"{np.quantile(s, 0.8):,.0f}",
            f"{np.quantile(s, 0.9):,.0f}",
        )
    one = fixed_horizon_n(0.6, 0.55, 0.8, sided=1)
    two = fixed_horizon_n(0.6, 0.55, 0.8, sided=2)
    table.add_row("fixed horizon, 80% power, one-sided", "0.80", f"{one:,}", "", "", "")
    table.add_row("fixed horizon, 80% power, two-sided", "0.80", f"{two:,}", "", "", "")
    return table


def robustness_table(runs: dict[float, dict[str, np.ndarray]], streams: int) -> Table:
    """Other effect sizes: how the tuning to effects of a few points behaves elsewhere."""
    table = Table(title=f"Other effects (baseline 0.60), {streams:,} streams each")
    for column in ("candidate p", "monitor", "power by 20,000", "mean", "median", "p90"):
        table.add_column(column, justify="left" if column == "monitor" else "right")
    for pb, stops in runs.items():
        for method in ("agentslo", "mSPRT(5000)"):
            stop = stops[method]
            s = np.where(stop > 0, stop, HORIZON).astype(float)
            table.add_row(
                f"{pb:.2f}",
                method,
                f"{np.mean(stop > 0):.3f}",
                f"{s.mean():,.0f}",
                f"{np.median(s):,.0f}",
                f"{np.quantile(s, 0.9):,.0f}",
            )
    return table


def plot(path: str, seed: int) -> None:
    """One stream, 0.60 vs 0.55: the gate's interval against a peeked-at fixed interval."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("the plot needs matplotlib: pip install -e '.[plot]'") from None
    rng = np.random.default_rng(seed)
    a = (rng.random(HORIZON) < 0.6).astype(float)
    b = (rng.random(HORIZON) < 0.55).astype(float)
    d = b - a
    checkpoints = np.unique(np.geomspace(20, 6_000, 120).astype(int))
    state = betting_cs(watch=(0.0,))
    lows, highs, naive_lo, naive_hi, est = [], [], [], [], []
    done = 0
    crossed = None
    for n in checkpoints:
        state = update_betting_cs(state, d[done:n])
        done = n
        low, high = state.bounds(ALPHA)
        lows.append(low)
        highs.append(high)
        pa, pb = a[:n].mean(), b[:n].mean()
        se = math.sqrt((pa * (1 - pa) + pb * (1 - pb)) / n)
        est.append(pb - pa)
        naive_lo.append(pb - pa - 1.96 * se)
        naive_hi.append(pb - pa + 1.96 * se)
        if crossed is None and state.log_evidence(0.0, "below") >= math.log(1 / ALPHA):
            crossed = n
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=120)
    ax.fill_between(
        checkpoints,
        lows,
        highs,
        alpha=0.3,
        label="always-valid interval (gate; each bound at alpha = 0.05)",
    )
    ax.plot(checkpoints, naive_lo, "k:", lw=1, label="fixed-n 95% interval, peeked at")
    ax.plot(checkpoints, naive_hi, "k:", lw=1)
    ax.plot(checkpoints, est, lw=1.2, label="estimate p_B - p_A")
    ax.axhline(0, color="grey", lw=0.8)
    ax.axhline(-0.05, color="red", lw=0.8, ls="--", label="true difference -0.05")
    if crossed is not None:
        ax.axvline(crossed, color="red", lw=1, label=f"'regressed' by {crossed:,} runs/arm")
    ax.set_xscale("log")
    ax.set_ylim(-0.4, 0.3)
    ax.set_xlabel("runs per arm (log scale)")
    ax.set_ylabel("success rate, candidate - baseline")
    ax.set_title("A confidence sequence narrowing as runs arrive (0.60 -> 0.55)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    console.print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--png", default=None, help="write the confidence-sequence plot here")
    parser.add_argument(
        "--effects",
        default="0.58,0.50",
        help="other candidate success rates (baseline 0.60) for the robustness table",
    )
    parser.add_argument("--effect-streams", type=int, default=2_000)
    args = parser.parse_args()
    started = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        null = simulate(0.6, 0.6, args.streams, args.seed, progress)
        alt = simulate(0.6, 0.55, args.streams, args.seed + 1, progress)
        others = {
            float(pb): simulate(0.6, float(pb), args.effect_streams, args.seed + 2 + i, progress)
            for i, pb in enumerate(args.effects.split(","))
            if pb.strip()
        }
    console.print(type_one_table(null, args.streams))
    console.print(stopping_table(alt, args.streams))
    if others:
        console.print(robustness_table(others, args.effect_streams))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    console.print(f"{time.perf_counter() - started:.0f} s; load average {load}; seed {args.seed}")
    if args.png:
        plot(args.png, args.seed)


if __name__ == "__main__":
    main()
