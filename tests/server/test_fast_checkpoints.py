"""``agentslo serve --fast-checkpoints``: the store's checkpoints skip FSST."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from tests.server.conftest import ThreadServer
from typer.testing import CliRunner

from agentslo.cli.app import app
from agentslo.server import ServerConfig
from agentslo.store import open_store


def _bench_body() -> Callable[[], bytes]:
    path = Path(__file__).resolve().parents[2] / "bench" / "ingest.py"
    spec = importlib.util.spec_from_file_location("bench_ingest_ckpt", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    template = bench.template()

    def body() -> bytes:
        return template.replace(bench.TRACE_MARK, os.urandom(12)).replace(
            bench.SPAN_MARK, os.urandom(4)
        )

    return body


def _span_compressions(serve: Callable[..., ThreadServer], db: Path, *, fast: bool) -> set[str]:
    body = _bench_body()
    server = serve(no_auth_project="default", db=db, fast_checkpoints=fast)
    with server.client() as client:
        for _ in range(30):
            answer = client.post(
                "/v1/traces", content=body(), headers={"content-type": "application/x-protobuf"}
            )
            assert answer.status_code == 200
    server.stop()  # DuckDB checkpoints the log into the file when the server closes it
    with open_store(db, read_only=True) as store:
        rows = store.con.execute(
            "SELECT DISTINCT compression FROM pragma_storage_info('spans') "
            "WHERE segment_type = 'VARCHAR'"
        ).fetchall()
    return {r[0] for r in rows}


def test_fast_checkpoints_write_no_fsst_segments(
    serve: Callable[..., ThreadServer], tmp_path: Path
) -> None:
    assert "FSST" in _span_compressions(serve, tmp_path / "default.duckdb", fast=False)
    assert "FSST" not in _span_compressions(serve, tmp_path / "fast.duckdb", fast=True)


def test_the_cli_flag_reaches_the_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[ServerConfig] = []

    def run(asgi: Any, **_: Any) -> None:
        seen.append(asgi.config)

    monkeypatch.setattr(uvicorn, "run", run)
    db = str(tmp_path / "s.duckdb")
    for flags, expected in (([], False), (["--fast-checkpoints"], True)):
        result = CliRunner().invoke(app, ["serve", "--no-auth", "--db", db, *flags])
        assert result.exit_code == 0, result.output
        assert seen[-1].fast_checkpoints is expected
