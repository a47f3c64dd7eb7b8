"""Benchmark: the trials harness's own cost, and its throughput with slow agents.

a. Overhead per trial: agents that answer instantly (no tool call, and ten tool
   calls), run through the real runner (worker pool, environment build, fault
   injector, verifier, records) at concurrency 1 and 2. Per-trial wall time is
   overhead, since the agent takes no time; the median of ``--repeats`` batches
   after a warm-up batch is reported, plus the cost of writing the records to a
   DuckDB store.
b. Throughput: a simulated agent that thinks 50 ms before each of its 10 tool
   calls (500 ms of agent time per trial) at concurrency 64; trials/s over the
   steady state (after the pool has started), against the ideal 64 / 0.5 s.

Usage::

    python bench/trials.py              # a minute or two
    python bench/trials.py --json

Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agentslo.store import open_store
from agentslo.trials import TrialResult, TrialRunner, load_suite, parse_profiles, plan_trials
from agentslo.trials.pool import WorkerPool

HERE = Path(__file__).resolve().parent


def _runner(agent: str, concurrency: int) -> TrialRunner:
    return TrialRunner(
        f"_trial_agents:{agent}", concurrency=concurrency, sys_path=[str(HERE), *sys.path]
    )


async def _timed_batches(
    agent: str, concurrency: int, trials: int, repeats: int
) -> tuple[list[float], list[TrialResult]]:
    """Per-trial wall time of each batch, on one warm pool (the warm-up batch is dropped)."""
    runner = _runner(agent, concurrency)
    tasks = load_suite("opsdesk")
    specs = plan_trials(tasks, parse_profiles("clean"), max(1, trials // len(tasks)), 0)
    pool = WorkerPool(concurrency, sys_path=runner.sys_path)
    per_trial: list[float] = []
    results: list[TrialResult] = []
    try:
        for batch in range(repeats + 1):
            started = time.perf_counter()
            results = await _run_on(runner, pool, specs)
            if batch:
                per_trial.append((time.perf_counter() - started) / len(specs))
    finally:
        await pool.close()
    return per_trial, results


async def _run_on(runner: TrialRunner, pool: WorkerPool, specs: list[Any]) -> list[TrialResult]:
    queue = list(reversed(specs))
    out: list[TrialResult] = []

    async def lane() -> None:
        while queue:
            out.append(await runner._trial(pool, queue.pop()))

    await asyncio.gather(*(lane() for _ in range(pool.size)))
    return out


def overhead(trials: int, repeats: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for agent in ("instant", "instant_tools"):
        for concurrency in (1, 2):
            per_trial, results = asyncio.run(_timed_batches(agent, concurrency, trials, repeats))
            assert all(r.reason in (None, "verification_failed") for r in results)
            figures[f"{agent}_c{concurrency}_ms"] = statistics.median(per_trial) * 1000
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "b.duckdb") as store:
        records = [rec for r in results for rec in r.records()]
        started = time.perf_counter()
        store.write_records(records)
        figures["store_write_ms_per_trial"] = (time.perf_counter() - started) * 1000 / len(results)
        figures["spans_per_trial"] = store.count("spans") / len(results)
    return figures


def throughput(trials: int, concurrency: int) -> dict[str, Any]:
    runner = _runner("paced", concurrency)
    tasks = load_suite("opsdesk")
    specs = plan_trials(tasks, parse_profiles("clean"), max(1, trials // len(tasks)), 0)
    done: list[float] = []
    started = time.perf_counter()
    results = runner.run(specs, lambda r: done.append(time.perf_counter()))
    total = time.perf_counter() - started
    assert all(r.reason in (None, "verification_failed") for r in results), {
        r.reason for r in results
    }
    steady = done[concurrency:]
    rate = (len(steady) - 1) / (steady[-1] - steady[0])
    agent_time = statistics.median(r.duration_s for r in results)
    return {
        "trials": len(results),
        "concurrency": concurrency,
        "wall_s": total,
        "first_results_s": done[0] - started,
        "steady_trials_per_s": rate,
        "ideal_trials_per_s": concurrency / 0.5,
        "median_trial_s": agent_time,
        "overhead_per_trial_ms": (agent_time - 0.5) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=600, help="trials per overhead batch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--paced-trials", type=int, default=1920)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = {
        "machine": f"{platform.machine()} · {os.cpu_count()} cores · Python "
        f"{platform.python_version()} · load {os.getloadavg()[0]:.2f}",
        "overhead": overhead(args.trials, args.repeats),
        "throughput": throughput(args.paced_trials, args.concurrency),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(figures["machine"])
    for key, value in figures["overhead"].items():
        print(f"overhead  {key:28s} {value:9.2f}")
    for key, value in figures["throughput"].items():
        print(f"paced     {key:28s} {value:9.2f}")


if __name__ == "__main__":
    main()
