"""The fleet report against a brute-force reference, on random and on hand-made data."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.metrics.reference import reference_group

from agentslo.metrics import ReportQuery, fleet_report, report_from_tables
from agentslo.model import Outcome, Run
from agentslo.store import Store

T0 = datetime(2026, 11, 1, 0, 0, 0)


def _store(records: list[Any]) -> Store:
    store = Store(":memory:")
    if records:
        store.write_records(records)
    return store


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def assert_matches(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        if key in ("pass_k", "pass_at_k"):
            got = {int(k): v for k, v in actual.get(key, {}).items()}
            assert got.keys() == value.keys(), key
            for k in value:
                assert _close(got[k], value[k]), (key, k, got[k], value[k])
        elif isinstance(value, dict):
            for q, v in value.items():
                assert _close(actual[key][q], v), (key, q, actual[key][q], v)
        else:
            assert _close(actual[key], value), (key, actual[key], value)


@st.composite
def fleets(draw: st.DrawFn) -> tuple[list[Run], list[Outcome]]:
    n_runs = draw(st.integers(0, 40))
    runs: list[Run] = []
    outcomes: list[Outcome] = []
    for i in range(n_runs):
        start = T0 + timedelta(minutes=draw(st.integers(0, 600)))
        has_end = draw(st.booleans())
        tokens = draw(st.none() | st.integers(0, 5000))
        runs.append(
            Run(
                run_id=f"r{i}",
                agent=draw(st.sampled_from(["a", "b", "c"])),
                version=draw(st.sampled_from(["v1", "v2"])),
                task_id=draw(st.none() | st.sampled_from(["t1", "t2", "t3"])),
                trial=draw(st.none() | st.integers(0, 3)),
                started_at=start,
                ended_at=start + timedelta(milliseconds=draw(st.integers(0, 90_000)))
                if has_end
                else None,
                input_tokens=tokens,
                cost_usd=draw(st.none() | st.floats(0, 2, allow_nan=False)),
                steps=draw(st.none() | st.integers(0, 50)),
            )
        )
        for j in range(draw(st.integers(0, 4))):
            outcomes.append(
                Outcome(
                    outcome_id=f"o{i}-{j}",
                    run_id=f"r{i}",
                    label=draw(st.sampled_from(["success", "failure", "partial"])),
                    source=draw(st.sampled_from(["verified", "human", "judge", "claimed"])),
                    recorded_at=start + timedelta(minutes=draw(st.integers(0, 3000))),
                )
            )
    return runs, outcomes


SOURCE_SETS = [("verified", "human"), ("verified", "human", "judge", "claimed"), ("judge",)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=fleets(), sources=st.sampled_from(SOURCE_SETS))
def test_report_matches_reference(
    fleet: tuple[list[Run], list[Outcome]], sources: tuple[str, ...]
) -> None:
    runs, outcomes = fleet
    with _store([*runs, *outcomes]) as store:
        report = fleet_report(store, ReportQuery(by=("agent",), sources=sources))
        raw = report_from_tables(
            store.table("runs"), store.table("outcomes"), ReportQuery(by=(), sources=sources)
        )
    expected = reference_group(runs, outcomes, sources)
    assert_matches(report.overall.to_dict(), expected)
    assert_matches(raw.overall.to_dict(), expected)  # the index and the raw path agree
    agents = sorted({r.agent for r in runs})
    assert [g.keys["agent"] for g in report.groups] == agents
    for group in report.groups:
        members = [r for r in runs if r.agent == group.keys["agent"]]
        ids = {r.run_id for r in members}
        expected = reference_group(members, [o for o in outcomes if o.run_id in ids], sources)
        assert_matches(group.to_dict(), expected)


def test_empty_store_gives_an_empty_report() -> None:
    with _store([]) as store:
        report = fleet_report(store, ReportQuery(by=("agent", "version")))
    assert report.groups == []
    overall = report.overall
    assert overall.runs == 0
    assert overall.success_rate is None and overall.success_ci is None
    assert overall.cost_per_success is None
    assert overall.percentiles["duration"] == {"p50": None, "p95": None, "p99": None}


def _run(i: int, agent: str = "a", **kw: Any) -> Run:
    return Run(run_id=f"r{i}", agent=agent, started_at=T0 + timedelta(minutes=i), **kw)


def test_all_failures_have_zero_success_and_no_cost_per_success() -> None:
    records: list[Any] = []
    for i in range(5):
        records += [
            _run(i, cost_usd=0.5),
            Outcome(run_id=f"r{i}", label="failure", source="verified"),
        ]
    with _store(records) as store:
        g = fleet_report(store).groups[0]
    assert g.success_rate == 0.0
    assert g.success_ci is not None and g.success_ci[0] == 0.0 and 0 < g.success_ci[1] < 0.6
    assert g.total_cost == pytest.approx(2.5)
    assert g.cost_per_success is None  # infinite: money spent, nothing verified


def test_runs_without_outcome_count_as_runs_not_as_failures() -> None:
    records: list[Any] = [_run(i, cost_usd=1.0) for i in range(4)]
    records.append(Outcome(run_id="r0", label="success", source="verified"))
    with _store(records) as store:
        g = fleet_report(store).overall
    assert (g.runs, g.with_outcome, g.successes) == (4, 1, 1)
    assert g.success_rate == 1.0
    assert g.cost_per_success == pytest.approx(4.0)  # every run's spend is charged


def test_missing_costs_are_ignored_in_percentiles_but_counted() -> None:
    records: list[Any] = [_run(0, cost_usd=1.0), _run(1), _run(2, cost_usd=3.0)]
    records += [Outcome(run_id=f"r{i}", label="success", source="human") for i in range(3)]
    with _store(records) as store:
        g = fleet_report(store).overall
    assert g.costed_runs == 2
    assert g.percentiles["cost"]["p50"] == pytest.approx(2.0)
    assert g.cost_per_success == pytest.approx(4.0 / 3)


def test_a_late_verified_outcome_overrides_the_claim() -> None:
    claimed_at = T0 + timedelta(minutes=1)
    records: list[Any] = [
        _run(0),
        Outcome(run_id="r0", label="success", source="claimed", recorded_at=claimed_at),
    ]
    with _store(records) as store:
        before = fleet_report(store, ReportQuery(sources=("verified", "claimed")))
        assert before.overall.success_rate == 1.0
        store.write_records(
            [
                Outcome(
                    run_id="r0",
                    label="failure",
                    source="verified",
                    recorded_at=T0 + timedelta(hours=5),
                )
            ]
        )
        after = fleet_report(store, ReportQuery(sources=("verified", "claimed")))
        as_of = fleet_report(
            store, ReportQuery(sources=("verified", "claimed"), as_of=T0 + timedelta(hours=1))
        )
    assert after.overall.success_rate == 0.0
    assert after.overall.false_claim_rate == 1.0
    assert as_of.overall.success_rate == 1.0  # the verdict had not arrived yet


def test_latest_outcome_of_the_same_source_wins() -> None:
    records: list[Any] = [
        _run(0),
        Outcome(run_id="r0", label="success", source="human", recorded_at=T0),
        Outcome(run_id="r0", label="failure", source="human", recorded_at=T0 + timedelta(days=2)),
    ]
    with _store(records) as store:
        assert fleet_report(store).overall.success_rate == 0.0


def test_time_buckets_and_range() -> None:
    records: list[Any] = []
    for i in range(6):
        records.append(_run(i * 30))  # every 30 minutes from T0
        records.append(
            Outcome(run_id=f"r{i * 30}", label="success" if i % 2 else "failure", source="verified")
        )
    with _store(records) as store:
        report = fleet_report(
            store,
            ReportQuery(
                by=(),
                bucket=timedelta(hours=1),
                since=T0 + timedelta(minutes=30),
                until=T0 + timedelta(hours=3),
            ),
        )
    assert [g.keys["bucket_start"] for g in report.groups] == [
        "2026-11-01T00:00:00Z",
        "2026-11-01T01:00:00Z",
        "2026-11-01T02:00:00Z",
    ]
    assert [g.runs for g in report.groups] == [1, 2, 2]
    assert report.overall.runs == 5


def test_claim_gap_is_claimed_minus_verified() -> None:
    records: list[Any] = []
    for i in range(10):
        records += [
            _run(i),
            Outcome(run_id=f"r{i}", label="success", source="claimed"),
            Outcome(run_id=f"r{i}", label="success" if i < 6 else "failure", source="verified"),
        ]
    with _store(records) as store:
        g = fleet_report(store).overall
    assert g.claimed_success_rate == 1.0
    assert g.success_rate == pytest.approx(0.6)
    assert g.claim_gap == pytest.approx(0.4)
    assert g.false_claim_rate == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("by", "message"),
    [(("agent", "colour"), "cannot group by 'colour'"), (("",), None)],
)
def test_group_by_is_validated(by: tuple[str, ...], message: str | None) -> None:
    if message is None:
        assert ReportQuery(by=by).by == ()
    else:
        with pytest.raises(ValueError, match=message):
            ReportQuery(by=by)


def test_unknown_source_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown outcome source 'robot'"):
        ReportQuery(sources=("verified", "robot"))
