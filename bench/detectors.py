"""Benchmark: precision and recall of every detector on the demo fleet's injected failures.

Generates a demo fleet (``agentslo.demo.write_fleet``) into a fresh DuckDB store,
runs every detector over it (``agentslo.detect.run_detectors``, as ``agentslo
detect`` does) and scores the findings against the ground truth
(``agentslo.demo.score_findings``): per failure mode, the injected runs, the
flagged runs, precision and recall with Wilson 95% intervals, over the transcript
runs (the runs that carry text; a healthy share of them measures false
positives); the runs without text that were flagged anyway; and root-cause
attribution on the injected cascades (step exact, within 1, agent).

Usage::

    python bench/detectors.py                       # 20,000 runs, 15% with transcripts
    python bench/detectors.py --runs 5000 --json    # quicker, machine-readable

The store goes to ``--db`` (default /tmp/agentslo-bench-detectors/detectors.duckdb, replaced).
Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from agentslo.demo import DetectorScores, FleetConfig, score_findings, write_fleet
from agentslo.detect import run_detectors
from agentslo.stats import wilson_interval
from agentslo.store import open_store

#: Fixed end of the generated window, so that every benchmark run sees the same data.
END = datetime(2025, 6, 2, 12, 0)
#: Not under /tmp/agentslo-bench, which bench/fleet.py empties.
DEFAULT_DB = Path("/tmp/agentslo-bench-detectors/detectors.duckdb")


def _machine() -> str:
    return f"{os.cpu_count()} CPU, {platform.machine()}, Python {platform.python_version()}"


def measure(runs: int, transcripts: float, seed: int, db: Path) -> dict[str, Any]:
    """Generate, detect and score; the figures as a JSON-ready dict."""
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    Path(f"{db}.wal").unlink(missing_ok=True)
    config = FleetConfig(runs=runs, transcripts=transcripts, seed=seed, end=END)
    with open_store(db) as store:
        t0 = time.perf_counter()
        write_fleet(store, config)
        t1 = time.perf_counter()
        summary = run_detectors(store)
        t2 = time.perf_counter()
        scores = score_findings(store, config.project)
    return {
        "runs": runs,
        "transcripts": transcripts,
        "seed": seed,
        "machine": _machine(),
        "generate_s": round(t1 - t0, 2),
        "detect_s": round(t2 - t1, 2),
        "detect_runs_per_s": round(summary.runs / (t2 - t1), 1),
        "findings": summary.to_dict()["findings"],
        "scores": _with_intervals(scores),
    }


def _with_intervals(scores: DetectorScores) -> dict[str, Any]:
    out = scores.to_dict()
    for mode in out["modes"]:
        for name, k, n in (
            ("precision", mode["true_positives"], mode["flagged"]),
            ("recall", mode["true_positives"], mode["injected"]),
        ):
            mode[f"{name}_ci"] = list(wilson_interval(k, n)) if n else None
    return out


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def _ci(value: list[float] | None) -> str:
    return "" if value is None else f" ({100 * value[0]:.0f}-{100 * value[1]:.0f})"


def render(result: dict[str, Any]) -> str:
    """The figures as the markdown tables recorded in docs/benchmarks.md."""
    s = result["scores"]
    lines = [
        f"{result['runs']:,} runs ({s['transcript_runs']:,} with transcripts, "
        f"{s['healthy_runs']:,} of them healthy; {s['background_runs']:,} without text), "
        f"seed {result['seed']}. Generated in {result['generate_s']} s; detectors "
        f"{result['detect_s']} s ({result['detect_runs_per_s']:,} runs/s). {result['machine']}.",
        "",
        "| mode | detector | injected | flagged | true pos. | precision (95% CI) "
        "| recall (95% CI) | flagged runs without text |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in s["modes"]:
        lines.append(
            f"| `{m['mode']}` | {m['detector'] or '(none)'} | {m['injected']} | {m['flagged']} "
            f"| {m['true_positives']} | {_pct(m['precision'])}{_ci(m['precision_ci'])} "
            f"| {_pct(m['recall'])}{_ci(m['recall_ci'])} | {m['background_flagged']} |"
        )
    a = s["attribution"]
    lines += [
        "",
        f"Root-cause attribution on {a['cascades']} injected cascades "
        f"({a['attributed']} with a root-cause finding): step exact "
        f"{_pct(a['step_accuracy'])}, within 1 {_pct(a['step_within_1_accuracy'])}, "
        f"agent {_pct(a['agent_accuracy'])}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20_000, help="runs in the fleet")
    parser.add_argument(
        "--transcripts", type=float, default=0.15, help="share of runs with transcripts"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help="the store (replaced)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    result = measure(args.runs, args.transcripts, args.seed, args.db)
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
