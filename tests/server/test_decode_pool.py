"""Decode workers map with the server's options, handed over once, per project."""

from __future__ import annotations

import os

from tests.ingest.otlp_samples import agent_trace, proto_request

from agentslo.ingest.prices import load_prices
from agentslo.ingest.semconv import MappingOptions
from agentslo.server.decode_pool import decode_in_worker, start_worker
from agentslo.server.otlp_http import PROTOBUF


def test_a_worker_maps_with_the_servers_options_for_each_project() -> None:
    # The parent given is this process's own parent: the watch thread stays idle.
    start_worker(os.getppid(), MappingOptions(project="unused", prices=load_prices()))
    body = proto_request(agent_trace())
    for project in ("shop", "billing"):
        batch = decode_in_worker(body, PROTOBUF, project)
        assert set(batch.spans.column("project").to_pylist()) == {project}
        costs = [c for c, k in zip(batch.spans.column("cost_usd").to_pylist(),
                                   batch.spans.column("kind").to_pylist(), strict=True)
                 if k == "llm"]  # fmt: skip
        assert costs and all(c is not None and c > 0 for c in costs)  # priced by the table
