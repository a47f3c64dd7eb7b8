"""Benchmark: the drift detector's two relatedness backends on real multi-agent logs.

Each Who&When Algorithm-Generated log is converted by the real importer and given to
the drift detector twice: relatedness by word counts (the default) and by
all-MiniLM-L6-v2 sentence embeddings (``agentslo detect --embeddings``, the
``[embeddings]`` extra). The logs carry no drift labels, so this measures cost and
disagreement, not accuracy: the model's load time, the encoding time per run and per
step, how many runs each backend flags, and Cohen's kappa between them.

Usage::

    python bench/drift_embeddings.py [FOLDER] [--json]

FOLDER defaults to ``../shared/data/who-and-when``. Results are recorded in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from agentslo.detect import Trace, drift
from agentslo.detect.relatedness import EmbeddingRelatedness, MissingExtraError
from agentslo.ingest.importers.who_and_when import convert_log
from agentslo.model import Run, Span
from agentslo.stats import cohen_kappa_2x2

REPO = Path(__file__).resolve().parent.parent
DEFAULT = REPO.parent / "shared" / "data" / "who-and-when"


def traces_in(folder: Path) -> list[Trace]:
    """The logs of ``folder`` (or of its ``algorithm-generated`` subfolder) as traces."""
    sub = folder / "algorithm-generated"
    base = sub if sub.is_dir() else folder
    out = []
    for path in sorted(base.glob("*.json"), key=lambda p: (len(p.stem), p.stem)):
        records, problem = convert_log(json.loads(path.read_text()), key=path.stem)
        if problem:
            raise SystemExit(f"{path}: {problem}")
        spans = [r for r in records if isinstance(r, Span)]
        run = next((r for r in records if isinstance(r, Run)), None)
        if spans and run is not None:
            out.append(Trace.of(run.run_id, spans, attributes=run.attributes))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    traces = traces_in(args.folder)
    if not traces:
        print(f"no logs in {args.folder}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        model = EmbeddingRelatedness().load()
    except MissingExtraError as exc:
        print(exc, file=sys.stderr)
        return 2
    load_s = time.perf_counter() - started
    lexical_ms, embedding_ms, per_step_ms = [], [], []
    lexical_flags, embedding_flags = [], []
    embed = drift.detector(model)
    for trace in traces:
        steps = len(drift.relatedness(trace))
        t0 = time.perf_counter()
        lexical_flags.append(any(f.mode == "drift" for f in drift.detect(trace)))
        t1 = time.perf_counter()
        embedding_flags.append(any(f.mode == "drift" for f in embed(trace)))
        t2 = time.perf_counter()
        lexical_ms.append((t1 - t0) * 1000)
        embedding_ms.append((t2 - t1) * 1000)
        if steps:
            per_step_ms.append((t2 - t1) * 1000 / steps)
    pairs = list(zip(lexical_flags, embedding_flags, strict=True))
    both = sum(a and b for a, b in pairs)
    only_lexical = sum(a and not b for a, b in pairs)
    only_embeddings = sum(b and not a for a, b in pairs)
    neither = len(pairs) - both - only_lexical - only_embeddings
    kappa = cohen_kappa_2x2(both, only_lexical, only_embeddings, neither)
    result: dict[str, Any] = {
        "runs": len(traces),
        "model_load_s": round(load_s, 2),
        "lexical_ms_per_run_median": round(statistics.median(lexical_ms), 2),
        "embeddings_ms_per_run_median": round(statistics.median(embedding_ms), 1),
        "embeddings_ms_per_step_median": round(statistics.median(per_step_ms), 1),
        "drift_runs_lexical": sum(lexical_flags),
        "drift_runs_embeddings": sum(embedding_flags),
        "both": both,
        "only_lexical": only_lexical,
        "only_embeddings": only_embeddings,
        "neither": neither,
        "kappa": None if kappa is None else round(kappa, 3),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        width = max(map(len, result))
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
