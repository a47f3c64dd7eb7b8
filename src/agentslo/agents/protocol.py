"""The tool channel between the harness and an agent process: one JSON object per line.

The agent process writes requests (``call``, ``llm``, ``handoff``, ``done``) and the
harness answers each ``call``/``handoff`` with a ``result``. Nothing else crosses:
no file, no shared memory, no store path, no seed. The harness treats every line it
reads as untrusted input (size-capped, schema-checked); a line it cannot parse fails
the trial as a protocol error.
"""

from __future__ import annotations

import json
from typing import Any, Final

__all__ = ["MAX_MESSAGE_BYTES", "ProtocolError", "decode", "encode"]

#: The longest line either side accepts (a larger one is a protocol error).
MAX_MESSAGE_BYTES: Final = 1 << 20


class ProtocolError(ValueError):
    """A line on the tool channel is not a well-formed message."""


def encode(message: dict[str, Any]) -> bytes:
    """One message as a JSON line (compact, UTF-8)."""
    return (json.dumps(message, separators=(",", ":"), default=str) + "\n").encode()


def decode(line: bytes) -> dict[str, Any]:
    """Parse one line into a message with a string ``t`` (type); raise ``ProtocolError``."""
    if len(line) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message of {len(line)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not JSON: {line[:80]!r}") from exc
    if not isinstance(message, dict) or not isinstance(message.get("t"), str):
        raise ProtocolError(f"not a message object with a type 't': {line[:80]!r}")
    return message
