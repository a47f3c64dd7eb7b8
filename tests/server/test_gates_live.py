"""Regression gates inside the server: GET /v1/gates and /metrics, per project."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx
from tests.server.conftest import ThreadServer

from agentslo.demo import FleetConfig, ground_truth, write_fleet
from agentslo.server.gates import GateEvaluator
from agentslo.store import open_store
from agentslo.store.api_keys import create_key

CONFIG = FleetConfig(end=datetime(2025, 6, 2, 12), spans=False)


def _gates_file(folder: Path) -> Path:
    truth = ground_truth(CONFIG).regressed_version
    path = folder / "gates.yaml"
    path.write_text(
        f"""gates:
  - name: release
    project: default
    baseline: {{agent: {truth.agent}, version: {truth.baseline_version}}}
    candidate: {{agent: {truth.agent}, version: {truth.version}}}
    metrics: [success, p95:duration]
"""
    )
    return path


def _evaluated(client: httpx.Client) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while True:
        body = client.get("/v1/gates").json()
        if body["evaluated_at"] is not None or time.monotonic() > deadline:
            return dict(body)
        time.sleep(0.1)


def test_gates_run_inside_the_server_for_their_project_only(
    tmp_path: Path, serve: Callable[..., ThreadServer]
) -> None:
    with open_store(tmp_path / "serve.duckdb") as store:
        write_fleet(store, CONFIG)
        own, other = (create_key(store.con, p).token for p in ("default", "b"))
    server = serve(evaluators=[GateEvaluator(_gates_file(tmp_path), interval_s=3600)])
    with server.client(own) as client:
        body = _evaluated(client)
        (gate,) = body["gates"]  # type: ignore[misc]
        assert gate["decision"] == "regressed"
        metrics = client.get("/metrics").text
        line = 'agentslo_gate_decision{gate="release",metric="overall",decision="regressed"} 1.0'
        assert line in metrics.splitlines()
    with server.client(other) as client:
        assert _evaluated(client)["gates"] == []
        assert "agentslo_gate_decision" not in client.get("/metrics").text
    server.stop()
    with open_store(tmp_path / "serve.duckdb") as store:
        rows = store.con.execute(
            "SELECT project, gate, metric FROM gate_decisions WHERE decision = 'regressed'"
        ).fetchall()
    assert ("default", "release", "success") in rows


def test_gates_endpoint_without_gates_says_how_to_configure_them(
    serve: Callable[..., ThreadServer],
) -> None:
    with serve(no_auth_project="default").client() as client:
        response = client.get("/v1/gates")
    assert response.status_code == 404
    assert "--gates FILE" in response.json()["error"]
