"""Outcomes, report, SLO and /metrics over HTTP; one project per key on every endpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.ingest.otlp_samples import agent_trace, proto_request

from agentslo.slo import load_slos

from .conftest import ThreadServer

PB = {"content-type": "application/x-protobuf"}

SLO_YAML = """\
apiVersion: openslo/v1
kind: SLO
metadata: {name: support-success}
spec:
  indicator:
    metadata: {name: support-verified}
    spec:
      ratioMetric:
        good:
          metricSource: {type: agentslo, spec: {query: success, filter: {agent: support}}}
  timeWindow: [{duration: 7d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.9}]
"""


@pytest.fixture
def slos(tmp_path: Path) -> list[object]:
    path = tmp_path / "slo.yaml"
    path.write_text(SLO_YAML)
    return list(load_slos([path]))


def send(
    server: ThreadServer, key: str | None, traces: list[str], outcome: str | None = None
) -> None:
    with server.client(key) as client:
        for trace in traces:
            body = proto_request(agent_trace(trace, outcome=outcome))
            assert client.post("/v1/traces", content=body, headers=PB).status_code == 200


def test_outcomes_are_idempotent_on_the_client_id(serve: Callable[..., ThreadServer]) -> None:
    server = serve(no_auth_project="default")
    trace = f"{7:032x}"
    send(server, None, [trace])
    outcome = {
        "id": "review-1",
        "run_id": trace,
        "label": "success",
        "source": "human",
        "evaluator": "qa",
        "recorded_at": "2026-01-01T00:00:00Z",
    }
    with server.client() as client:
        for _ in range(3):
            r = client.post("/v1/outcomes", json=[outcome])
            assert r.status_code == 200 and r.json() == {"accepted": 1, "rejected": []}
        changed = client.post("/v1/outcomes", json={"outcomes": [{**outcome, "label": "failure"}]})
        assert changed.status_code == 200
        bad = client.post(
            "/v1/outcomes",
            json=[
                {"run_id": trace, "label": "success", "source": "human"},
                {"id": "x", "run_id": trace, "label": "meh", "source": "human"},
            ],
        )
        report = client.get("/v1/report", params={"by": "agent"}).json()
    assert bad.status_code == 400
    assert "'id' is required" in bad.json()["rejected"][0]["error"]
    assert "label" in bad.json()["rejected"][1]["error"]
    reader = server.app.reader()
    try:
        assert reader.con.execute("SELECT count(*), min(label) FROM outcomes").fetchone() == (
            1,
            "success",
        )
    finally:
        reader.close()
    assert report["overall"]["runs"] == 1 and report["overall"]["successes"] == 1


def test_report_slo_and_metrics_match_the_cli_shapes(
    serve: Callable[..., ThreadServer], slos: list[object]
) -> None:
    server = serve(no_auth_project="default", slos=slos)
    send(server, None, [f"{i + 1:032x}" for i in range(3)], outcome="success")
    send(server, None, [f"{i + 10:032x}" for i in range(1)], outcome="failure")
    with server.client() as client:
        report = client.get("/v1/report", params={"by": "agent,model"}).json()
        slo = client.get("/v1/slo").json()
        metrics = client.get("/metrics")
        bad = client.get("/v1/report", params={"by": "colour"})
    assert report["groups"][0]["keys"] == {"agent": "support", "model": "gpt-4o-mini"}
    assert report["overall"]["success_rate"] == pytest.approx(0.75)
    assert report["overall"]["steps"]["p50"] == 2.0
    assert report["overall"]["total_cost"] == pytest.approx(4 * 2 * (150 + 120) / 1e6)
    assert set(slo) == {"at", "exit_code", "firing", "slos"}
    assert slo["slos"][0]["good"] == 3 and slo["slos"][0]["total"] == 4
    assert bad.status_code == 400 and "colour" in bad.json()["error"]
    text = metrics.text
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    labels = (
        'project="default",agent="support",version="",model="gpt-4o-mini",team="",'
        'environment="production",suite=""'
    )
    assert f'agentslo_runs_total{{{labels},status="ok"}} 4' in text
    assert f'agentslo_run_outcomes_total{{{labels},outcome="success",source="verified"}} 3' in text
    assert f'agentslo_run_outcomes_total{{{labels},outcome="failure",source="verified"}} 1' in text
    assert f'agentslo_run_duration_seconds_bucket{{{labels},le="1.0"}} 4' in text
    assert f"agentslo_run_duration_seconds_count{{{labels}}} 4" in text
    assert f'agentslo_run_cost_usd_bucket{{{labels},le="0.001"}} 4' in text
    assert (
        'agentslo_slo_error_budget_remaining{slo="support-success",objective="support-success"}'
        in text
    )
    assert 'agentslo_slo_sli{slo="support-success",objective="support-success"} 0.75' in text
    assert "agentslo_ingest_spans_accepted_total 16" in text


def test_slo_without_specs_is_404(serve: Callable[..., ThreadServer]) -> None:
    server = serve(no_auth_project="default")
    with server.client() as client:
        r = client.get("/v1/slo")
    assert r.status_code == 404 and "--slo" in r.json()["error"]


def test_every_endpoint_needs_a_key(
    serve: Callable[..., ThreadServer], keys: dict[str, str]
) -> None:
    server = serve()
    with server.client() as client:
        for method, path in [
            ("POST", "/v1/traces"),
            ("POST", "/v1/outcomes"),
            ("GET", "/v1/report"),
            ("GET", "/v1/slo"),
            ("GET", "/metrics"),
        ]:
            r = client.request(
                method, path, content=b"{}", headers={"content-type": "application/json"}
            )
            assert r.status_code == 401, path
            assert r.headers["www-authenticate"] == "Bearer"
        wrong = client.get("/v1/report", headers={"authorization": keys["a"][:-4] + "AAAA"})
        assert wrong.status_code == 401
        assert client.get("/healthz").status_code == 200


def test_a_key_sees_only_its_project_everywhere(
    serve: Callable[..., ThreadServer], keys: dict[str, str], slos: list[object]
) -> None:
    server = serve(slos=slos)
    shared = f"{99:032x}"  # the same trace id in both projects stays two runs
    send(server, keys["a"], [shared, f"{1:032x}"], outcome="success")
    send(server, keys["b"], [shared], outcome="failure")
    with server.client(keys["b"]) as b:
        report = b.get("/v1/report").json()
        slo = b.get("/v1/slo").json()
        metrics = b.get("/metrics").text
        other = b.get("/v1/report", params={"project": "a"})
        cross = b.post(
            "/v1/outcomes",
            json=[
                {"id": "o", "project": "a", "run_id": shared, "label": "success", "source": "human"}
            ],
        )
        own = b.post(
            "/v1/outcomes",
            json=[
                {
                    "id": "o",
                    "run_id": shared,
                    "label": "success",
                    "source": "verified",
                    "recorded_at": "2099-01-01T00:00:00",
                }
            ],
        )
    assert report["overall"]["runs"] == 1 and report["overall"]["successes"] == 0
    assert slo["slos"][0]["total"] == 1 and slo["slos"][0]["good"] == 0
    assert 'project="a"' not in metrics and 'project="b"' in metrics
    assert "agentslo_ingest_" not in metrics  # process-wide counters are not per project
    assert other.status_code == 403
    assert cross.status_code == 400 and "not this key's project" in cross.text
    assert own.status_code == 200
    with server.client(keys["a"]) as a:
        report_a = a.get("/v1/report").json()
    assert report_a["overall"]["runs"] == 2 and report_a["overall"]["successes"] == 2
    reader = server.app.reader()
    try:
        rows = reader.con.execute(
            "SELECT project, count(*) FROM spans GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert rows == [("a", 8), ("b", 4)]
        assert reader.con.execute(
            "SELECT project, run_id FROM outcomes WHERE outcome_id = 'o'"
        ).fetchall() == [("b", shared)]
    finally:
        reader.close()
