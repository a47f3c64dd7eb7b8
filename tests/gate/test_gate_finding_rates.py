"""Gating on finding rates (``--metric loop_rate``): the success metric's always-valid
one-sided test on the share of analysed runs with a finding, a higher rate being the
regression; on synthetic arms, then over a store the real ``loops`` detector analysed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.detect.looping import fleet
from typer.testing import CliRunner

from agentslo.cli.app import app
from agentslo.detect import finding_rates, run_detectors
from agentslo.gate import (
    DEFAULT_MARGINS,
    ArmRuns,
    GateSpec,
    evaluate_arms,
    evaluate_gate,
    evaluate_gates,
    load_gates,
    parse_metric,
    parse_selector,
    prometheus_samples,
)
from agentslo.metrics import FINDING_RATES
from agentslo.store import open_store

END = datetime(2026, 2, 1, 12)


def arms(n: int, rates: tuple[float, float], *, seed: int = 1, unanalysed: float = 0.0) -> ArmRuns:
    """n runs per arm, interleaved: ``loop_rate`` 1/0 at the given rates, nan for the
    share ``unanalysed`` of runs no detector has seen; every run a verified success."""
    rng = np.random.default_rng(seed)
    arm = np.tile([0, 1], n)
    flag = (rng.random(2 * n) < np.where(arm == 1, rates[1], rates[0])).astype(float)
    flag[rng.random(2 * n) < unanalysed] = np.nan
    ones = np.ones(2 * n)
    start = np.datetime64("2026-01-01T00:00:00") + np.arange(2 * n) * np.timedelta64(1, "s")
    columns = dict.fromkeys(("success", "duration_s", "cost_usd", "steps", "total_tokens"), ones)
    return ArmRuns(arm=arm, started_at=start, columns={**columns, "loop_rate": flag})


def spec(*metrics: str, **margins: float) -> GateSpec:
    return GateSpec(
        parse_selector("version=v1"),
        parse_selector("version=v2"),
        tuple(parse_metric(m) for m in metrics),
        margins=margins,
    )


def test_every_report_rate_is_a_metric() -> None:
    for name in FINDING_RATES:
        metric = parse_metric(name)
        assert (metric.name, metric.kind, metric.lower_is_better) == (name, "finding_rate", True)
    assert DEFAULT_MARGINS["finding_rate"] == 0.01


def test_a_rise_in_loop_rate_is_a_regression() -> None:
    result = evaluate_arms(spec("loop_rate"), arms(1_500, (0.02, 0.08)))
    (m,) = result.metrics
    assert result.decision == "regressed" and result.exit_code == 1
    assert m.kind == "difference" and m.estimate == pytest.approx(0.06, abs=0.015)
    assert 0 < m.low < m.estimate < m.high  # the rise, in rate points, excludes 0
    assert m.p_value < m.alpha == 0.05
    assert m.first_crossed_at is not None and m.runs == {"baseline": 1_500, "candidate": 1_500}


def test_a_fall_in_loop_rate_is_not_a_regression() -> None:
    (m,) = evaluate_arms(spec("loop_rate"), arms(1_500, (0.08, 0.02))).metrics
    assert m.decision != "regressed" and m.high < 0 and m.p_value > 0.5


def test_equal_arms_are_not_flagged_and_become_safe() -> None:
    flagged = sum(
        evaluate_arms(spec("loop_rate"), arms(2_000, (0.05, 0.05), seed=seed)).decision
        == "regressed"
        for seed in range(12)
    )
    assert flagged <= 1
    result = evaluate_arms(spec("loop_rate"), arms(3_000, (0.02, 0.02)))
    (m,) = result.metrics
    assert result.decision == "safe" and m.high <= m.margin == 0.01
    early = evaluate_arms(spec("loop_rate"), arms(300, (0.02, 0.02)))
    assert early.decision == "continue" and early.metrics[0].projected_runs is not None


def test_runs_not_analysed_are_left_out() -> None:
    (m,) = evaluate_arms(spec("loop_rate"), arms(1_000, (0.02, 0.02), unanalysed=0.5)).metrics
    assert 400 < m.runs["baseline"] < 600 and 400 < m.runs["candidate"] < 600


def test_family_wise_error_across_success_and_finding_rates() -> None:
    result = evaluate_arms(spec("success", "loop_rate", "p95:duration"), arms(500, (0.02, 0.02)))
    assert [m.alpha for m in result.metrics] == [pytest.approx(0.05 / 3)] * 3


def test_margin_applies_to_the_rise() -> None:
    data = arms(1_000, (0.02, 0.02))
    (strict,) = evaluate_arms(spec("loop_rate", loop_rate=0.005), data).metrics
    (loose,) = evaluate_arms(spec("loop_rate", loop_rate=0.05), data).metrics
    assert (strict.decision, loose.decision) == ("continue", "safe")
    assert loose.high < 0.05 and strict.high > 0.005
    # any significant rise is a regression, whatever the margin (it bounds `safe` only)
    (risen,) = evaluate_arms(spec("loop_rate", loop_rate=0.05), arms(3_000, (0.02, 0.04))).metrics
    assert risen.decision == "regressed"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: parse_metric("loops_rate"),
            "unknown metric 'loops_rate'; use success, cost_per_success, "
            "p50|p95|p99:duration|cost|steps|tokens, or a finding rate (loop_rate, "
            "unrecovered_fault_rate, handoff_loss_rate, claim_gap_rate, drift_rate, "
            "premature_end_rate)",
        ),
        (lambda: spec("loop_rate", loop_rate=1.0), "margin loop_rate=1.0 is outside [0, 1)"),
        (lambda: spec("success", loop_rate=0.01), "margin for 'loop_rate', which is not a gated"),
    ],
)
def test_bad_input_is_named(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build()  # type: ignore[operator]


def test_an_arm_no_detector_has_analysed() -> None:
    data = arms(300, (0.02, 0.02))
    data.columns["loop_rate"][data.arm == 1] = np.nan
    with pytest.raises(
        ValueError,
        match=r"metric loop_rate has no data in the candidate arm: the loops detector has "
        r"analysed none of its runs; run `agentslo detect --detector loops` first",
    ):
        evaluate_arms(spec("loop_rate"), data)


# -- over a store the loops detector analysed --------------------------------------------


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """v1 loops in 2% of runs, v2 (a regression) in 30%, v3 in 2% other runs; v4's runs
    arrive after `agentslo detect` ran, so none of them is analysed."""
    path = tmp_path_factory.mktemp("gate-loops") / "fleet.duckdb"
    every = timedelta(minutes=1)
    records: list[Any] = []
    for version, loops in (
        ("v1", lambda k: k % 50 == 7),
        ("v2", lambda k: k % 10 < 3),
        ("v3", lambda k: k % 50 == 23),
    ):
        records += fleet(300, every=every, end=END, loops=loops, prefix=version, version=version)
    with open_store(path) as store:
        store.write_records(records)
        run_detectors(store, ["loops"])
        store.write_records(fleet(50, every=every, end=END, loops=bool, prefix="v4", version="v4"))
    yield path


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_store_gate_flags_the_version_whose_loop_rate_rose(store_path: Path) -> None:
    with open_store(store_path) as store:
        result = evaluate_gate(store, spec("loop_rate", "success"))
    by = {m.metric: m for m in result.metrics}
    assert result.decision == "regressed"
    assert by["loop_rate"].decision == "regressed"
    with open_store(store_path, read_only=True) as store:
        rates = {row["version"]: row["loop_rate"] for row in finding_rates(store, ("version",))}
    assert (rates["v1"], rates["v2"], rates["v3"], rates.get("v4")) == (0.02, 0.3, 0.02, None)
    # the gate's estimate is the difference of the rates `report --findings` shows
    assert by["loop_rate"].estimate == pytest.approx(rates["v2"] - rates["v1"])
    assert by["success"].decision == "continue"  # every run succeeded: only the loops regress
    assert by["loop_rate"].alpha == pytest.approx(0.025)


def test_store_gate_equal_loop_rates(store_path: Path) -> None:
    equal = GateSpec(
        parse_selector("version=v1"), parse_selector("version=v3"), (parse_metric("loop_rate"),)
    )
    with open_store(store_path, read_only=True) as store:
        assert evaluate_gate(store, equal).decision == "continue"  # 300 runs: 1 point is tight
        loose = GateSpec(equal.baseline, equal.candidate, equal.metrics, {"loop_rate": 0.1})
        result = evaluate_gate(store, loose)
    assert result.decision == "safe" and result.metrics[0].runs == {
        "baseline": 300,
        "candidate": 300,
    }


def test_store_gate_refuses_an_unanalysed_arm(store_path: Path) -> None:
    unseen = GateSpec(
        parse_selector("version=v1"), parse_selector("version=v4"), (parse_metric("loop_rate"),)
    )
    with (
        open_store(store_path, read_only=True) as store,
        pytest.raises(
            ValueError, match=r"loop_rate has no data in the candidate arm: the loops detector"
        ),
    ):
        evaluate_gate(store, unseen)


def test_cli_table_json_and_markdown(store_path: Path) -> None:
    common = ["gate", "--db", str(store_path), "--baseline", "version=v1"]
    code, out = _invoke(*common, "--candidate", "version=v2", "--metric", "loop_rate", "--json")
    assert code == 1, out
    [m] = json.loads(out)["metrics"]
    assert (m["metric"], m["decision"], m["kind"], m["margin"]) == (
        "loop_rate",
        "regressed",
        "difference",
        0.01,
    )
    assert m["low"] > 0 and m["p_value"] < 0.05
    code, out = _invoke(*common, "--candidate", "version=v2", "--metric", "loop_rate")
    assert code == 1 and "loop_rate" in out and "+1 pts" in out and "pts" in out
    code, out = _invoke(
        *common, "--candidate", "version=v2", "--metric", "loop_rate", "--format", "markdown"
    )
    assert code == 1 and "| loop_rate | 🔴 regressed | +2" in out
    assert "Success and finding rates are differences in rate" in out
    code, out = _invoke(*common, "--candidate", "version=v3", "--metric", "loop_rate")
    assert code == 3, out
    code, out = _invoke(*common, "--candidate", "version=v2", "--metric", "loop")
    assert code == 2 and "unknown metric 'loop'" in out and "loop_rate" in out


def test_gates_file_with_finding_rates(store_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "gates.yaml"
    path.write_text(
        """gates:
  - name: loops-v2
    baseline: {version: v1}
    candidate: {version: v2}
    metrics: [success, loop_rate]
  - name: loops-v3
    baseline: {version: v1}
    candidate: {version: v3}
    metrics: [loop_rate]
    margins: {loop_rate: 0.1}
  - name: loops-v4
    baseline: {version: v1}
    candidate: {version: v4}
    metrics: [loop_rate]
"""
    )
    with open_store(store_path) as store:
        outcomes = evaluate_gates(store, path, record=False)
    assert [o.to_dict()["decision"] for o in outcomes] == ["regressed", "safe", "error"]
    assert "the loops detector has analysed none of its runs" in str(outcomes[2].error)
    samples = {
        (n, tuple(sorted(labels.items()))): v for n, labels, v in prometheus_samples(outcomes)
    }
    key = (("decision", "regressed"), ("gate", "loops-v2"), ("metric", "loop_rate"))
    assert samples[("agentslo_gate_decision", key)] == 1.0
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "gates:\n  - {name: a, baseline: {version: v1}, candidate: {version: v2}, "
        "metrics: [loop_rates]}"
    )
    with pytest.raises(ValueError, match=re.escape("gates[0] (a): unknown metric 'loop_rates'")):
        load_gates(bad)
