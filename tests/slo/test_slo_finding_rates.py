"""Finding-rate SLOs ("at most 2% of runs loop over 30 days") over stores whose findings
the real ``loops`` detector wrote: budgets, pages, unanalysed runs, and bad specs."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.detect.looping import fleet, run_records
from tests.slo.traffic import AT, slo_doc, source, write_docs
from typer.testing import CliRunner

from agentslo.cli.app import app
from agentslo.detect import DETECTORS, RATE_MODES, run_detectors
from agentslo.metrics import FINDING_RATES
from agentslo.model import Finding
from agentslo.slo import (
    FINDING_QUERIES,
    RATIO_QUERIES,
    SLOSpec,
    SLOSpecError,
    evaluate_slo,
    load_slos,
    prometheus_rules,
)
from agentslo.store import open_store

runner = CliRunner()
AT_TEXT = "2026-03-01T12:00:00Z"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "slo-findings" / "loop-rate.yaml"


def loop_slo(name: str = "support-loops", **spec: Any) -> dict[str, Any]:
    """At most 2% of the support agent's production runs loop, over 30 days."""
    spec.setdefault("filter", {"agent": "support", "environment": "production"})
    return slo_doc(name, {"ratioMetric": {"bad": source("loop_rate", **spec)}}, target=0.98)


def _healthy() -> list[Any]:
    """3 days of runs every 4 minutes, 1% of them looping: half the 2% budget."""
    return fleet(3 * 24 * 15, every=timedelta(minutes=4), end=AT, loops=lambda k: k % 100 == 7)


def _burst(prefix: str) -> list[Any]:
    """The last 10 minutes: a run every 30 s, every one of them looping."""
    return fleet(20, every=timedelta(seconds=30), end=AT, loops=lambda k: True, prefix=prefix)


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of healthy traffic (older than the last 10 minutes), analysed by loops."""
    path = tmp_path_factory.mktemp("loops") / "healthy.duckdb"
    with open_store(path) as store:
        store.write_records(
            fleet(
                3 * 24 * 15,
                every=timedelta(minutes=4),
                end=AT - timedelta(minutes=10),
                loops=lambda k: k % 100 == 7,
            )
        )
        run_detectors(store, ["loops"])
    return path


@pytest.fixture
def db(analysed: Path, tmp_path: Path) -> Path:
    """A copy of the analysed store that a test may add to."""
    path = tmp_path / "fleet.duckdb"
    shutil.copy(analysed, path)
    return path


def _spec(tmp_path: Path, doc: dict[str, Any]) -> SLOSpec:
    [spec] = load_slos([write_docs(tmp_path / f"{doc['metadata']['name']}.yaml", doc)])
    return spec


def _firing(db: Path, slo: SLOSpec) -> tuple[Any, list[str]]:
    with open_store(db, read_only=True) as store:
        status = evaluate_slo(store, slo, at=AT)
    return status, [f"{a.severity} {a.long_window}" for a in status.alerts if a.firing]


def test_the_names_are_the_report_names() -> None:
    assert FINDING_QUERIES == tuple(FINDING_RATES) == tuple(RATE_MODES)
    assert set(FINDING_QUERIES) <= set(RATIO_QUERIES)
    assert {detector for detector, _ in FINDING_RATES.values()} <= set(DETECTORS)


def test_healthy_loop_rate_spends_half_the_budget_and_does_not_alert(
    tmp_path: Path, db: Path
) -> None:
    status, firing = _firing(db, _spec(tmp_path, loop_slo()))
    assert firing == []
    assert status.total == 3 * 24 * 15  # every analysed run, and only those
    bad = status.total - status.good
    assert bad == 11  # k % 100 == 7 for k < 1080
    assert status.sli == pytest.approx(1 - bad / status.total)
    assert status.error_budget_remaining == pytest.approx(1 - bad / (0.02 * status.total))
    assert 0.4 < status.error_budget_remaining < 0.6


def test_a_burst_of_loops_pages(tmp_path: Path, db: Path) -> None:
    with open_store(db) as store:
        store.write_records(_burst("new"))
        run_detectors(store, ["loops"])
    status, firing = _firing(db, _spec(tmp_path, loop_slo()))
    assert "page 1:00:00" in firing and "page 6:00:00" in firing
    assert status.firing == "page"
    assert status.burn_rates["5m"] == pytest.approx(1 / 0.02)  # every run of the last 5 min


def test_runs_not_yet_analysed_are_not_counted_until_detect_sees_them(
    tmp_path: Path, db: Path
) -> None:
    slo = _spec(tmp_path, loop_slo())
    with open_store(db) as store:
        store.write_records(_burst("new"))  # looping runs, not analysed yet
    status, firing = _firing(db, slo)
    assert firing == [] and status.total == 3 * 24 * 15
    assert status.burn_rates["5m"] is None  # no analysed run in the last 5 minutes
    with open_store(db) as store:
        summary = run_detectors(store, ["loops"])
    assert (summary.runs, summary.skipped) == (20, 3 * 24 * 15)  # only the new runs
    status, firing = _firing(db, slo)
    assert status.total == 3 * 24 * 15 + 20 and status.firing == "page"


def test_a_rate_whose_detector_never_ran_has_no_sli(tmp_path: Path, db: Path) -> None:
    doc = slo_doc("drift", {"ratioMetric": {"bad": source("drift_rate")}}, target=0.98)
    status, firing = _firing(db, _spec(tmp_path, doc))
    assert (status.sli, status.total, status.error_budget_remaining, firing) == (None, 0, 1.0, [])


def test_counts_by_hand_with_filters_modes_and_an_explicit_total(tmp_path: Path) -> None:
    start = AT - timedelta(hours=1)
    records = [
        *run_records("a1", start, loops=True, version="v1"),
        *run_records("a2", start, loops=False, version="v1"),
        *run_records("a3", start, loops=True, version="v2"),
        *run_records("a4", start, loops=False, version="v2"),
        *run_records("a5", start, loops=False, version="v2"),
        *run_records("other", start, loops=True, agent="billing"),
        *run_records("trial", start, loops=True, environment="trial"),
        *run_records("old", AT - timedelta(days=31), loops=True),  # outside the window
    ]
    path = tmp_path / "hand.duckdb"
    with open_store(path) as store:
        store.write_records(records)
        run_detectors(store, ["loops", "recovery"])
        store.write_records(run_records("late", start, loops=True))  # not analysed
        store.write_records(  # recovery findings: only unrecovered_fault is that rate's mode
            [
                Finding(finding_id="f1", run_id="a2", detector="recovery", mode="stuck"),
                Finding(
                    finding_id="f2", run_id="a4", detector="recovery", mode="unrecovered_fault"
                ),
            ]
        )
    status, _ = _firing(path, _spec(tmp_path, loop_slo()))
    assert (status.good, status.total) == (3, 5)  # a1..a5; not billing, trial, old, late
    # an explicit total narrows the analysed runs to v2 (the bad runs are counted within it)
    only_v2 = loop_slo("v2-loops", filter={"agent": "support"})
    total = source("finished", filter={"version": "v2"})
    only_v2["spec"]["indicator"]["spec"]["ratioMetric"]["total"] = total
    status, _ = _firing(path, _spec(tmp_path, only_v2))
    assert (status.good, status.total) == (2, 3)
    # another detector's rate, over all its analysed runs: a4's unrecovered fault is
    # bad, a2's `stuck` finding is not this rate's mode
    faults = slo_doc("faults", {"ratioMetric": {"bad": source("unrecovered_fault_rate")}})
    status, _ = _firing(path, _spec(tmp_path, faults))
    assert (status.good, status.total) == (6, 7)


def test_timeslices_over_a_finding_rate(tmp_path: Path, db: Path) -> None:
    with open_store(db) as store:
        store.write_records(_burst("new"))
        run_detectors(store, ["loops"])
    doc = loop_slo("sliced", filter={"agent": "support"})
    doc["spec"]["budgetingMethod"] = "Timeslices"
    doc["spec"]["objectives"] = [{"target": 0.98, "timeSliceTarget": 0.9, "timeSliceWindow": "1h"}]
    status, _ = _firing(db, _spec(tmp_path, doc))
    assert status.unit == "slices" and status.total == 30 * 24
    assert status.good == status.total - 1  # only the slice with the burst is bad


def test_cli_check_pages_and_reports_json(tmp_path: Path, db: Path) -> None:
    with open_store(db) as store:
        store.write_records(_burst("new"))
        run_detectors(store, ["loops"])
    spec = write_docs(tmp_path / "loops.yaml", loop_slo())
    result = runner.invoke(
        app, ["slo", "check", str(spec), "--db", str(db), "--at", AT_TEXT, "--json"]
    )
    assert result.exit_code == 1, result.output
    [slo] = json.loads(result.stdout)["slos"]
    assert slo["name"] == "support-loops" and slo["firing"] == "page"
    assert slo["total"] == 3 * 24 * 15 + 20


def test_the_example_loads_and_evaluates(db: Path) -> None:
    [slo] = load_slos([EXAMPLE])
    assert slo.indicator.finding_rate == "loop_rate" and slo.target == 0.98
    status, firing = _firing(db, slo)
    assert status.total == 3 * 24 * 15 and firing == []


# -- bad input ---------------------------------------------------------------------------


def _error(tmp_path: Path, doc: dict[str, Any]) -> SLOSpecError:
    path = write_docs(tmp_path / "bad.yaml", doc)
    with pytest.raises(SLOSpecError) as info:
        load_slos([path])
    assert str(path) in str(info.value)
    return info.value


def test_an_unknown_finding_rate_lists_the_allowed_queries(tmp_path: Path) -> None:
    doc = slo_doc("x", {"ratioMetric": {"bad": source("loops_rate")}})
    error = _error(tmp_path, doc)
    assert error.path == "spec.indicator.spec.ratioMetric.bad.metricSource.spec.query"
    assert "'loops_rate' is not allowed" in str(error)
    assert set(FINDING_QUERIES) <= set(error.allowed)


def test_a_finding_rate_is_bad_runs_not_good_ones(tmp_path: Path) -> None:
    doc = slo_doc("x", {"ratioMetric": {"good": source("loop_rate")}})
    error = _error(tmp_path, doc)
    assert error.path == "spec.indicator.spec.ratioMetric.good.metricSource.spec.query"
    assert "'loop_rate' counts runs with a finding, which are bad runs" in str(error)
    assert "put it under ratioMetric.bad" in str(error)


def test_a_finding_rate_cannot_be_the_total(tmp_path: Path) -> None:
    doc = slo_doc(
        "x",
        {"ratioMetric": {"bad": source("loop_rate"), "total": source("handoff_loss_rate")}},
    )
    error = _error(tmp_path, doc)
    assert error.path == "spec.indicator.spec.ratioMetric.total.metricSource.spec.query"
    assert "always limited to the runs the detector analysed" in str(error)
    assert "runs" in error.allowed and "loop_rate" not in error.allowed


def test_a_finding_rate_takes_no_threshold(tmp_path: Path) -> None:
    error = _error(
        tmp_path, slo_doc("x", {"ratioMetric": {"bad": source("loop_rate", threshold=3)}})
    )
    assert "query 'loop_rate' takes no threshold; remove it" in str(error)


def test_rules_refuse_finding_rate_slos_by_name(tmp_path: Path) -> None:
    spec = write_docs(tmp_path / "loops.yaml", loop_slo())
    with pytest.raises(
        ValueError,
        match=r"cannot export finding-rate SLOs as Prometheus rules: "
        r"'support-loops' \(.*loops.yaml: loop_rate\)",
    ):
        prometheus_rules(load_slos([spec]))
    result = runner.invoke(app, ["slo", "rules", str(spec)])
    assert result.exit_code == 2
    assert "cannot export finding-rate SLOs" in result.output
    assert "Evaluate them with `agentslo slo check` after `agentslo detect`" in result.output
