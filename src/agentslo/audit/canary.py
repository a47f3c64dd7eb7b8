"""Canaries and a loopback listener: evidence of execution and of network reach.

Every payload an exploit plants or hands in records its own execution by writing
a file into the canary directory, named by the payload's tag and the pid of the
process that ran it. Agent processes are sandboxed to their own directory, so
they cannot write here themselves: a file here means something outside the
sandbox (the harness, a verifier, a later interpreter) ran agent-written code.

The listener accepts connections on a loopback port the probing exploit is told
about, so the audit can say whether agent processes have network access.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

__all__ = ["Canary", "CanaryHit", "LoopbackListener"]


@dataclass(frozen=True)
class CanaryHit:
    """One payload that ran: its tag and the pid of the process that ran it."""

    tag: str
    pid: int | None

    def to_dict(self) -> dict[str, object]:
        return {"payload": self.tag, "pid": self.pid}


class Canary:
    """A fresh directory that canary payloads write to when executed."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="agentslo-audit-canary-"))
        self._seen: set[str] = set()

    def new_hits(self) -> list[CanaryHit]:
        """Payloads that ran since the last call."""
        hits = []
        for entry in sorted(self.path.iterdir()):
            if entry.name in self._seen:
                continue
            self._seen.add(entry.name)
            tag, _, pid = entry.name.rpartition("-")
            hits.append(CanaryHit(tag or entry.name, int(pid) if pid.isdigit() else None))
        return hits

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class LoopbackListener:
    """A TCP listener on 127.0.0.1 that counts connections (and answers 404)."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port: int = self._sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            with contextlib.suppress(OSError), conn:
                conn.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")

    def __enter__(self) -> LoopbackListener:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self._sock.close()
