"""Regression gates: decisions on synthetic arms, every bad input, the demo fleet end to end."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import agentslo.gate as gate
from agentslo.cli.app import app
from agentslo.demo import FleetConfig, ground_truth, write_fleet
from agentslo.gate import (
    MIN_RUNS_FOR_SAFE,
    ArmRuns,
    GateSpec,
    evaluate_arms,
    evaluate_gate,
    evaluate_gates,
    load_gates,
    parse_margins,
    parse_metric,
    parse_selector,
    prometheus_samples,
    recorded_decisions,
)
from agentslo.store import Store, open_store

END = datetime(2025, 6, 2, 12, 0)
CONFIG = FleetConfig(end=END, spans=False)


def arms(
    n: int,
    *,
    seed: int = 1,
    success: tuple[float, float] = (0.6, 0.6),
    latency: tuple[float, float] = (1.0, 1.0),
    cost: tuple[float, float] = (1.0, 1.0),
) -> ArmRuns:
    """n runs per arm, interleaved in time: lognormal latency, gamma cost."""
    rng = np.random.default_rng(seed)
    arm = np.tile([0, 1], n)
    pick = lambda pair: np.where(arm == 1, pair[1], pair[0])  # noqa: E731
    start = np.datetime64("2025-06-01T00:00:00") + np.arange(2 * n) * np.timedelta64(1, "s")
    return ArmRuns(
        arm=arm,
        started_at=start,
        columns={
            "success": (rng.random(2 * n) < pick(success)).astype(float),
            "duration_s": rng.lognormal(np.log(pick(latency)), 0.5),
            "cost_usd": rng.gamma(2.0, pick(cost) / 2.0),
            "steps": rng.poisson(8, 2 * n).astype(float),
            "total_tokens": rng.poisson(3_000, 2 * n).astype(float),
        },
    )


def spec(*metrics: str, **margins: float) -> GateSpec:
    return GateSpec(
        parse_selector("version=v1"),
        parse_selector("version=v2"),
        tuple(parse_metric(m) for m in metrics),
        margins={
            k.replace("_", ":", 1) if k.startswith("p9") else k: v for k, v in margins.items()
        },
    )


ALL = ("success", "p95:duration", "cost_per_success")


def test_public_surface() -> None:
    for name in gate.__all__:
        assert hasattr(gate, name)


def test_latency_regression_is_caught() -> None:
    result = evaluate_arms(spec("p95:duration"), arms(4_000, latency=(1.0, 1.2)))
    assert result.decision == "regressed"
    (m,) = result.metrics
    assert m.low > 1.0 and m.p_value < m.alpha and m.kind == "ratio"


def test_cost_per_success_regression_is_caught() -> None:
    result = evaluate_arms(spec("cost_per_success"), arms(4_000, cost=(1.0, 1.25)))
    assert result.decision == "regressed"
    assert result.metrics[0].estimate == pytest.approx(1.25, abs=0.06)


def test_success_regression_is_caught_and_recorded_at_a_run() -> None:
    result = evaluate_arms(spec(*ALL), arms(3_000, success=(0.6, 0.5)))
    by = {m.metric: m for m in result.metrics}
    assert result.decision == "regressed" and result.exit_code == 1
    assert by["success"].decision == "regressed"
    assert by["success"].high < 0 and by["success"].p_value < by["success"].alpha
    assert by["success"].first_crossed_at is not None
    assert by["success"].alpha == pytest.approx(0.05 / 3)  # Bonferroni across 3 metrics


def test_equal_arms_are_not_flagged_and_become_safe() -> None:
    flagged = 0
    for seed in range(20):
        result = evaluate_arms(spec(*ALL), arms(3_000, seed=seed))
        flagged += result.decision == "regressed"
    assert flagged <= 1
    result = evaluate_arms(
        spec(*ALL, success=0.05, p95_duration=0.2, cost_per_success=0.2), arms(6_000)
    )
    assert result.decision == "safe" and result.exit_code == 0


def test_continue_projects_more_runs() -> None:
    result = evaluate_arms(spec("success"), arms(300, success=(0.6, 0.57)))
    (m,) = result.metrics
    assert m.decision == "continue" and result.exit_code == 3
    assert m.projected_runs is not None and m.projected_runs > 0


def test_never_safe_below_the_minimum_runs() -> None:
    n = MIN_RUNS_FOR_SAFE - 50
    result = evaluate_arms(spec("success", success=0.9), arms(n, success=(0.6, 0.9)))
    assert result.metrics[0].low > -0.9  # the interval alone would already say safe
    assert result.decision == "continue"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: parse_metric("p95:latency"), "unknown metric 'p95:latency'; use success"),
        (lambda: parse_metric("mean:duration"), "unknown metric 'mean:duration'"),
        (lambda: spec("success", success=1.0), "margin success=1.0 is outside [0, 1)"),
        (lambda: spec("success", success=-0.1), "margin success=-0.1 is outside [0, 1)"),
        (lambda: spec("success", cost_per_success=0.1), "margin for 'cost_per_success'"),
        (lambda: spec(), "no metric given"),
        (lambda: parse_selector("version"), "expected key=value pairs"),
        (lambda: parse_selector("colour=red"), "unknown run column 'colour'"),
        (lambda: parse_margins(["success:0.1"]), "expected metric=number"),
        (
            lambda: GateSpec(
                parse_selector("version=v1"),
                parse_selector("version=v1"),
                (parse_metric("success"),),
            ),
            "baseline and candidate are the same selector",
        ),
    ],
)
def test_bad_specs_are_named(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build()  # type: ignore[operator]


def test_metric_with_no_data_in_one_arm() -> None:
    data = arms(500)
    data.columns["cost_usd"][data.arm == 1] = np.nan
    with pytest.raises(ValueError, match=r"cost_per_success has no data in the candidate arm"):
        evaluate_arms(spec("cost_per_success"), data)
    data.columns["duration_s"][data.arm == 0] = np.nan
    with pytest.raises(ValueError, match=r"p95:duration has no data in the baseline arm"):
        evaluate_arms(spec("p95:duration"), data)
    data.columns["success"][data.arm == 0] = np.nan
    with pytest.raises(ValueError, match=r"success has no data in the baseline arm"):
        evaluate_arms(spec("success"), data)


# -- over a store: the demo fleet ------------------------------------------------------


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("gate") / "fleet.duckdb"
    with open_store(path) as store:
        write_fleet(store, CONFIG)
    yield path


def _truth_spec() -> GateSpec:
    truth = ground_truth(CONFIG).regressed_version
    return GateSpec(
        parse_selector({"agent": truth.agent, "version": truth.baseline_version}),
        parse_selector({"agent": truth.agent, "version": truth.version}),
        tuple(parse_metric(m) for m in ALL),
    )


def test_demo_regression_is_caught_and_first_crossing_recorded(fleet: Path) -> None:
    truth = ground_truth(CONFIG).regressed_version
    with open_store(fleet) as store:
        result = evaluate_gate(store, _truth_spec())
        assert result.decision == "regressed"
        by = {m.metric: m for m in result.metrics}
        assert by["success"].decision == "regressed"
        assert by["success"].estimate == pytest.approx(truth.success_delta, abs=0.06)
        assert by["p95:duration"].estimate > 1.1  # slower, though not yet decided here
        crossed = by["success"].first_crossed_at
        assert crossed is not None and crossed >= truth.started_at.replace(tzinfo=None)
        recorded = recorded_decisions(store, _truth_spec().key)
        assert recorded[("success", "regressed")] == crossed
        again = evaluate_gate(store, _truth_spec())
        assert again.metrics[0].first_crossed_at == crossed


def test_demo_store_errors(fleet: Path) -> None:
    with open_store(fleet) as store:
        missing = GateSpec(
            parse_selector("version=v41"), parse_selector("version=v2"), (parse_metric("success"),)
        )
        with pytest.raises(ValueError, match=r"baseline arm \(version=v41\) has no runs; check"):
            evaluate_gate(store, missing)
        overlap = GateSpec(
            parse_selector("agent=support-bot"),
            parse_selector("version=v2"),
            (parse_metric("success"),),
        )
        with pytest.raises(ValueError, match=r"overlapping arms: \d+ runs match both"):
            evaluate_gate(store, overlap)


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_cli_exit_codes_json_and_markdown(fleet: Path) -> None:
    truth = ground_truth(CONFIG).regressed_version
    base = f"agent={truth.agent},version={truth.baseline_version}"
    cand = f"agent={truth.agent},version={truth.version}"
    common = ["gate", "--db", str(fleet), "--baseline", base, "--candidate", cand]
    code, out = _invoke(*common, "--metric", "success", "--metric", "p95:duration", "--json")
    assert code == 1
    payload = json.loads(out)
    assert payload["decision"] == "regressed"
    assert {m["metric"] for m in payload["metrics"]} == {"success", "p95:duration"}
    code, out = _invoke(*common, "--metric", "success", "--format", "markdown")
    assert code == 1 and out.startswith("### 🔴 Regression gate: **regressed**")
    assert "| success | 🔴 regressed |" in out
    code, out = _invoke(*common, "--metric", "success", "--margin", "success=1.5")
    assert code == 2 and "outside [0, 1)" in out
    code, out = _invoke(*common, "--metric", "p95:colour")
    assert code == 2 and "unknown metric" in out
    code, out = _invoke(*common, "--metric", "success", "--since", "1h")
    assert code == 2 and "has no runs since" in out
    code, out = _invoke(*common, "--metric", "success", "--format", "html")
    assert code == 2 and "--format 'html': use table or markdown" in out


def test_cli_refuses_a_missing_store(tmp_path: Path) -> None:
    missing = tmp_path / "nope.duckdb"
    args = ["--baseline", "version=v1", "--candidate", "version=v2", "--metric", "success"]
    code, out = _invoke("gate", "--db", str(missing), *args)
    assert code == 2 and "no such store" in out
    assert not missing.exists()


def test_cli_table_and_continue_exit_code(fleet: Path) -> None:
    truth = ground_truth(CONFIG).regressed_version
    args = ["--baseline", f"agent={truth.agent},version=v1"]
    args += ["--candidate", f"agent={truth.agent},version={truth.baseline_version}"]
    code, out = _invoke("gate", "--db", str(fleet), *args, "--metric", "p95:duration")
    assert code in (0, 3)
    assert "p95:duration" in out and "always-valid CI" in out


def test_gates_file(fleet: Path, tmp_path: Path) -> None:
    truth = ground_truth(CONFIG).regressed_version
    good = tmp_path / "gates.yaml"
    good.write_text(
        f"""gates:
  - name: regressed-release
    baseline: {{agent: {truth.agent}, version: {truth.baseline_version}}}
    candidate: {{agent: {truth.agent}, version: {truth.version}}}
    metrics: [success, p95:duration]
    margins: {{success: 0.03}}
  - name: not-yet-released
    baseline: {{version: v1}}
    candidate: {{version: v99}}
    metrics: [success]
"""
    )
    with open_store(fleet) as store:
        outcomes = evaluate_gates(store, good)
    assert [o.to_dict()["decision"] for o in outcomes] == ["regressed", "error"]
    samples = {
        (n, tuple(sorted(labels.items()))): v for n, labels, v in prometheus_samples(outcomes)
    }
    overall = (("decision", "regressed"), ("gate", "regressed-release"), ("metric", "overall"))
    assert samples[("agentslo_gate_decision", overall)] == 1.0
    error = (("decision", "error"), ("gate", "not-yet-released"), ("metric", "overall"))
    assert samples[("agentslo_gate_decision", error)] == 1.0
    p_value = (("gate", "regressed-release"), ("metric", "success"))
    assert samples[("agentslo_gate_p_value", p_value)] < 0.05
    assert "candidate arm (version=v99) has no runs" in str(outcomes[1].error)
    assert load_gates(good)[0].margins == {"success": 0.03}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gates: []", "gates: List should have at least 1 item"),
        ("gate: []", "gates: Field required"),
        ("gates:\n  - {name: a, baseline: {version: v1}, metrics: [success]}", "gates.0.candidate"),
        (
            "gates:\n  - {name: a, baseline: {version: v1}, candidate: {version: v2}, "
            "metrics: [success], colour: red}",
            "gates.0.colour: Extra inputs are not permitted",
        ),
        (
            "gates:\n  - {name: a, baseline: {version: v1}, candidate: {version: v2}, "
            "metrics: [latency]}",
            "gates[0] (a): unknown metric 'latency'",
        ),
        ("gates: [", "not valid YAML"),
    ],
)
def test_gates_file_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "gates.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(message)):
        load_gates(path)


def test_store_migration_adds_the_gate_table(tmp_path: Path) -> None:
    with open_store(tmp_path / "fresh.duckdb") as store:
        rows = store.con.execute("SELECT description FROM schema_version").fetchall()
        assert ("regression gate decisions",) in rows
        assert store.con.execute("SELECT count(*) FROM gate_decisions").fetchone() == (0,)
    with Store(tmp_path / "fresh.duckdb", read_only=True) as store:
        assert recorded_decisions(store, "anything") == {}
