"""Parsing OpenSLO specs: the examples load, and every bad input names file, path and fix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.slo.traffic import ratio, slo_doc, source, success_slo, write_docs

from agentslo.slo import RATIO_QUERIES, MetricQuery, SLOSpecError, load_slos

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "slo"


def _error(tmp_path: Path, *docs: dict[str, Any]) -> SLOSpecError:
    path = write_docs(tmp_path / "slo.yaml", *docs)
    with pytest.raises(SLOSpecError) as info:
        load_slos([path])
    assert str(path) in str(info.value)
    return info.value


def test_the_examples_load() -> None:
    specs = {s.key: s for s in load_slos(sorted(EXAMPLES.glob("*.yaml")))}
    assert set(specs) == {
        "checkout-success",
        "support-latency",
        "fleet-cost",
        "triage-good-minutes",
    }
    success = specs["checkout-success"]
    assert (success.target, success.window, success.budgeting_method) == (
        0.99,
        timedelta(days=28),
        "Occurrences",
    )
    assert success.indicator.name == "checkout-verified-success"  # through indicatorRef
    assert success.indicator.good == MetricQuery(
        "success", None, None, {"agent": ("checkout",), "environment": ("production",)}
    )
    latency = specs["support-latency"].indicator
    assert (latency.good and latency.good.query, latency.total.query) == (
        "duration",
        "duration_known",
    )
    assert latency.total.threshold == 30.0
    cost = specs["fleet-cost"].indicator
    assert cost.kind == "threshold"
    assert cost.good == MetricQuery("cost", "lte", 0.5, {"environment": ("production",)})
    assert cost.total.query == "cost_known"
    slices = specs["triage-good-minutes"]
    assert (slices.time_slice_target, slices.time_slice_window) == (0.9, timedelta(minutes=5))


def test_a_folder_loads_like_its_files() -> None:
    assert {s.key for s in load_slos([EXAMPLES])} == {
        s.key for s in load_slos(sorted(EXAMPLES.glob("*.yaml")))
    }


def test_defaults_and_ignored_openslo_fields(tmp_path: Path) -> None:
    doc = success_slo()
    doc["metadata"].update(displayName="Checkout", labels={"team": "a"}, annotations={"x": "y"})
    doc["spec"].update(description="d", service="s", alertPolicies=[{"kind": "AlertPolicy"}])
    doc["spec"]["objectives"] = [
        {"displayName": "two nines", "target": 0.99},
        {"displayName": "one nine", "targetPercent": 90},
    ]
    service = {"apiVersion": "openslo/v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {}}
    specs = load_slos([write_docs(tmp_path / "s.yaml", service, doc)])
    assert [(s.key, s.objective, s.target) for s in specs] == [
        ("checkout-success", "two nines", 0.99),
        ("checkout-success#1", "one nine", 0.9),
    ]
    indicator = specs[0].indicator
    assert indicator.total.query == "verified"  # unverified runs are not failures
    assert indicator.sources == ("verified", "human")
    assert specs[0].display_name == "Checkout"


def test_indicator_ref_resolves_across_files(tmp_path: Path) -> None:
    sli = {
        "apiVersion": "openslo/v1",
        "kind": "SLI",
        "metadata": {"name": "shared"},
        "spec": ratio(source("success"), source("runs")),
    }
    slo = success_slo()
    slo["spec"].pop("indicator")
    slo["spec"]["indicatorRef"] = "shared"
    specs = load_slos([write_docs(tmp_path / "a.yaml", slo), write_docs(tmp_path / "b.yaml", sli)])
    assert specs[0].indicator.total.query == "runs"


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: [x\n", encoding="utf-8")
    with pytest.raises(SLOSpecError, match=r"broken\.yaml: line \d+, column \d+: invalid YAML"):
        load_slos([path])


def test_unknown_field_names_path_and_allowed_fields(tmp_path: Path) -> None:
    doc = success_slo()
    doc["spec"]["objectives"][0]["tagret"] = 0.9
    error = _error(tmp_path, doc)
    assert error.path == "spec.objectives[0].tagret"
    assert error.document == 1
    assert "target" in error.allowed and "timeSliceTarget" in error.allowed
    assert "spec.objectives[0].tagret: unknown field; allowed: displayName, op, value" in str(error)


def test_unknown_field_deep_in_the_metric_source(tmp_path: Path) -> None:
    doc = slo_doc("x", ratio(source("success", filter={"agnet": "a"})))
    error = _error(tmp_path, doc)
    assert error.path == "spec.indicator.spec.ratioMetric.good.metricSource.spec.filter.agnet"
    assert "agent" in error.allowed and "environment" in error.allowed


@pytest.mark.parametrize("target", [1.5, 1, 0, -0.1])
def test_target_outside_zero_one(tmp_path: Path, target: float) -> None:
    error = _error(tmp_path, success_slo(target=target))
    assert error.path == "spec.objectives[0].target"
    assert "strictly between 0 and 1" in str(error)


def test_unknown_query_lists_the_allowed_ones(tmp_path: Path) -> None:
    error = _error(tmp_path, slo_doc("x", ratio(source("sucess"))))
    assert error.path == "spec.indicator.spec.ratioMetric.good.metricSource.spec.query"
    assert error.allowed == RATIO_QUERIES
    assert "'sucess' is not allowed; allowed: runs, verified, success" in str(error)


def test_missing_indicator(tmp_path: Path) -> None:
    doc = success_slo()
    doc["spec"].pop("indicator")
    error = _error(tmp_path, doc)
    assert (error.path, error.allowed) == ("spec", ("indicator", "indicatorRef"))


def test_unknown_indicator_ref_lists_known_slis(tmp_path: Path) -> None:
    sli = {
        "apiVersion": "openslo/v1",
        "kind": "SLI",
        "metadata": {"name": "known"},
        "spec": ratio(source("success")),
    }
    doc = success_slo()
    doc["spec"].pop("indicator")
    doc["spec"]["indicatorRef"] = "unknown"
    error = _error(tmp_path, sli, doc)
    assert (error.path, error.allowed, error.document) == ("spec.indicatorRef", ("known",), 2)


@pytest.mark.parametrize(
    ("change", "path", "text"),
    [
        ({"apiVersion": "openslo/v2"}, "apiVersion", "allowed: openslo/v1"),
        ({"kind": "Slo"}, "kind", "allowed: SLO, SLI"),
    ],
)
def test_api_version_and_kind(tmp_path: Path, change: dict[str, str], path: str, text: str) -> None:
    error = _error(tmp_path, {**success_slo(), **change})
    assert error.path == path
    assert text in str(error)


def test_bad_budgeting_method_and_window(tmp_path: Path) -> None:
    error = _error(tmp_path, success_slo(method="Occurences"))
    assert error.allowed == ("Occurrences", "Timeslices")
    error = _error(tmp_path, success_slo(window="1M"))
    assert error.path == "spec.timeWindow[0].duration"
    assert "calendar unit" in str(error)
    doc = success_slo()
    doc["spec"]["timeWindow"][0]["isRolling"] = False
    assert _error(tmp_path, doc).path == "spec.timeWindow[0].isRolling"


def test_timeslice_fields_follow_the_budgeting_method(tmp_path: Path) -> None:
    error = _error(tmp_path, success_slo(method="Timeslices", timeSliceWindow="5m"))
    assert error.path == "spec.objectives[0].timeSliceTarget"
    error = _error(tmp_path, success_slo(timeSliceWindow="5m"))
    assert error.path == "spec.objectives[0].timeSliceWindow"
    assert "Timeslices only" in str(error)
    error = _error(
        tmp_path, success_slo(method="Timeslices", timeSliceTarget=0.9, timeSliceWindow="7m")
    )
    assert "whole slices" in str(error)


def test_thresholds_belong_to_their_queries(tmp_path: Path) -> None:
    error = _error(tmp_path, slo_doc("x", ratio(source("duration_below"))))
    assert error.path.endswith("metricSource.spec.threshold")
    assert "needs a threshold" in str(error)
    error = _error(tmp_path, slo_doc("x", ratio(source("success", threshold="30s"))))
    assert "takes no threshold" in str(error)
    error = _error(tmp_path, slo_doc("x", ratio(source("cost_below", threshold="cheap"))))
    assert "US dollars" in str(error)


def test_threshold_metric_needs_op_and_value(tmp_path: Path) -> None:
    metric = {"thresholdMetric": source("duration")}
    error = _error(tmp_path, slo_doc("x", metric, value="30s"))
    assert (error.path, error.allowed) == ("spec.objectives[0].op", ("lt", "lte", "gt", "gte"))
    error = _error(tmp_path, slo_doc("x", metric, op="lte", value="soon"))
    assert error.path == "spec.objectives[0].value"
    error = _error(tmp_path, slo_doc("x", ratio(source("success")), op="lte", value=3))
    assert "thresholdMetric indicators only" in str(error)


def test_filters_and_sources_are_checked(tmp_path: Path) -> None:
    error = _error(tmp_path, slo_doc("x", ratio(source("success", filter={"environment": "prod"}))))
    assert "allowed: production, trial, benchmark" in str(error)
    error = _error(tmp_path, slo_doc("x", ratio(source("success", filter={"version": 1.10}))))
    assert "quote values" in str(error)
    error = _error(tmp_path, slo_doc("x", ratio(source("success", sources=["oracle"]))))
    assert "verified" in error.allowed
    mixed = ratio(source("success", sources=["verified"]), source("verified", sources=["human"]))
    assert "same outcome sources" in str(_error(tmp_path, slo_doc("x", mixed)))


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    doc = success_slo(target=2)
    doc["spec"]["bogus"] = 1
    error = _error(tmp_path, doc)
    assert "2 problems" in str(error)
    assert "spec.bogus" in str(error) and "spec.objectives[0].target" in str(error)


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(SLOSpecError, match="no such file"):
        load_slos([tmp_path / "missing.yaml"])
    sli = {
        "apiVersion": "openslo/v1",
        "kind": "SLI",
        "metadata": {"name": "s"},
        "spec": ratio(source("success")),
    }
    with pytest.raises(SLOSpecError, match="no SLO documents"):
        load_slos([write_docs(tmp_path / "only-sli.yaml", sli)])
    with pytest.raises(SLOSpecError, match="already defined"):
        load_slos([write_docs(tmp_path / "dup.yaml", success_slo(), success_slo())])
