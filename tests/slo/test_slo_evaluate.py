"""Evaluating SLOs on constructed traffic: budgets by hand, burn-rate alerts, time slices."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.slo.traffic import (
    AT,
    burst,
    healthy,
    ratio,
    slo_doc,
    slow_leak,
    source,
    store_with,
    success_slo,
    write_docs,
)

from agentslo.model import Outcome, Run
from agentslo.slo import SLOSpec, SLOStatus, alert_windows, evaluate_slo, evaluate_slos, load_slos
from agentslo.store import Store


def _slo(tmp_path: Path, doc: dict[str, Any]) -> SLOSpec:
    [spec] = load_slos([write_docs(tmp_path / f"{doc['metadata']['name']}.yaml", doc)])
    return spec


def _eval(store: Store, tmp_path: Path, doc: dict[str, Any], **kw: Any) -> SLOStatus:
    return evaluate_slo(store, _slo(tmp_path, doc), at=kw.pop("at", AT))


def _firing(status: SLOStatus) -> list[tuple[str, str]]:
    return [(a.severity, str(a.long_window)) for a in status.alerts if a.firing]


# -- the alert windows ------------------------------------------------------------------


def test_workbook_windows_scale_to_the_slo_window() -> None:
    windows = alert_windows(timedelta(days=28))
    assert [(w.severity, w.long_window, w.short_window, w.threshold) for w in windows] == [
        ("page", timedelta(minutes=56), timedelta(minutes=4, seconds=40), 14.4),
        ("page", timedelta(hours=5, minutes=36), timedelta(minutes=28), 6.0),
        ("ticket", timedelta(hours=22, minutes=24), timedelta(hours=1, minutes=52), 3.0),
        ("ticket", timedelta(days=2, hours=19, minutes=12), timedelta(hours=5, minutes=36), 1.0),
    ]
    # Each alert still spends the same share of the budget as in the 30-day recipe.
    assert [round(w.budget_spent, 6) for w in windows] == [0.02, 0.05, 0.1, 0.1]
    thirty = alert_windows(timedelta(days=30))
    assert (thirty[0].long_window, thirty[0].short_window) == (
        timedelta(hours=1),
        timedelta(minutes=5),
    )


# -- burn-rate alerts on constructed traffic ---------------------------------------------


def test_healthy_traffic_does_not_alert(tmp_path: Path) -> None:
    status = _eval(store_with(healthy()), tmp_path, success_slo())
    assert status.firing is None
    assert not _firing(status)
    assert status.sli == pytest.approx(1 - 11 / 2160)
    assert 0 < status.error_budget_remaining < 1


def test_sharp_burst_of_failures_pages(tmp_path: Path) -> None:
    status = _eval(store_with(burst()), tmp_path, success_slo())
    assert status.firing == "page"
    fast = status.alerts[0]
    assert (fast.severity, fast.long_window, fast.short_window) == (
        "page",
        timedelta(hours=1),
        timedelta(minutes=5),
    )
    assert fast.firing
    assert fast.short_burn == pytest.approx(100.0)  # every run of the last 5 min failed
    assert fast.long_burn == pytest.approx(21 / 45 / 0.01)
    assert status.burn_rates["5m"] == fast.short_burn


def test_the_same_burst_an_hour_later_no_longer_pages_fast(tmp_path: Path) -> None:
    status = _eval(store_with(burst()), tmp_path, success_slo(), at=AT + timedelta(hours=1))
    assert not status.alerts[0].firing  # no runs in the short window: the page resets


def test_slow_leak_tickets_and_does_not_page(tmp_path: Path) -> None:
    status = _eval(store_with(slow_leak()), tmp_path, success_slo())
    assert status.firing == "ticket"
    assert _firing(status) == [("ticket", "3 days, 0:00:00")]
    slow = status.alerts[3]
    assert slow.long_burn == pytest.approx(2.5)  # 2.5% errors against a 1% budget
    assert status.alerts[0].long_burn is not None and status.alerts[0].long_burn < 14.4
    assert status.alerts[1].long_burn is not None and status.alerts[1].long_burn < 6


def test_no_data_means_no_sli_and_an_untouched_budget(tmp_path: Path) -> None:
    status = _eval(store_with([]), tmp_path, success_slo())
    assert (status.sli, status.good, status.total) == (None, 0, 0)
    assert status.error_budget_remaining == 1.0
    assert status.firing is None
    assert set(status.burn_rates.values()) == {None}


# -- error budget arithmetic by hand ------------------------------------------------------


def _hand_case() -> list[Any]:
    """Ten counted runs in the last hour: 8 successes, a failure, a partial."""
    records: list[Any] = []

    def run(rid: str, minutes_ago: float, agent: str = "checkout") -> None:
        start = AT - timedelta(minutes=minutes_ago)
        records.append(Run(run_id=rid, agent=agent, started_at=start, ended_at=start))

    def verdict(rid: str, label: str, source: str, minutes_ago: float = 1) -> None:
        at = AT - timedelta(minutes=minutes_ago)
        records.append(Outcome(run_id=rid, label=label, source=source, recorded_at=at))

    for i in range(8):
        run(f"ok{i}", 30 + i)
        verdict(f"ok{i}", "success", "verified")
        verdict(f"ok{i}", "success", "claimed")
    run("bad", 40)
    verdict("bad", "failure", "verified")
    verdict("bad", "success", "claimed")  # the agent claimed success; the check says no
    run("partial", 41)
    verdict("partial", "partial", "human")
    run("unverified", 42)  # no verdict yet
    run("claim-only", 43)
    verdict("claim-only", "success", "claimed")
    run("judged", 44)
    verdict("judged", "failure", "judge")
    run("old", 60 * 25)  # outside the 1-day window
    verdict("old", "failure", "verified", minutes_ago=60 * 24)
    run("future", -5)  # started after `at`
    verdict("future", "failure", "verified", minutes_ago=-6)
    run("other", 30, agent="other")  # filtered out
    verdict("other", "failure", "verified")
    return records


def test_error_budget_by_hand(tmp_path: Path) -> None:
    store = store_with(_hand_case())
    doc = success_slo(target=0.9, window="1d")
    status = _eval(store, tmp_path, doc)
    # total = runs with a verified/human verdict = 10; good = 8; allowed bad = 0.1 * 10 = 1.
    assert (status.good, status.total) == (8, 10)
    assert status.sli == pytest.approx(0.8)
    assert status.error_budget_total == pytest.approx(1.0)
    assert status.error_budget_remaining == pytest.approx(1 - 2 / 1.0)  # -1: overspent
    # Every alert window of a 1-day SLO longer than 1 h holds all ten runs: burn 0.2 / 0.1.
    assert status.burn_rates["2h24m"] == pytest.approx(2.0)
    assert status.burn_rates["10s"] is None  # nothing started in the last 10 s


def test_explicit_total_bad_and_sources(tmp_path: Path) -> None:
    store = store_with(_hand_case())
    checkout = {"agent": "checkout"}
    every_run = slo_doc(
        "all",
        ratio(source("success", filter=checkout), source("runs", filter=checkout)),
        window="1d",
    )
    status = _eval(store, tmp_path, every_run)
    assert (status.good, status.total) == (8, 13)  # unverified runs now count as bad
    bad = slo_doc("bad", {"ratioMetric": {"bad": source("failure", filter=checkout)}}, window="1d")
    by_bad = _eval(store, tmp_path, bad)
    assert (by_bad.good, by_bad.total) == (8, 10)  # bad runs: good = total - bad
    bad_of_all = slo_doc(
        "bad-of-all",
        {"ratioMetric": {"bad": source("failure"), "total": source("runs", filter=checkout)}},
        window="1d",
    )
    by_bad_of_all = _eval(store, tmp_path, bad_of_all)
    assert (by_bad_of_all.good, by_bad_of_all.total) == (11, 13)  # unverified is not bad
    judged = slo_doc(
        "judged",
        ratio(source("success", filter=checkout, sources=["verified", "human", "judge"])),
        window="1d",
    )
    assert _eval(store, tmp_path, judged).total == 11  # the judge's verdict counts now
    claimed = slo_doc(
        "claimed", ratio(source("success", filter=checkout, sources=["claimed"])), window="1d"
    )
    by_claims = _eval(store, tmp_path, claimed)
    assert (by_claims.good, by_claims.total) == (10, 10)  # what the agents say: all is well


def test_at_in_the_past_ignores_later_outcomes(tmp_path: Path) -> None:
    start = AT - timedelta(hours=2)
    store = store_with(
        [
            Run(run_id="r1", agent="checkout", started_at=start),
            Outcome(
                run_id="r1",
                label="success",
                source="verified",
                recorded_at=start + timedelta(minutes=1),
            ),
            # Reopened half an hour ago: the newer verified verdict wins from then on.
            Outcome(
                run_id="r1",
                label="failure",
                source="verified",
                recorded_at=AT - timedelta(minutes=30),
            ),
            Run(run_id="r2", agent="checkout", started_at=AT - timedelta(minutes=45)),
            Outcome(
                run_id="r2",
                label="success",
                source="verified",
                recorded_at=AT - timedelta(minutes=44),
            ),
        ]
    )
    doc = success_slo(window="1d")
    then = _eval(store, tmp_path, doc, at=AT - timedelta(hours=1))
    assert (then.good, then.total, then.sli) == (1, 1, 1.0)
    now = _eval(store, tmp_path, doc)
    assert (now.good, now.total, now.sli) == (1, 2, 0.5)


# -- time slices --------------------------------------------------------------------------


def test_timeslices_by_hand(tmp_path: Path) -> None:
    records: list[Any] = []
    slices = {  # slice index (0 ends at AT) -> (successes, failures)
        0: (8, 2),  # 0.8 < 0.9: bad
        1: (10, 0),
        3: (0, 1),  # bad
        4: (9, 1),  # exactly 0.9: good
    }
    for index, (ok, failed) in slices.items():
        for i in range(ok + failed):
            rid = f"s{index}-{i}"
            start = AT - timedelta(minutes=10 * index + 1 + i * 0.5)
            records.append(Run(run_id=rid, agent="checkout", started_at=start))
            label = "success" if i < ok else "failure"
            records.append(Outcome(run_id=rid, label=label, source="verified", recorded_at=start))
    records.append(Run(run_id="lonely", agent="checkout", started_at=AT - timedelta(minutes=55)))
    store = store_with(records)  # slice 2 is empty, slice 5 only holds an unverified run
    doc = success_slo(
        target=0.5, window="1h", method="Timeslices", timeSliceTarget=0.9, timeSliceWindow="10m"
    )
    status = _eval(store, tmp_path, doc)
    assert (status.unit, status.good, status.total) == ("slices", 4, 6)
    assert status.sli == pytest.approx(4 / 6)
    assert status.error_budget_total == pytest.approx(3.0)  # (1 - 0.5) * 6 slices
    assert status.error_budget_remaining == pytest.approx(1 - 2 / 3)
    assert (status.good_runs, status.total_runs) == (27, 31)
    # Every alert window of a 1-hour SLO is shorter than a slice: it looks at the latest
    # slice, which is bad: burn 1 / (1 - 0.5) = 2, enough for the 1x ticket only.
    assert set(status.burn_rates.values()) == {2.0}
    assert status.firing == "ticket"


# -- latency and cost ------------------------------------------------------------------------


def _timed_runs() -> list[Any]:
    records: list[Any] = []
    for i, seconds in enumerate([5, 10, 20, 30, 31, 100]):
        start = AT - timedelta(minutes=30 + i)
        records.append(
            Run(
                run_id=f"f{i}",
                agent="support",
                started_at=start,
                ended_at=start + timedelta(seconds=seconds),
                cost_usd=[0.1, 0.5, 0.49, 0.9, None, 0.2][i],
            )
        )
    records += [
        Run(run_id="hung", agent="support", started_at=AT - timedelta(minutes=5)),
        Run(run_id="young", agent="support", started_at=AT - timedelta(seconds=10)),
        Run(
            run_id="ends-later-young",
            agent="support",
            started_at=AT - timedelta(seconds=20),
            ended_at=AT + timedelta(seconds=40),
        ),
        Run(
            run_id="ends-later-slow",
            agent="support",
            started_at=AT - timedelta(minutes=2),
            ended_at=AT + timedelta(minutes=1),
        ),
    ]
    return records


@pytest.mark.parametrize(
    ("indicator", "objective", "expected"),
    [
        # 4 finished within 30 s; 2 finished slower and 2 still running past 30 s count bad;
        # 2 running runs younger than 30 s are undecided and not counted.
        (ratio(source("duration_below", threshold="30s")), {}, (4, 8)),
        ({"thresholdMetric": source("duration")}, {"op": "lte", "value": "30s"}, (4, 8)),
        ({"thresholdMetric": source("duration")}, {"op": "lt", "value": 30}, (3, 8)),
        ({"thresholdMetric": source("duration")}, {"op": "gt", "value": "30s"}, (4, 8)),
        (ratio(source("duration_below", threshold="30s"), source("runs")), {}, (4, 10)),
        (ratio(source("duration_below", threshold="30s"), source("finished")), {}, (4, 6)),
    ],
)
def test_latency_slo(
    tmp_path: Path, indicator: dict[str, Any], objective: dict[str, Any], expected: tuple[int, int]
) -> None:
    status = _eval(
        store_with(_timed_runs()), tmp_path, slo_doc("lat", indicator, target=0.95, **objective)
    )
    assert (status.good, status.total) == expected


@pytest.mark.parametrize(
    ("indicator", "objective", "expected"),
    [
        (ratio(source("cost_below", threshold=0.5)), {}, (4, 5)),  # unknown cost not counted
        ({"thresholdMetric": source("cost")}, {"op": "lte", "value": 0.5}, (4, 5)),
        ({"thresholdMetric": source("cost")}, {"op": "gt", "value": 0.5}, (1, 5)),
        (ratio(source("cost_below", threshold=0.5), source("runs")), {}, (4, 10)),
    ],
)
def test_cost_slo(
    tmp_path: Path, indicator: dict[str, Any], objective: dict[str, Any], expected: tuple[int, int]
) -> None:
    status = _eval(
        store_with(_timed_runs()), tmp_path, slo_doc("cost", indicator, target=0.99, **objective)
    )
    assert (status.good, status.total) == expected
    assert status.sli == pytest.approx(expected[0] / expected[1])


def test_evaluate_slos_and_to_dict(tmp_path: Path) -> None:
    store = store_with(slow_leak())
    specs = load_slos([write_docs(tmp_path / "s.yaml", success_slo(), success_slo("other"))])
    statuses = evaluate_slos(store, specs, at=AT)
    assert [s.name for s in statuses] == ["checkout-success", "other"]
    data = statuses[0].to_dict()
    assert data["firing"] == "ticket"
    assert data["window"] == "30d" and data["at"] == "2026-03-01T12:00:00Z"
    assert data["alerts"][3] == {
        "severity": "ticket",
        "long_window": "3d",
        "short_window": "6h",
        "long_window_seconds": 259200,
        "short_window_seconds": 21600,
        "threshold": 1.0,
        "long_burn": data["burn_rates"]["3d"],
        "short_burn": data["burn_rates"]["6h"],
        "firing": True,
    }
    assert list(data["burn_rates"]) == ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
