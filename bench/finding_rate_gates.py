"""Benchmark: the regression gate on finding rates (``--metric loop_rate``) at the small
base rates findings have, looked at after every run.

A finding-rate metric runs the success metric's test (Waudby-Smith & Ramdas 2023
betting e-process on paired differences, ``agentslo.stats.betting``) on the share of
runs *without* the finding. This simulates streams of paired runs, one per arm per
step up to 20,000 per arm, each run having the finding with probability p_A
(baseline) or p_B (candidate), and reports on the same streams:

1. the false ``regressed`` rate with equal arms (must stay below alpha, however
   often the gate is looked at);
2. the runs per arm to ``regressed`` for rises of the rate, next to the
   fixed-horizon one-sided z-test's n at 80% power (valid for one look only);
3. the runs per arm to ``safe`` with the default margin (a rise of at most 1 point)
   for equal arms, and the false ``safe`` rate when the rate truly rose by more
   than the margin (must stay below alpha).

``regressed`` uses the closed form of the test at 0 (``sign_test_boundary``: a
comparison of discordant-pair counts); ``safe`` evaluates the mixture capital at
-margin after every pair, with its running maximum, exactly as the gate does, and
needs ``MIN_RUNS_FOR_SAFE`` runs per arm. ``--check`` replays a few streams through
``agentslo.gate.evaluate_arms`` to show that the shortcut and the gate agree.

Usage::

    python bench/finding_rate_gates.py                  # 2,000 streams per scenario
    python bench/finding_rate_gates.py --streams 500 --check
"""

from __future__ import annotations

import argparse
import math
import os
import time
from statistics import NormalDist

import numpy as np
from rich.console import Console
from rich.table import Table

from agentslo.gate import (
    DEFAULT_MARGINS,
    MIN_RUNS_FOR_SAFE,
    ArmRuns,
    GateSpec,
    evaluate_arms,
    parse_metric,
    parse_selector,
)
from agentslo.stats import bet_grid, sign_test_boundary

ALPHA = 0.05
HORIZON = 20_000
CHUNK = 100
MARGIN = DEFAULT_MARGINS["finding_rate"]
console = Console()


def _first(hit: np.ndarray) -> np.ndarray:
    """First step (1-based) at which ``hit`` holds per stream; -1 if never."""
    return np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, -1)


def _streams(pa: float, pb: float, k: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    a = rng.random((k, HORIZON), dtype=np.float32) < pa
    b = rng.random((k, HORIZON), dtype=np.float32) < pb
    return a, b


def _safe_log_capital(worse: np.ndarray, same: np.ndarray, better: np.ndarray) -> np.ndarray:
    """log K_t(-margin) of the bets on a larger mean of D = (1 - flag_B) - (1 - flag_A):
    sum_j w_j prod (1 + lambda_j (D_i + margin)), from the cumulative counts of
    D = -1 (``worse``), 0 (``same``) and +1 (``better``)."""
    lam, logw = bet_grid()
    out = np.full(worse.shape, -np.inf)
    for lj, wj in zip(lam, logw, strict=True):
        term = (
            wj
            + worse * math.log1p(lj * (MARGIN - 1))
            + same * math.log1p(lj * MARGIN)
            + better * math.log1p(lj * (1 + MARGIN))
        )
        out = np.logaddexp(out, term)
    return out


def simulate(pa: float, pb: float, streams: int, seed: int, *, safe: bool) -> dict[str, np.ndarray]:
    """Step (runs per arm; -1 = never by 20,000) of the first ``regressed`` and, with
    ``safe``, of the first ``safe`` decision, per stream."""
    rng = np.random.default_rng(seed)
    boundary = sign_test_boundary(HORIZON, ALPHA)
    threshold = math.log(1 / ALPHA)
    out: dict[str, list[np.ndarray]] = {"regressed": [], "safe": []}
    for start in range(0, streams, CHUNK):
        a, b = _streams(pa, pb, min(CHUNK, streams - start), rng)
        worse = np.cumsum(b & ~a, axis=1, dtype=np.int32)  # the candidate's run has it
        better = np.cumsum(a & ~b, axis=1, dtype=np.int32)
        out["regressed"].append(_first(worse >= boundary[worse + better]))
        if safe:
            same = np.arange(1, HORIZON + 1, dtype=np.int32) - worse - better
            first = _first(_safe_log_capital(worse, same, better) >= threshold)
            # the running maximum keeps a crossing; `safe` also needs 200 runs per arm
            out["safe"].append(np.where(first > 0, np.maximum(first, MIN_RUNS_FOR_SAFE), -1))
    return {k: np.concatenate(v) for k, v in out.items() if v}


def fixed_horizon_n(pa: float, pb: float, power: float = 0.8) -> int:
    """n per arm for a one-sided fixed-horizon z-test: (z_{1-a} + z_power)^2 (pq + pq) / d^2."""
    nd = NormalDist()
    z = nd.inv_cdf(1 - ALPHA) + nd.inv_cdf(power)
    return math.ceil(z**2 * (pa * (1 - pa) + pb * (1 - pb)) / (pa - pb) ** 2)


def _summary(stop: np.ndarray) -> tuple[str, str, str, str]:
    s = np.where(stop > 0, stop, HORIZON).astype(float)
    return (
        f"{np.mean(stop > 0):.3f}",
        f"{s.mean():,.0f}",
        f"{np.median(s):,.0f}",
        f"{np.quantile(s, 0.9):,.0f}",
    )


def check(seed: int, streams: int = 3) -> int:
    """Replay streams through the gate; return how many decisions differ from the shortcut."""
    rng = np.random.default_rng(seed)
    spec = GateSpec(
        parse_selector("version=v1"), parse_selector("version=v2"), (parse_metric("loop_rate"),)
    )
    boundary = sign_test_boundary(HORIZON, ALPHA)
    threshold = math.log(1 / ALPHA)
    differ = 0
    for pa, pb, n in ((0.02, 0.02, 4_000), (0.02, 0.04, 1_500), (0.02, 0.03, 400)):
        for _ in range(streams):
            a, b = (x[0, :n] for x in _streams(pa, pb, 1, rng))
            flag = np.empty(2 * n)
            flag[0::2], flag[1::2] = a, b
            arm = np.tile([0, 1], n)
            ones = np.ones(2 * n)
            start = np.datetime64("2026-01-01") + np.arange(2 * n) * np.timedelta64(1, "s")
            data = ArmRuns(
                arm,
                start,
                {
                    **dict.fromkeys(("success", "duration_s", "cost_usd", "steps"), ones),
                    "total_tokens": ones,
                    "loop_rate": flag,
                },
            )
            gate = evaluate_arms(spec, data).metrics[0].decision
            worse = np.cumsum(b & ~a, dtype=np.int32)
            better = np.cumsum(a & ~b, dtype=np.int32)
            same = np.arange(1, n + 1) - worse - better
            regressed = bool((worse >= boundary[worse + better]).any())
            log_k = _safe_log_capital(worse[None], same[None], better[None])[0]
            safe = bool(log_k.max() >= threshold) and n >= MIN_RUNS_FOR_SAFE
            mine = "regressed" if regressed else "safe" if safe else "continue"
            differ += mine != gate
            console.print(f"p {pa} -> {pb}, n {n}: gate {gate}, shortcut {mine}")
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--check", action="store_true", help="replay streams through the gate")
    args = parser.parse_args()
    console.print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
        f"seed {args.seed}; {args.streams:,} streams per scenario; alpha {ALPHA}; "
        f"looks after every run up to {HORIZON:,} per arm"
    )
    began = time.perf_counter()
    errors = Table(title="False decisions (must stay below alpha = 0.05)")
    for column in ("scenario", "decision", "rate", "95% MC interval"):
        errors.add_column(column, justify="left" if column == "scenario" else "right")
    equal: dict[float, dict[str, np.ndarray]] = {}
    for i, p in enumerate((0.02, 0.05)):
        equal[p] = simulate(p, p, args.streams, args.seed + 2 * i, safe=(p == 0.02))
        rate = float(np.mean(equal[p]["regressed"] > 0))
        se = math.sqrt(rate * (1 - rate) / args.streams)
        errors.add_row(f"equal arms {p:.2f}", "regressed", f"{rate:.4f}", f"±{1.96 * se:.4f}")
    risen = simulate(0.02, 0.02 + 1.5 * MARGIN, args.streams, args.seed + 1, safe=True)
    rate = float(np.mean(risen["safe"] > 0))
    se = math.sqrt(rate * (1 - rate) / args.streams)
    errors.add_row(
        f"0.02 -> {0.02 + 1.5 * MARGIN:.3f} (rise > margin {MARGIN:g})",
        "safe",
        f"{rate:.4f}",
        f"±{1.96 * se:.4f}",
    )
    console.print(errors)

    stops = Table(title="Runs per arm to 'regressed' (a stream not decided counts 20,000)")
    for column in ("baseline -> candidate", "decided by 20,000", "mean", "median", "p90"):
        stops.add_column(column, justify="left" if column.startswith("base") else "right")
    stops.add_column("fixed horizon, 80% power", justify="right")
    for i, (pa, pb) in enumerate(((0.02, 0.03), (0.02, 0.04), (0.02, 0.06), (0.05, 0.08))):
        stop = simulate(pa, pb, args.streams, args.seed + 10 + i, safe=False)["regressed"]
        stops.add_row(f"{pa:.2f} -> {pb:.2f}", *_summary(stop), f"{fixed_horizon_n(pa, pb):,}")
    console.print(stops)

    safe = Table(title=f"Runs per arm to 'safe', equal arms 0.02, margin {MARGIN:g} (1 point)")
    for column in ("decided by 20,000", "mean", "median", "p90"):
        safe.add_column(column, justify="right")
    safe.add_row(*_summary(equal[0.02]["safe"]))
    console.print(safe)
    if args.check:
        differ = check(args.seed)
        console.print(f"gate and shortcut differ on {differ} replayed stream(s)")
    console.print(f"wall time {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
