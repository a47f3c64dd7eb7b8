"""API keys of the OTLP receiver: each key belongs to one project.

A key reads ``aslo_<key id>_<secret>``. The store keeps the key id, the project and
a SHA-256 of the secret, never the secret itself: the key is shown once, when it
is created. A request's key is checked by id, then by a constant-time comparison
of the secret's hash; a revoked key stops working at the server's next lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import duckdb

__all__ = ["ApiKey", "KeyRecord", "create_key", "list_keys", "parse_key", "revoke_key", "verify"]

PREFIX: Final = "aslo_"
_PROJECT: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_KEY: Final = re.compile(r"^aslo_([a-z0-9]{12})_([A-Za-z0-9_-]{32,64})$")


@dataclass(frozen=True)
class ApiKey:
    """A freshly created key: ``token`` is the only copy of the secret."""

    key_id: str
    project: str
    token: str


@dataclass(frozen=True)
class KeyRecord:
    """A stored key (no secret)."""

    key_id: str
    project: str
    name: str | None
    created_at: datetime
    revoked_at: datetime | None
    secret_sha256: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_project(project: str) -> str:
    """``project`` if it is a valid project name, else ``ValueError`` saying why."""
    if not _PROJECT.match(project):
        raise ValueError(
            f"project {project!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return project


def create_key(con: duckdb.DuckDBPyConnection, project: str, name: str | None = None) -> ApiKey:
    """Create a key for ``project``, store its hash, and return the key (shown once)."""
    check_project(project)
    key_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
    secret = secrets.token_urlsafe(32)
    con.execute(
        "INSERT INTO api_keys (key_id, project, secret_sha256, name, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [key_id, project, _digest(secret), name, datetime.now(UTC).replace(tzinfo=None)],
    )
    return ApiKey(key_id, project, f"{PREFIX}{key_id}_{secret}")


def list_keys(con: duckdb.DuckDBPyConnection) -> list[KeyRecord]:
    """Every stored key, oldest first."""
    rows = con.execute(
        "SELECT key_id, project, name, created_at, revoked_at, secret_sha256 FROM api_keys "
        "ORDER BY created_at, key_id"
    ).fetchall()
    return [KeyRecord(*row) for row in rows]


def revoke_key(con: duckdb.DuckDBPyConnection, key_id: str) -> bool:
    """Revoke key ``key_id``; False when there is no such active key."""
    row = con.execute(
        "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL "
        "RETURNING key_id",
        [datetime.now(UTC).replace(tzinfo=None), key_id],
    ).fetchone()
    return row is not None


def parse_key(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    match = _KEY.match(token)
    return (match.group(1), match.group(2)) if match else None


def verify(record: KeyRecord, secret: str) -> bool:
    """Whether ``secret`` is the secret of ``record`` and the key is not revoked."""
    if record.revoked_at is not None:
        return False
    return hmac.compare_digest(record.secret_sha256, _digest(secret))
