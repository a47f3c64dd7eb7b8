"""Types of the compiled walk (see ``_wire_fast.pyx``)."""

from typing import Any

def walk_request(body: bytes) -> list[tuple[dict[str, Any], str, list[tuple[Any, ...]]]]: ...
