"""The public entry points: generate a fleet's batches, read its ground truth, write both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

import pyarrow as pa

from agentslo.demo._config import FleetConfig
from agentslo.demo._generate import generate_chunks, generate_with_truth
from agentslo.demo._plan import build_plan, fleet_ground_truth
from agentslo.demo._truth import GroundTruth
from agentslo.store import Store

__all__ = ["META_KEY", "generate_fleet", "ground_truth", "write_fleet"]

#: The ``meta`` key under which :func:`write_fleet` records the fleet's summary.
META_KEY: Final = "demo"


def generate_fleet(config: FleetConfig) -> Iterator[dict[str, pa.Table]]:
    """Batches of synthetic traffic, ready for ``Store.write``.

    Each batch holds ``config.chunk_runs`` runs (the last one fewer) with their spans
    and outcomes, as tables with exactly ``RUNS_SCHEMA``, ``SPANS_SCHEMA`` and
    ``OUTCOMES_SCHEMA`` (the spans table is empty when ``config.spans`` is false).
    The same config gives the same tables, whatever ``chunk_runs`` is. With
    ``end=None`` the clock is read once, when the generator starts.
    """
    return generate_chunks(build_plan(config))


def ground_truth(config: FleetConfig) -> GroundTruth:
    """What the fleet of ``config`` was built to contain (no data is generated)."""
    return fleet_ground_truth(build_plan(config))


def write_fleet(
    store: Store,
    config: FleetConfig,
    *,
    progress: Callable[[int], None] | None = None,
) -> GroundTruth:
    """Generate the fleet into ``store``, record its ground truth, and return it.

    Batches are written one transaction each; ``progress`` is called after each with
    the number of runs written so far. The ground truth replaces any earlier one of
    the same project in table ``ground_truth``: the fleet-level rows of
    :meth:`GroundTruth.rows`, and one row of kind ``"transcript"`` per run that
    carries text (subject: the run id; detail: its scenario and the failure cases in
    it, see ``GroundTruth.failure_modes``). A summary (config and ground truth) is
    stored in ``meta`` under ``"demo"``. Writing the same fleet twice leaves the
    store as after the first write.
    """
    config = config.resolved()
    done = 0
    cases: list[pa.Table] = []
    with store.bulk():  # one outcome-index update for the whole fleet
        for batch, truth_rows in generate_with_truth(build_plan(config)):
            store.write(batch)
            cases.append(truth_rows)
            done += batch["runs"].num_rows
            if progress is not None:
                progress(done)
    truth = ground_truth(config)
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM ground_truth WHERE project = ?", [config.project])
        con.executemany("INSERT INTO ground_truth VALUES (?, ?, ?, ?)", truth.rows())
        if cases:
            con.register("_demo_cases", pa.concat_tables(cases))
            try:
                con.execute("INSERT INTO ground_truth SELECT * FROM _demo_cases")
            finally:
                con.unregister("_demo_cases")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    store.set_meta(META_KEY, {"config": _config_dict(config), "ground_truth": truth.to_dict()})
    return truth


def _config_dict(config: FleetConfig) -> dict[str, object]:
    assert config.end is not None
    return {
        "runs": config.runs,
        "agents": config.agents,
        "days": config.days,
        "seed": config.seed,
        "end": config.end.isoformat() + "+00:00",
        "project": config.project,
        "spans": config.spans,
        "chunk_runs": config.chunk_runs,
        "transcripts": config.transcripts,
    }
