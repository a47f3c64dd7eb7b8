"""The OTLP receiver and REST API behind ``agentslo serve`` (ASGI, run by uvicorn).

``create_app(ServerConfig(db=...))`` builds the ASGI app; the endpoints, the span
attribute mapping and the durability guarantees are documented in ``docs/serve.md``.
"""

from agentslo.server.app import AgentsloApp, create_app
from agentslo.server.auth import Authenticator, AuthError, Principal
from agentslo.server.config import DEFAULT_MAX_BODY, DEFAULT_MAX_DECODED, ServerConfig
from agentslo.server.evaluators import PeriodicEvaluator
from agentslo.server.writer import IngestWriter, OverloadedError, UnavailableError

__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_MAX_DECODED",
    "AgentsloApp",
    "AuthError",
    "Authenticator",
    "IngestWriter",
    "OverloadedError",
    "PeriodicEvaluator",
    "Principal",
    "ServerConfig",
    "UnavailableError",
    "create_app",
]
