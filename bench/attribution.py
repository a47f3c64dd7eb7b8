"""Benchmark: root-cause attribution on the Who&When Algorithm-Generated split.

Each log is converted by the real importer
(``agentslo.ingest.importers.who_and_when.convert_log``) and attributed by the
``root_cause`` detector's rule (``agentslo.detect.attribute``), with no LLM. The
prediction is scored against the people's annotation: agent-level accuracy (the
agent named, case-insensitively) and step-level accuracy (exact, within 1,
within 5 steps), next to the paper's GPT-4o baselines on the same split.

The rule never reads the log's ``ground_truth`` (the correct answer), so the two
settings of the paper give the same figures here; both columns are printed so the
comparison with the baselines is like for like.

The rule was chosen by looking at the odd-numbered logs only; the even-numbered
logs are the held-out half, and the figures are printed for each half.

Usage::

    python bench/attribution.py [FOLDER] [--json]

FOLDER defaults to ``../shared/data/who-and-when`` relative to the repository
(its ``algorithm-generated`` subfolder is used when present). Results are
recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agentslo.detect import Trace, attribute
from agentslo.ingest.importers.who_and_when import convert_log
from agentslo.model import Finding, Span

REPO = Path(__file__).resolve().parent.parent
DEFAULT = REPO.parent / "shared" / "data" / "who-and-when"

#: The paper's GPT-4o results on this split, with ground truth (agent %, step %).
BASELINES = {
    "random": (29.10, 19.06),
    "all-at-once": (54.33, 12.50),
    "step-by-step": (35.20, 25.51),
    "binary search": (44.13, 23.98),
}


def logs_in(folder: Path) -> list[Path]:
    """The log files of ``folder`` (or of its ``algorithm-generated`` subfolder)."""
    sub = folder / "algorithm-generated"
    base = sub if sub.is_dir() else folder
    return sorted(base.glob("*.json"), key=lambda p: (len(p.stem), p.stem))


def predict(path: Path) -> dict[str, Any]:
    """The attribution and the annotation of one log."""
    records, problem = convert_log(json.loads(path.read_text()), key=path.stem)
    if problem:
        raise SystemExit(f"{path}: {problem}")
    spans = [r for r in records if isinstance(r, Span)]
    truth = next(r for r in records if isinstance(r, Finding))
    found = attribute(Trace.of(spans[0].run_id or path.stem, spans, outcome="failure"))
    assert found is not None
    return {
        "log": path.stem,
        "agent": found.agent,
        "step": found.step,
        "rule": found.rule,
        "true_agent": truth.agent,
        "true_step": truth.step,
    }


def score(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Agent and step accuracy (percent) over ``rows``."""
    n = len(rows)

    def pct(hits: int) -> float:
        return round(100 * hits / n, 2) if n else float("nan")

    def near(r: dict[str, Any], k: int) -> bool:
        return bool(abs(r["step"] - r["true_step"]) <= k)

    return {
        "logs": n,
        "agent": pct(
            sum((r["agent"] or "").lower() == (r["true_agent"] or "").lower() for r in rows)
        ),
        "step": pct(sum(near(r, 0) for r in rows)),
        "step_within_1": pct(sum(near(r, 1) for r in rows)),
        "step_within_5": pct(sum(near(r, 5) for r in rows)),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--json", action="store_true", help="print figures as JSON")
    args = parser.parse_args(argv)
    paths = logs_in(args.folder)
    if not paths:
        print(f"{args.folder}: no Who&When logs (*.json) found; pass the dataset folder")
        return 2
    rows = [predict(p) for p in paths]
    results = {
        "all": score(rows),
        "dev (odd logs)": score([r for r in rows if int(r["log"]) % 2 == 1]),
        "held-out (even logs)": score([r for r in rows if int(r["log"]) % 2 == 0]),
        "rules": {
            rule: sum(r["rule"] == rule for r in rows) for rule in sorted({r["rule"] for r in rows})
        },
    }
    if args.json:
        print(json.dumps({"results": results, "baselines": BASELINES}, indent=2))
        return 0
    print(f"Who&When Algorithm-Generated: {len(rows)} logs from {args.folder}")
    print(f"{'method':<58}{'agent %':>9}{'step %':>9}{'±1 %':>8}{'±5 %':>8}")
    for name, (agent, step) in BASELINES.items():
        print(f"{'GPT-4o ' + name + ' (with GT)':<58}{agent:>9.2f}{step:>9.2f}{'':>8}{'':>8}")
    for part in ("all", "dev (odd logs)", "held-out (even logs)"):
        s = results[part]
        for setting in ("with GT", "without GT"):
            label = f"agentslo root_cause, {part}, {setting}"
            print(
                f"{label:<58}{s['agent']:>9.2f}{s['step']:>9.2f}"
                f"{s['step_within_1']:>8.2f}{s['step_within_5']:>8.2f}"
            )
    print(f"rules used: {results['rules']} (the rule never reads ground_truth)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
