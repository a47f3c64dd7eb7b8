"""Benchmark: a fleet the size of the largest public agent telemetry figure.

4.5M runs of 6,259 agents with about 10 spans each (the default; ``--runs`` and
``--agents`` go smaller). Measures, on this machine:

a. generating the fleet into Parquet files (``agentslo.demo``; printed for context);
b. importing them through the real import path, ``agentslo.ingest.import_paths``,
   as runs/minute and spans/second;
c. the full fleet report (``agentslo.metrics.fleet_report``, by agent), median of
   ``--repeats`` runs after the import;
d. the same report computed naively in pandas from the Parquet files, as a
   reference, and the ratio;
e. peak memory: the RSS high-water mark of the process that imports and reports
   (generation and pandas run in child processes, so they do not count), the
   children's own peaks, and DuckDB's memory after the report.

Usage::

    python bench/fleet.py                      # full size, several minutes
    python bench/fleet.py --runs 200000        # a quick run
    python bench/fleet.py --runs 200000 --json # machine-readable figures

Temporary data goes to ``--workdir`` (default /tmp/agentslo-bench), which is
emptied first. Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

GIB = 1024**3
#: Targets on a 2-core machine (see docs/benchmarks.md).
TARGET_REPORT_S = 5.0
TARGET_IMPORT_RUNS_PER_MIN = 1_000_000
TARGET_PEAK_BYTES = 4 * GIB
TABLES = ("runs", "spans", "outcomes")
#: Fixed end of the generated window, so that every benchmark run sees the same data.
END = datetime(2025, 6, 2, 12, 0)


def peak_rss_bytes() -> int:
    """High-water mark of this process's resident set, in bytes.

    On Linux this is ``VmHWM`` from /proc/self/status. ``getrusage().ru_maxrss`` is
    the same figure for the parent, but Linux carries it over ``exec``, so a
    spawned child would report at least its parent's peak at the time it started.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -- (a) generation, in a child process -----------------------------------------------------


def generate(runs: int, agents: int, seed: int, folder: str, chunk_runs: int) -> dict[str, Any]:
    """Write the fleet to ``folder/<table>.parquet``; return counts, seconds and peak RSS."""
    import pyarrow.parquet as pq

    from agentslo.demo import FleetConfig, generate_fleet
    from agentslo.model import SCHEMAS

    config = FleetConfig(
        runs=runs, agents=agents, seed=seed, end=END, chunk_runs=chunk_runs, project="bench"
    )
    start = time.perf_counter()
    writers = {
        name: pq.ParquetWriter(
            Path(folder) / f"{name}.parquet",
            SCHEMAS[name][1].with_metadata({"agentslo.table": name}),
            compression="zstd",
        )
        for name in TABLES
    }
    rows = dict.fromkeys(TABLES, 0)
    try:
        for batch in generate_fleet(config):
            for name in TABLES:
                writers[name].write_table(batch[name])
                rows[name] += batch[name].num_rows
    finally:
        for w in writers.values():
            w.close()
    seconds = time.perf_counter() - start
    sizes = {name: (Path(folder) / f"{name}.parquet").stat().st_size for name in TABLES}
    return {"seconds": seconds, "rows": rows, "bytes": sizes, "peak_rss": peak_rss_bytes()}


# -- (d) pandas reference, in a child process -----------------------------------------------


def pandas_report(folder: str) -> dict[str, Any]:
    """The per-agent report computed the obvious way in pandas, with timings."""
    import pandas as pd

    start = time.perf_counter()
    runs = pd.read_parquet(
        Path(folder) / "runs.parquet",
        columns=[
            "run_id",
            "agent",
            "started_at",
            "ended_at",
            "steps",
            "total_tokens",
            "cost_usd",
        ],
    )
    outcomes = pd.read_parquet(
        Path(folder) / "outcomes.parquet",
        columns=["run_id", "label", "source", "recorded_at", "outcome_id"],
    )
    loaded = time.perf_counter()
    trust = {"verified": 0, "human": 1}
    attested = outcomes[outcomes["source"].isin(list(trust))].copy()
    attested["rank"] = attested["source"].map(trust)
    attested = attested.sort_values(
        ["run_id", "rank", "recorded_at", "outcome_id"], ascending=[True, True, False, False]
    ).drop_duplicates("run_id")
    claims = (
        outcomes[outcomes["source"] == "claimed"]
        .sort_values(["run_id", "recorded_at"], ascending=[True, False])
        .drop_duplicates("run_id")
    )
    df = runs.merge(attested[["run_id", "label"]], on="run_id", how="left")
    df = df.merge(
        claims[["run_id", "label"]].rename(columns={"label": "claim"}), on="run_id", how="left"
    )
    df["success"] = (df["label"] == "success").astype("float64").where(df["label"].notna())
    df["claimed"] = (df["claim"] == "success").astype("float64").where(df["claim"].notna())
    df["duration_s"] = (df["ended_at"] - df["started_at"]).dt.total_seconds()
    grouped = df.groupby("agent")
    table = grouped.agg(
        runs=("run_id", "size"),
        with_outcome=("success", "count"),
        successes=("success", "sum"),
        claimed_rate=("claimed", "mean"),
        total_cost=("cost_usd", "sum"),
    )
    table["success_rate"] = table["successes"] / table["with_outcome"]
    table["cost_per_success"] = table["total_cost"] / table["successes"]
    quantiles = grouped[["duration_s", "steps", "total_tokens", "cost_usd"]].quantile(
        [0.5, 0.95, 0.99]
    )
    done = time.perf_counter()
    return {
        "load_seconds": loaded - start,
        "compute_seconds": done - loaded,
        "seconds": done - start,
        "groups": len(table),
        "quantile_rows": len(quantiles),
        "success_rate": float(df["success"].mean()),
        "peak_rss": peak_rss_bytes(),
    }


# -- (b, c, e) import and report, in this process -------------------------------------------


def import_fleet(
    store: Any, folder: Path, rejects: Path, say: Callable[[str], None]
) -> dict[str, Any]:
    """Import the three files one after another; seconds per table and in total."""
    from agentslo.ingest import import_paths

    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}
    for name in TABLES:
        start = time.perf_counter()
        result = import_paths(
            store, [folder / f"{name}.parquet"], fmt="parquet", progress=False, rejects_dir=rejects
        )
        seconds[name] = time.perf_counter() - start
        if not result.ok:
            raise SystemExit(f"import of {name} failed: {result.to_dict()}")
        rows[name] = result.rows[name]
        say(f"    {name}: {rows[name]:,} rows in {seconds[name]:.1f} s")
    return {"seconds": seconds, "rows": rows, "total_seconds": sum(seconds.values())}


def time_report(store: Any, repeats: int) -> dict[str, Any]:
    """Median wall time of the full fleet report by agent, after one untimed warm-up."""
    from agentslo.metrics import fleet_report

    times = []
    report = None
    start = time.perf_counter()
    report = fleet_report(store, by=("agent",))
    first = time.perf_counter() - start
    for _ in range(repeats):
        start = time.perf_counter()
        report = fleet_report(store, by=("agent",))
        times.append(time.perf_counter() - start)
    assert report is not None
    return {
        "first_seconds": first,
        "median_seconds": statistics.median(times),
        "seconds": times,
        "groups": len(report.groups),
        "success_rate": report.overall.success_rate,
    }


def duckdb_memory(store: Any) -> dict[str, Any]:
    """DuckDB's own accounting: buffer memory in use now, and its limit and threads."""
    con = store.con
    in_use = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()
    limit = con.execute("SELECT current_setting('memory_limit')").fetchone()
    threads = con.execute("SELECT current_setting('threads')").fetchone()
    return {
        "in_use_bytes": int(in_use[0] or 0) if in_use else 0,
        "memory_limit": limit[0] if limit else None,
        "threads": threads[0] if threads else None,
    }


# -- machine and output ---------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    import duckdb
    import pyarrow

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_bytes": mem,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pyarrow": pyarrow.__version__,
        "platform": platform.platform(),
    }


def _gib(n: float) -> str:
    return f"{n / GIB:.2f} GiB"


def render(r: dict[str, Any]) -> str:
    gen, imp, rep, pd_ = r["generate"], r["import"], r["report"], r.get("pandas")
    runs, spans = imp["rows"]["runs"], imp["rows"]["spans"]
    runs_per_min = runs / imp["total_seconds"] * 60
    m = r["machine"]
    lines = [
        f"agentslo fleet benchmark — {runs:,} runs, {r['agents']:,} agents, "
        f"{spans:,} spans ({spans / runs:.1f}/run), {imp['rows']['outcomes']:,} outcomes",
        f"machine: {m['nproc']} CPU ({m['cpu']}), {_gib(m['memory_bytes'])} RAM, "
        f"Python {m['python']}, DuckDB {m['duckdb']}, DuckDB threads {r['duckdb']['threads']}",
        "",
        f"{'measure':<44}{'value':>22}  target",
        "-" * 78,
        f"{'(a) generate to Parquet':<44}{gen['seconds']:>20.1f} s",
        f"{'    runs/s generated':<44}{runs / gen['seconds']:>22,.0f}",
        f"{'    Parquet size':<44}{_gib(sum(gen['bytes'].values())):>22}",
    ]
    for name in TABLES:
        secs = imp["seconds"][name]
        rows = imp["rows"][name]
        lines.append(f"{f'(b) import {name}':<44}{secs:>20.1f} s  ({rows / secs:,.0f} rows/s)")
    ok = "ok" if runs_per_min >= TARGET_IMPORT_RUNS_PER_MIN else "MISSED"
    lines += [
        f"{'(b) import total':<44}{imp['total_seconds']:>20.1f} s",
        f"{'    runs/minute':<44}{runs_per_min:>22,.0f}  >= 1,000,000 {ok}",
        f"{'    spans/s':<44}{spans / imp['total_seconds']:>22,.0f}",
    ]
    ok = "ok" if rep["median_seconds"] < TARGET_REPORT_S else "MISSED"
    lines += [
        f"{'(c) fleet report by agent, first run':<44}{rep['first_seconds']:>20.2f} s",
        f"{'(c) fleet report by agent, median':<44}{rep['median_seconds']:>20.2f} s  < 5 s {ok}",
        f"{'    groups':<44}{rep['groups']:>22,}",
    ]
    if pd_:
        lines += [
            f"{'(d) pandas: load Parquet':<44}{pd_['load_seconds']:>20.2f} s",
            f"{'(d) pandas: compute':<44}{pd_['compute_seconds']:>20.2f} s",
            f"{'(d) pandas total / agentslo report (ratio)':<44}"
            f"{pd_['seconds'] / rep['median_seconds']:>21.1f}x",
            f"{'    pandas peak RSS (child)':<44}{_gib(pd_['peak_rss']):>22}",
        ]
    ok = "ok" if r["peak_rss"] < TARGET_PEAK_BYTES else "MISSED"
    lines += [
        f"{'(e) peak RSS, import + report process':<44}{_gib(r['peak_rss']):>22}  < 4 GiB {ok}",
        f"{'    peak RSS after import':<44}{_gib(r['peak_rss_after_import']):>22}",
        f"{'    DuckDB memory in use after report':<44}{_gib(r['duckdb']['in_use_bytes']):>22}",
        f"{'    DuckDB memory_limit':<44}{r['duckdb']['memory_limit']:>22}",
        f"{'    generator peak RSS (child)':<44}{_gib(gen['peak_rss']):>22}",
        f"{'    store file':<44}{_gib(r['store_bytes']):>22}",
        "",
        "load average (1/5/15 min; other work on the machine slows every figure): "
        + "; ".join(f"{k} {' '.join(f'{x:.1f}' for x in v)}" for k, v in r["load_average"].items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=4_500_000)
    parser.add_argument("--agents", type=int, default=6_259)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=5, help="timed fleet reports")
    parser.add_argument("--chunk-runs", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/agentslo-bench"))
    parser.add_argument("--skip-pandas", action="store_true", help="skip (d)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--save", type=Path, help="also write the figures as JSON to this file")
    args = parser.parse_args(argv)

    from agentslo.store import open_store

    work: Path = args.workdir
    if work.exists():
        shutil.rmtree(work)
    parquet = work / "parquet"
    parquet.mkdir(parents=True)

    loads: dict[str, tuple[float, ...]] = {"start": os.getloadavg()}

    def say(text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    spawn = get_context("spawn")  # children start clean: no copy of this process's memory
    say(f"(a) generating {args.runs:,} runs of {args.agents:,} agents to {parquet} ...")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        gen = pool.submit(
            generate, args.runs, args.agents, args.seed, str(parquet), args.chunk_runs
        ).result()
    say(f"    {gen['seconds']:.1f} s, {gen['rows']}")

    say("(b) importing through agentslo.ingest.import_paths ...")
    db = work / "bench.duckdb"
    with open_store(db) as store:
        loads["before_import"] = os.getloadavg()
        imp = import_fleet(store, parquet, work / "rejects", say)
        loads["after_import"] = os.getloadavg()
        after_import = peak_rss_bytes()
        say(f"    {imp['total_seconds']:.1f} s {imp['seconds']}")
        say(f"(c) fleet report x{args.repeats + 1} ...")
        rep = time_report(store, args.repeats)
        loads["after_report"] = os.getloadavg()
        say(f"    median {rep['median_seconds']:.2f} s")
        duck = duckdb_memory(store)
        peak = peak_rss_bytes()

    pandas = None
    if not args.skip_pandas:
        say("(d) pandas reference ...")
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            pandas = pool.submit(pandas_report, str(parquet)).result()
        say(f"    {pandas['seconds']:.1f} s")

    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "runs": args.runs,
        "agents": args.agents,
        "seed": args.seed,
        "machine": machine(),
        "generate": gen,
        "import": imp,
        "report": rep,
        "pandas": pandas,
        "duckdb": duck,
        "peak_rss": peak,
        "peak_rss_after_import": after_import,
        "store_bytes": db.stat().st_size,
        "load_average": loads,
    }
    if args.save is not None:
        args.save.write_text(json.dumps(result, indent=2))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
