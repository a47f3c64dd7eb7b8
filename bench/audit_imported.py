"""The audit of imported tau-bench results: the published do-nothing figure and speed.

1. Builds the result file a do-nothing agent would get on tau-bench's 50 airline test
   tasks (the gold action names and outputs in tests/data/audit, reward 1 exactly where
   the database is untouched and no output is asked) and audits it: 19 of 50 (38%).
2. Times the audit of a large file (50 tasks x ``--trials`` trials with 40-message
   trajectories) against the floor of merely parsing its JSON, medians of ``--repeat``.

    python bench/audit_imported.py                 # seconds
    python bench/audit_imported.py --trials 64     # a larger file

Files go to ``--workdir`` (default /tmp/agentslo-bench/audit-imported), never into the
repository; the do-nothing file is kept there for ``agentslo audit tau-bench FILE``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from agentslo.audit import audit_imported
from agentslo.audit.imported_tau_bench import AIRLINE

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "tests" / "data" / "audit" / "tau-bench-airline-test-gold.json"
#: The airline tools that write the database, as the audit's own rule has them.
WRITES = AIRLINE.writes


def _record(task: dict[str, Any], trial: int, reward: float, messages: int) -> dict[str, Any]:
    actions = [{"name": name, "kwargs": {}} for name in task["actions"]]
    traj: list[dict[str, Any]] = [{"role": "system", "content": "# Airline Agent Policy " * 40}]
    for i in range(messages // 2):
        call = {"id": f"call_{i}", "type": "function"}
        call["function"] = {"name": "get_reservation_details", "arguments": '{"id": "PEP4E0"}'}
        traj.append(
            {"role": "assistant", "content": "Let me check that. " * 8, "tool_calls": [call]}
        )
        traj.append({"role": "tool", "tool_call_id": f"call_{i}", "content": '{"ok": 1}' * 20})
    return {
        "task_id": task["task_id"],
        "trial": trial,
        "reward": reward,
        "info": {
            "task": {
                "user_id": "sofia_kim_7287",
                "actions": actions,
                "instruction": "You are sofia_kim_7287. " * 10,
                "outputs": task["outputs"],
            },
            "source": "user",
            "user_cost": 0.002,
            "reward_info": {
                "reward": reward,
                "info": {"r_actions": reward == 1},
                "actions": actions,
            },
        },
        "traj": traj,
    }


def _do_nothing_reward(task: dict[str, Any]) -> float:
    return 0.0 if task["outputs"] or WRITES & set(task["actions"]) else 1.0


def _median_seconds(repeat: int, work: Any) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16, help="trials per task (large file)")
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions (median)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/agentslo-bench/audit-imported"))
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    tasks = json.loads(GOLD.read_text())["tasks"]

    do_nothing = args.workdir / "do-nothing-airline.json"
    records = [_record(t, 0, _do_nothing_reward(t), 0) for t in tasks]
    do_nothing.write_text(json.dumps(records))
    audit = audit_imported("tau-bench", do_nothing)
    ids = ", ".join(t.task_id for t in audit.passable)
    print(
        f"do-nothing agent, airline test split: {len(audit.passable)} of {len(audit.tasks)} "
        f"tasks ({audit.task_share:.0%}) passable: {ids}"
    )
    print(f"  file kept at {do_nothing}")

    large = args.workdir / "large-airline.json"
    rows = [_record(t, trial, float(trial % 2), 40) for trial in range(args.trials) for t in tasks]
    large.write_text(json.dumps(rows))
    size = large.stat().st_size / 1e6
    parse = _median_seconds(args.repeat, lambda: json.loads(large.read_bytes()))
    full = _median_seconds(args.repeat, lambda: audit_imported("tau-bench", large))
    print()
    print("| records | file | json.loads (floor) | audit | audit / floor | records/s |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {len(rows):,} | {size:.1f} MB | {parse * 1000:.0f} ms | {full * 1000:.0f} ms | "
        f"{full / parse:.2f}x | {len(rows) / full:,.0f} |"
    )
    print(f"\nload average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
