"""Prometheus rule export: the Workbook recipe over the documented /metrics names."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.slo.traffic import ratio, slo_doc, source, success_slo, write_docs

from agentslo.slo import (
    METRICS,
    histogram_buckets,
    le_label,
    load_slos,
    prometheus_rules,
    prometheus_rules_yaml,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "slo"


def _group(rules: dict[str, Any], name: str) -> list[dict[str, Any]]:
    [group] = [g for g in rules["groups"] if g["name"] == f"agentslo-slo-{name}"]
    rules_list: list[dict[str, Any]] = group["rules"]
    return rules_list


def test_examples_export_one_group_per_slo_with_four_alerts() -> None:
    slos = load_slos([EXAMPLES])
    rules = yaml.safe_load(prometheus_rules_yaml(slos))
    assert len(rules["groups"]) == len(slos) == 4
    for group in rules["groups"]:
        records = {r["record"] for r in group["rules"] if "record" in r}
        alerts = [r for r in group["rules"] if "alert" in r]
        assert [a["labels"]["severity"] for a in alerts] == ["page", "page", "ticket", "ticket"]
        for alert in alerts:
            # Every series an alert reads is recorded in the same group.
            used = set(re.findall(r"(agentslo:[a-z_:]+[0-9dhms]+)\{", alert["expr"]))
            assert used and used <= records, (used, records)
        for rule in group["rules"]:
            for metric in re.findall(
                r"\b(agentslo_[a-z_]+?)(?:_bucket|_count)?[{\[]", rule["expr"]
            ):
                assert metric in METRICS, metric


def test_success_rules_use_the_scaled_windows_and_trusted_sources() -> None:
    [slo] = [s for s in load_slos([EXAMPLES]) if s.name == "checkout-success"]
    rules = _group(prometheus_rules([slo]), "checkout-success")
    page = next(r for r in rules if r.get("alert"))
    assert page["labels"] == {
        "slo": "checkout-success",
        "objective": "0",
        "severity": "page",
        "long_window": "56m",
        "short_window": "4m40s",
        "burn_rate": "14.4",
    }
    assert page["expr"] == (
        'agentslo:slo_error_ratio:rate56m{slo="checkout-success", objective="0"} >= (14.4 * 0.01)\n'
        "and\n"
        'agentslo:slo_error_ratio:rate4m40s{slo="checkout-success", objective="0"} '
        ">= (14.4 * 0.01)"
    )
    fast = next(r for r in rules if r.get("record") == "agentslo:slo_error_ratio:rate4m40s")
    assert 'source=~"verified|human", outcome="success"' in fast["expr"]
    assert "or vector(0)" in fast["expr"]  # a total outage still yields a ratio
    assert 'agent="checkout", environment="production"' in fast["expr"]


def test_latency_cost_and_timeslice_rules() -> None:
    slos = {s.name: s for s in load_slos([EXAMPLES])}
    latency = _group(prometheus_rules([slos["support-latency"]]), "support-latency")
    assert (
        'agentslo_run_duration_seconds_bucket{agent="support", environment="production", le="30.0"}'
        in (latency[0]["expr"])
    )
    cost = _group(prometheus_rules([slos["fleet-cost"]]), "fleet-cost")
    assert 'le="0.5"' in cost[0]["expr"] and "agentslo_run_cost_usd_count" in cost[0]["expr"]
    slices = _group(prometheus_rules([slos["triage-good-minutes"]]), "triage-good-minutes")
    assert slices[0]["record"] == "agentslo:slo_error_ratio:rate5m"
    assert slices[1]["expr"].startswith(
        'avg_over_time((agentslo:slo_error_ratio:rate5m{slo="triage-good-minutes", '
        'objective="0"} > bool 0.1)['
    )
    alert = next(r for r in slices if r.get("alert"))
    assert "agentslo:slo_bad_slices:ratio" in alert["expr"] and "(14.4 * 0.005)" in alert["expr"]


def test_list_filters_become_regex_matchers(tmp_path: Path) -> None:
    doc = slo_doc("x", ratio(source("runs", filter={"agent": ["a.b", "c"]})))
    [slo] = load_slos([write_docs(tmp_path / "x.yaml", doc)])
    expr = _group(prometheus_rules([slo]), "x")[0]["expr"]
    assert 'agentslo_runs_total{agent=~"a\\\\.b|c"}' in expr


def test_sources_that_do_not_map_onto_the_metric_are_refused(tmp_path: Path) -> None:
    doc = slo_doc("x", ratio(source("success", sources=["human"])))
    [slo] = load_slos([write_docs(tmp_path / "x.yaml", doc)])
    with pytest.raises(ValueError, match=r"allowed: \[verified\], \[verified, human\]"):
        prometheus_rules([slo])


def test_buckets_cover_every_threshold(tmp_path: Path) -> None:
    doc = slo_doc("x", ratio(source("duration_below", threshold="45s")))
    slos = [*load_slos([write_docs(tmp_path / "x.yaml", doc)]), *load_slos([EXAMPLES])]
    buckets = histogram_buckets(slos)
    assert 45.0 in buckets["agentslo_run_duration_seconds"]
    assert 0.5 in buckets["agentslo_run_cost_usd"]
    assert (le_label(30), le_label(0.5)) == ("30.0", "0.5")


def test_rules_yaml_has_no_aliases(tmp_path: Path) -> None:
    [slo] = load_slos([write_docs(tmp_path / "s.yaml", success_slo())])
    text = prometheus_rules_yaml([slo])
    assert "&id" not in text and "*id" not in text
    assert text.startswith("# Prometheus rules generated by `agentslo slo rules`")
