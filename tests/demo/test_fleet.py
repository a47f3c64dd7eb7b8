"""The synthetic fleet: deterministic, well-formed, and carrying its ground truth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import agentslo.demo as demo
from agentslo.demo import FleetConfig, generate_fleet, ground_truth, write_fleet
from agentslo.metrics import runs_with_outcome
from agentslo.model import (
    OUTCOME_LABELS,
    OUTCOME_SOURCES,
    OUTCOMES_SCHEMA,
    RUNS_SCHEMA,
    SPAN_KINDS,
    SPANS_SCHEMA,
    STATUSES,
    Outcome,
    Run,
    Span,
)
from agentslo.store import Store, conform, open_store

END = datetime(2025, 6, 2, 12, 0)
SMALL = FleetConfig(runs=3_000, agents=9, days=3.0, seed=11, end=END, chunk_runs=1_000)


def tables(config: FleetConfig) -> dict[str, pa.Table]:
    batches = list(generate_fleet(config))
    return {name: pa.concat_tables([b[name] for b in batches]) for name in batches[0]}


@pytest.fixture(scope="module")
def small() -> dict[str, pa.Table]:
    return tables(SMALL)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The default demo fleet (20,000 runs over 14 days) written to a store."""
    path: Path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    with open_store(path) as s:
        write_fleet(s, FleetConfig(end=END))
        yield s


def test_public_surface() -> None:
    assert sorted(demo.__all__) == sorted(
        [
            "MAX_CHUNK_RUNS",
            "META_KEY",
            "AttributionScore",
            "ClaimGap",
            "DetectorScores",
            "FailureModes",
            "FleetConfig",
            "GroundTruth",
            "Incident",
            "ModeScore",
            "RegressedVersion",
            "Rollout",
            "TokenBurner",
            "generate_fleet",
            "ground_truth",
            "score_findings",
            "write_fleet",
        ]
    )


# -- determinism -------------------------------------------------------------------------------


def test_same_seed_same_tables(small: dict[str, pa.Table]) -> None:
    again = tables(SMALL)
    for name in ("runs", "spans", "outcomes"):
        assert again[name].equals(small[name]), name


def test_other_seed_other_tables(small: dict[str, pa.Table]) -> None:
    other = tables(FleetConfig(**{**SMALL.__dict__, "seed": 12}))
    for name in ("runs", "spans", "outcomes"):
        assert not other[name].equals(small[name]), name
    assert set(other["runs"]["run_id"].to_pylist()).isdisjoint(small["runs"]["run_id"].to_pylist())


def test_chunking_does_not_change_the_data(small: dict[str, pa.Table]) -> None:
    for chunk in (1, 777, 10_000):
        if chunk == 1:
            config = FleetConfig(**{**SMALL.__dict__, "runs": 40, "chunk_runs": 1})
            reference = tables(FleetConfig(**{**config.__dict__, "chunk_runs": 100_000}))
        else:
            config = FleetConfig(**{**SMALL.__dict__, "chunk_runs": chunk})
            reference = small
        whole = tables(config)
        for name in ("runs", "spans", "outcomes"):
            assert whole[name].equals(reference[name]), (chunk, name)


def test_batches_have_the_configured_size() -> None:
    sizes = [b["runs"].num_rows for b in generate_fleet(SMALL)]
    assert sizes == [1_000, 1_000, 1_000]


def test_without_spans_runs_and_outcomes_are_unchanged(small: dict[str, pa.Table]) -> None:
    bare = tables(FleetConfig(**{**SMALL.__dict__, "spans": False}))
    assert bare["spans"].num_rows == 0
    assert bare["spans"].schema.equals(SPANS_SCHEMA)
    assert bare["runs"].equals(small["runs"])
    assert bare["outcomes"].equals(small["outcomes"])


def test_end_none_is_now_floored_to_the_minute() -> None:
    config = FleetConfig(runs=10, end=None).resolved()
    assert config.end is not None and config.end.second == 0 and config.end.tzinfo is None
    assert abs(datetime.now(UTC).replace(tzinfo=None) - config.end) < timedelta(minutes=2)
    aware = FleetConfig(runs=10, end=datetime(2025, 1, 1, 14, tzinfo=UTC)).resolved()
    assert aware.end == datetime(2025, 1, 1, 14)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("runs", 0, "at least 1 run"),
        ("agents", 0, "at least 1 agent"),
        ("days", 0.01, "at least one hour"),
        ("chunk_runs", 0, "chunk_runs=0"),
        ("seed", -1, "non-negative"),
        ("transcripts", 1.5, "between 0 and 1"),
        ("project", "", "project is empty"),
    ],
)
def test_config_errors_name_the_problem(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FleetConfig(**{field: value})  # type: ignore[arg-type]


# -- well-formed data --------------------------------------------------------------------------


def test_schemas_are_exactly_the_models(small: dict[str, pa.Table]) -> None:
    for name, schema in (
        ("runs", RUNS_SCHEMA),
        ("spans", SPANS_SCHEMA),
        ("outcomes", OUTCOMES_SCHEMA),
    ):
        assert small[name].schema.equals(schema), name
        assert conform(name, small[name]).equals(small[name]), name


def test_rows_validate_as_records(small: dict[str, pa.Table]) -> None:
    def rows(name: str) -> list[dict[str, object]]:
        out = []
        for row in small[name].slice(0, 300).to_pylist():
            for key in ("attributes", "events", "evidence"):
                if key in row:
                    row[key] = json.loads(row[key]) if row[key] is not None else None
                    if row[key] is None and key in ("attributes", "events"):
                        del row[key]
            out.append(row)
        return out

    for row in rows("runs"):
        Run(**row)  # type: ignore[arg-type]
    for row in rows("spans"):
        Span(**row)  # type: ignore[arg-type]
    for row in rows("outcomes"):
        Outcome(**row)  # type: ignore[arg-type]


def test_enums_counts_and_times_are_valid(small: dict[str, pa.Table]) -> None:
    runs, spans, outcomes = small["runs"], small["spans"], small["outcomes"]
    assert set(runs["status"].to_pylist()) <= set(STATUSES)
    assert set(spans["status"].to_pylist()) <= set(STATUSES)
    assert set(spans["kind"].to_pylist()) == {"agent", "llm", "tool", "handoff"} <= set(SPAN_KINDS)
    assert set(outcomes["label"].to_pylist()) <= set(OUTCOME_LABELS)
    assert set(outcomes["source"].to_pylist()) == set(OUTCOME_SOURCES)
    for col in ("input_tokens", "output_tokens", "total_tokens", "cost_usd", "steps", "tool_calls"):
        assert pc.min(runs[col]).as_py() >= 0, col
    assert pc.min(runs["steps"]).as_py() >= 1
    for t in (runs, spans):
        assert pc.all(pc.greater_equal(t["ended_at"], t["started_at"])).as_py()
    total = pc.add(runs["input_tokens"], runs["output_tokens"])
    assert total.equals(runs["total_tokens"])
    assert len(set(runs["run_id"].to_pylist())) == runs.num_rows
    assert len(set(outcomes["outcome_id"].to_pylist())) == outcomes.num_rows
    keys = zip(spans["trace_id"].to_pylist(), spans["span_id"].to_pylist(), strict=True)
    assert len(set(keys)) == spans.num_rows
    end = pa.scalar(END, pa.timestamp("us"))
    assert pc.max(runs["ended_at"]).as_py() <= END
    assert pc.all(pc.less_equal(outcomes["recorded_at"], end)).as_py()
    assert pc.min(runs["ended_at"]).as_py() >= END - timedelta(days=SMALL.days)


def test_spans_form_one_tree_per_run(small: dict[str, pa.Table]) -> None:
    runs = small["runs"].to_pandas().set_index("run_id")
    spans = small["spans"].to_pandas()
    assert set(spans["run_id"]) == set(runs.index)
    assert (spans["trace_id"] == spans["run_id"]).all()
    roots = spans[spans["parent_span_id"].isna()]
    assert roots["run_id"].is_unique and len(roots) == len(runs)
    assert (roots["kind"] == "agent").all()
    assert roots["name"].str.startswith("invoke_agent ").all()
    ids = set(zip(spans["trace_id"], spans["span_id"], strict=True))
    children = spans[spans["parent_span_id"].notna()]
    assert all(
        (t, p) in ids for t, p in zip(children["trace_id"], children["parent_span_id"], strict=True)
    )
    # every span lies inside its run, every child inside its parent
    run_start = spans["run_id"].map(runs["started_at"])
    run_end = spans["run_id"].map(runs["ended_at"])
    assert ((spans["started_at"] >= run_start) & (spans["ended_at"] <= run_end)).all()
    by_id = spans.set_index(["trace_id", "span_id"])
    parent = by_id.loc[list(zip(children["trace_id"], children["parent_span_id"], strict=True))]
    assert (children["started_at"].to_numpy() >= parent["started_at"].to_numpy()).all()
    assert (children["ended_at"].to_numpy() <= parent["ended_at"].to_numpy()).all()


def test_spans_add_up_to_their_run(small: dict[str, pa.Table]) -> None:
    runs = small["runs"].to_pandas().set_index("run_id")
    spans = small["spans"].to_pandas()
    llm = spans[spans["kind"] == "llm"].groupby("run_id")
    sums = llm[["input_tokens", "output_tokens", "cost_usd"]].sum().reindex(runs.index)
    assert (sums["input_tokens"] == runs["input_tokens"]).all()
    assert (sums["output_tokens"] == runs["output_tokens"]).all()
    assert ((sums["cost_usd"] - runs["cost_usd"]).abs() < 1e-9).all()
    assert (llm.size().reindex(runs.index) == runs["steps"]).all()
    tools = spans[spans["kind"] == "tool"]
    assert (
        tools.groupby("run_id").size().reindex(runs.index, fill_value=0) == runs["tool_calls"]
    ).all()
    errors = tools[tools["status"] == "error"].groupby("run_id").size()
    assert (errors.reindex(runs.index, fill_value=0) == runs["tool_errors"]).all()
    assert tools.loc[tools["status"] == "error", "error_type"].notna().all()
    assert tools.loc[tools["status"] == "ok", "error_type"].isna().all()
    handoffs = spans[spans["kind"] == "handoff"].groupby("run_id").size()
    assert (handoffs.reindex(runs.index, fill_value=0) == runs["handoffs"]).all()
    pipeline = spans[(spans["kind"] == "agent") & spans["parent_span_id"].notna()]
    assert {"planner", "researcher", "writer"} <= set(pipeline["agent"])


def test_agents_beyond_the_named_ones_are_numbered() -> None:
    truth = ground_truth(SMALL)
    runs = tables(FleetConfig(**{**SMALL.__dict__, "runs": 500, "agents": 30}))["runs"]
    names = set(runs["agent"].to_pylist())
    assert "support-bot" in names
    assert {n for n in names if n.startswith("agent-")} <= {f"agent-{i:04d}" for i in range(8, 30)}
    assert truth.agents == 9


def test_a_one_agent_fleet_still_carries_every_story() -> None:
    config = FleetConfig(runs=300, agents=1, days=1.0, end=END)
    truth = ground_truth(config)
    assert truth.regressed_version.agent == truth.incident.agent == "support-bot"
    assert {b.agent for b in truth.token_burners} == {"support-bot"}
    assert set(tables(config)["runs"]["agent"].to_pylist()) == {"support-bot"}


# -- ground truth ------------------------------------------------------------------------------


def test_ground_truth_is_stable_and_serialisable() -> None:
    truth = ground_truth(FleetConfig(end=END))
    assert truth == ground_truth(FleetConfig(end=END))
    data = json.loads(json.dumps(truth.to_dict()))
    assert data["regressed_version"]["agent"] == "support-bot"
    assert data["regressed_version"]["success_delta"] == pytest.approx(-0.15)
    assert data["window_end"] == "2025-06-02T12:00:00+00:00"
    assert truth.incident.ended_at == END.replace(tzinfo=UTC)
    assert truth.incident.ended_at - truth.incident.started_at == timedelta(minutes=30)
    assert len(truth.token_burners) == 3


def test_ground_truth_is_stored(store: Store) -> None:
    truth = ground_truth(FleetConfig(end=END))
    rows = store.con.execute(
        "SELECT project, kind, subject, detail FROM ground_truth WHERE kind <> 'transcript'"
    ).fetchall()
    assert sorted(rows) == sorted(truth.rows())
    kinds = {r[1] for r in rows}
    assert {"regressed_version", "token_burner", "incident", "claim_gap", "rollout"} <= kinds
    assert "failure_modes" in kinds
    meta = store.get_meta(demo.META_KEY)
    assert meta["ground_truth"] == truth.to_dict()
    assert meta["config"]["runs"] == 20_000


def test_writing_twice_changes_nothing(tmp_path: Path) -> None:
    config = FleetConfig(runs=500, days=2.0, end=END)
    with open_store(tmp_path / "twice.duckdb") as s:
        seen: list[int] = []
        write_fleet(s, config, progress=seen.append)
        counts = [s.count(t) for t in ("runs", "spans", "outcomes")]
        write_fleet(s, config)
        assert [s.count(t) for t in ("runs", "spans", "outcomes")] == counts
        assert s.con.execute(
            "SELECT count(*) FROM ground_truth WHERE kind <> 'transcript'"
        ).fetchone() == (len(ground_truth(config).rows()),)
        transcripts = s.con.execute(
            "SELECT count(*) FROM ground_truth WHERE kind = 'transcript'"
        ).fetchone()
        assert transcripts is not None and transcripts[0] > 0
    assert seen == [500]


def _per_run(store: Store) -> object:
    return runs_with_outcome(store.table("runs"), store.table("outcomes")).to_pandas()


def test_regressed_version_is_visible(store: Store) -> None:
    truth = ground_truth(FleetConfig(end=END)).regressed_version
    df = _per_run(store)
    bot = df[df["agent"] == truth.agent]  # type: ignore[index]
    rate = bot.groupby("version")["success"].mean()
    drop = rate[truth.version] - rate[truth.baseline_version]
    assert drop == pytest.approx(truth.success_delta, abs=0.06)
    p95 = bot.groupby("version")["duration_s"].quantile(0.95)
    assert p95[truth.version] / p95[truth.baseline_version] > 1.2
    # the agent's own claims hide the regression
    claims = bot.groupby("version")["claimed"].mean()
    assert abs(claims[truth.version] - claims[truth.baseline_version]) < 0.05
    first = bot.loc[bot["version"] == truth.version, "started_at"].min()
    assert first >= truth.started_at.replace(tzinfo=None) - timedelta(minutes=5)


def test_token_burners_burn_and_never_succeed(store: Store) -> None:
    df = _per_run(store)
    for burner in ground_truth(FleetConfig(end=END)).token_burners:
        mine = df[df["user"] == burner.user]  # type: ignore[index]
        others = df[(df["agent"] == burner.agent) & (df["user"] != burner.user)]  # type: ignore[index]
        assert len(mine) > 40
        assert (mine["agent"] == burner.agent).all()
        assert mine["total_tokens"].median() > 5 * others["total_tokens"].median()
        assert mine["steps"].median() > 2 * others["steps"].median()
        assert (mine["success"].fillna(0) == 0).all()
        assert mine["claimed"].mean() > 0.7


def test_incident_shows_as_failures_in_the_last_window(store: Store) -> None:
    incident = ground_truth(FleetConfig(end=END)).incident
    df = _per_run(store)
    agent = df[df["agent"] == incident.agent]  # type: ignore[index]
    during = agent[agent["ended_at"] >= incident.started_at.replace(tzinfo=None)]
    before = agent[
        agent["ended_at"].between(
            incident.started_at.replace(tzinfo=None) - timedelta(days=1),
            incident.started_at.replace(tzinfo=None),
            inclusive="left",
        )
    ]
    assert len(during) >= 10
    failed = (during["status"] != "ok") | (during["success"] == 0)
    assert failed.mean() > 0.5
    assert before["success"].mean() > 0.8
    assert during["success"].mean() < before["success"].mean() - 0.3
    # the outage rate per run is far above usual: traffic grows as users retry
    assert len(during) / 30 > 1.5 * len(before) / (24 * 60)
    spans = store.con.execute(
        "SELECT error_type, count(*) FROM spans WHERE tool = ? AND status = 'error' "
        "AND started_at >= ? GROUP BY 1",
        [incident.tool, incident.started_at.replace(tzinfo=None)],
    ).fetchall()
    assert {e for e, _ in spans} <= set(incident.error_types)
    assert sum(n for _, n in spans) > 0.5 * len(during)


def test_claim_gap_exceeds_verified_success(store: Store) -> None:
    df = _per_run(store)
    both = df[df["success"].notna() & df["claimed"].notna()]  # type: ignore[index]
    false_claims = both[both["success"] == 0].groupby(["agent", "version"])["claimed"].mean()
    truth = ground_truth(FleetConfig(end=END))
    for gap in truth.claim_gaps:
        assert false_claims[(gap.agent, gap.version)] > truth.claim_gap_threshold - 0.08
    assert false_claims[("billing-assistant", "v2")] < 0.2
    # some runs have no trusted outcome at all, only the agent's claim
    assert (df["success"].isna() & df["claimed"].notna()).mean() > 0.1  # type: ignore[index]
