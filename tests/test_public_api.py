"""Lock the public surface: changing it must be a deliberate edit of this list."""

from __future__ import annotations

import agentslo
import agentslo.metrics
import agentslo.slo
import agentslo.stats
import agentslo.store


def test_top_level_surface() -> None:
    assert sorted(agentslo.__all__) == sorted(
        ["Finding", "Outcome", "Run", "Span", "Store", "__version__", "open_store"]
    )


def test_subpackage_surfaces_resolve() -> None:
    for module in (agentslo, agentslo.metrics, agentslo.slo, agentslo.stats, agentslo.store):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_server_surface_resolves() -> None:
    import agentslo.server

    assert "create_app" in agentslo.server.__all__ and "ServerConfig" in agentslo.server.__all__
    for name in agentslo.server.__all__:
        assert hasattr(agentslo.server, name), f"agentslo.server.{name}"
