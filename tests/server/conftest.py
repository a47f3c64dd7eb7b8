"""A real uvicorn server in a thread, on a free port, over a fresh store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from agentslo.ingest.prices import load_prices
from agentslo.server import ServerConfig, create_app
from agentslo.store import open_store
from agentslo.store.api_keys import create_key


class ThreadServer:
    """``agentslo serve`` in this process: the same app, the same uvicorn."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.app = create_app(config)
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=0, lifespan="on", log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    def settle(self, timeout: float = 20.0) -> None:
        """Wait until the database has every request the server acknowledged (they
        are journaled when answered, and committed just after)."""
        writer = self.app.writer
        assert writer is not None
        deadline = time.monotonic() + timeout
        while writer.applied < writer.journaled:
            assert time.monotonic() < deadline, "the writer did not catch up with the journal"
            time.sleep(0.005)

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., ThreadServer]]:
    """Start a server; keyword arguments go to ``ServerConfig``."""
    started: list[ThreadServer] = []

    def start(**overrides: Any) -> ThreadServer:
        config = ServerConfig(db=tmp_path / "serve.duckdb", prices=load_prices())
        for key, value in overrides.items():
            setattr(config, key, value)
        server = ThreadServer(config).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    """Keys for projects ``a`` and ``b`` in the store the ``serve`` fixture opens."""
    with open_store(tmp_path / "serve.duckdb") as store:
        return {p: create_key(store.con, p).token for p in ("a", "b")}
