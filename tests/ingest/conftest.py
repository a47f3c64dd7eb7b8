"""Fixtures for the ingest tests: a fresh store and a rejects folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agentslo.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "store.duckdb") as opened:
        yield opened


@pytest.fixture
def rejects(tmp_path: Path) -> Path:
    return tmp_path / "rejects"
