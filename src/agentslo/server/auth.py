"""Bearer-key authentication: which project a request reads and writes.

With authentication on, every endpoint except ``/healthz`` and ``/readyz`` needs
``Authorization: Bearer <key>``; the key's project tags every row written and
scopes every read. With ``--no-auth`` every request acts for one project (the
``--project`` option, ``default`` unless set).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from agentslo.store import Store
from agentslo.store.api_keys import KeyRecord, list_keys, parse_key, verify

__all__ = ["AuthError", "Authenticator", "Principal"]

_RELOAD_EVERY_S: Final = 5.0


class AuthError(Exception):
    """The request's credentials are missing or wrong (HTTP 401)."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: the project the request is confined to."""

    project: str
    key_id: str | None = None


class Authenticator:
    """Checks bearer keys against the store's ``api_keys`` table (cached)."""

    def __init__(
        self, reader: Callable[[], Store] | None, *, no_auth_project: str | None = None
    ) -> None:
        """``reader`` opens a read cursor on the store (closed after each lookup)."""
        self.reader = reader
        self.no_auth_project = no_auth_project
        self._keys: dict[str, KeyRecord] = {}
        self._loaded_at = 0.0
        self._lock = threading.Lock()
        if reader is not None and no_auth_project is None:
            self.reload()

    @property
    def enabled(self) -> bool:
        return self.no_auth_project is None

    def reload(self) -> None:
        """Re-read the keys (revocations take effect within seconds)."""
        assert self.reader is not None
        with self._lock:
            reader = self.reader()
            try:
                self._keys = {k.key_id: k for k in list_keys(reader.con)}
            finally:
                reader.close()
            self._loaded_at = time.monotonic()

    def principal(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization`` header value; raise ``AuthError``."""
        if self.no_auth_project is not None:
            return Principal(self.no_auth_project)
        if not authorization:
            raise AuthError(
                "missing Authorization header; send 'Authorization: Bearer <key>' with a key "
                "from `agentslo keys create --project NAME`"
            )
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("the Authorization header must read 'Bearer <key>'")
        parsed = parse_key(token.strip())
        if parsed is None:
            raise AuthError("the bearer key is not an agentslo key (aslo_<id>_<secret>)")
        key_id, secret = parsed
        record = self._keys.get(key_id)
        if (record is None or record.revoked_at is None) and self._stale():
            self.reload()
            record = self._keys.get(key_id)
        if record is None or not verify(record, secret):
            raise AuthError(f"key {key_id} is unknown, revoked or wrong")
        return Principal(record.project, key_id)

    def _stale(self) -> bool:
        return time.monotonic() - self._loaded_at > _RELOAD_EVERY_S
