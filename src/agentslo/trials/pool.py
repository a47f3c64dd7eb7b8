"""Agent processes: a pool of isolated workers that run one trial at a time.

Each worker is ``python -I -m agentslo.agents._worker`` started in its own session,
in a fresh temporary directory (the only place it may write once it has confined
itself, see :mod:`agentslo.agents._confine`), with a minimal environment (``PATH``, locale, a
private ``HOME``/``TMPDIR`` and only the variables explicitly passed through). It
never receives the store path, the seed or the verifier. The harness reads the
worker's channel (stdout) line by line with a size cap, and its stderr (where the
agent's prints go) into a bounded buffer: an agent that floods output past the cap
is killed and its trial fails with ``output_flood``.

A worker is reused for the next trial when its trial ended cleanly; one that was
killed, hung, flooded, broke the protocol or left threads behind is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

from agentslo.agents.protocol import MAX_MESSAGE_BYTES, ProtocolError, decode, encode

__all__ = ["DEFAULT_PASS_ENV", "Worker", "WorkerPool", "check_pass_env", "protect_harness"]

#: Environment variables passed to agent processes when set (model credentials).
DEFAULT_PASS_ENV: Final = ("OPENAI_API_KEY", "OPENAI_BASE_URL")
#: Variables the worker's environment sets itself; passing them would undo that.
_WORKER_ENV: Final = ("PATH", "LANG", "HOME", "TMPDIR")
_ENV_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEEP_OUTPUT: Final = 2000
START_TIMEOUT_S: Final = 60.0


def check_pass_env(names: Iterable[str]) -> tuple[str, ...]:
    """The environment variable ``names`` to pass to agent processes, checked.

    Only names are passed, never values: each is copied from the harness's
    environment when set there. Refused, with the reason: anything that is not a
    variable name (``NAME=value`` included), the variables the worker sets itself
    (its private ``HOME``/``TMPDIR``, ``PATH``, ``LANG``) and ``AGENTSLO_*`` (the
    harness's own settings; ``AGENTSLO_DB`` is the store path agents must not learn).
    Duplicates are dropped, order kept.
    """
    checked: list[str] = []
    for name in names:
        if not _ENV_NAME.fullmatch(name):
            raise ValueError(
                f"--pass-env {name!r} is not an environment variable name: give the name "
                "alone (--pass-env HTTPS_PROXY); its value is taken from this environment"
            )
        if name in _WORKER_ENV:
            raise ValueError(
                f"--pass-env {name}: agent processes get their own {name} (a private "
                "HOME/TMPDIR, the harness's PATH, LANG=C.UTF-8); drop it"
            )
        if name.upper().startswith("AGENTSLO_"):
            raise ValueError(
                f"--pass-env {name}: AGENTSLO_* variables configure the harness (AGENTSLO_DB "
                "is the store path, which agents must not learn); drop it"
            )
        if name not in checked:
            checked.append(name)
    return tuple(checked)


class Worker:
    """One agent process and its channel."""

    def __init__(self, proc: asyncio.subprocess.Process, home: str, output_cap: int) -> None:
        self.proc = proc
        self.home = home
        self.output_cap = output_cap
        self.output_bytes = 0
        self.output_head = bytearray()
        self.flooded = False
        #: Tool sets this worker has already received (sent once, then named).
        self.known_tools: set[str] = set()
        self._drain = asyncio.ensure_future(self._read_stderr())

    @classmethod
    async def spawn(
        cls,
        *,
        sys_path: Sequence[str],
        pass_env: Sequence[str],
        output_cap: int,
        hidden: Sequence[str] = (),
    ) -> Worker:
        """Start a worker and wait for its ``ready`` message.

        A start that fails in any way (the interpreter cannot be run, the worker
        says something else, breaks the protocol, takes longer than
        ``START_TIMEOUT_S`` or the caller is cancelled) kills what was started and
        removes its directory before the error propagates.
        """
        home = tempfile.mkdtemp(prefix="agentslo-agent-")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": home,
            "TMPDIR": home,
        }
        env.update({k: os.environ[k] for k in pass_env if k in os.environ})
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-I",
                "-m",
                "agentslo.agents._worker",
                *(arg for path in hidden for arg in ("--hide", str(path))),
                cwd=home,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                limit=MAX_MESSAGE_BYTES + 2,
            )
        except BaseException:
            shutil.rmtree(home, ignore_errors=True)
            raise
        worker = cls(proc, home, output_cap)
        try:
            worker.sys_path = list(sys_path)
            hello = await worker.receive(START_TIMEOUT_S)
            if hello is None or hello.get("t") != "ready":
                worker.kill()
                await worker.close()
                raise RuntimeError(
                    f"agent worker ({sys.executable} -I -m agentslo.agents._worker) did not "
                    f"start: it sent {hello!r} instead of its ready message; its output: "
                    f"{bytes(worker.output_head)!r}; check that this interpreter can import "
                    "agentslo"
                )
            found = hello.get("confinement")
            worker.confinement = dict(found) if isinstance(found, dict) else {}
        except BaseException:
            worker.kill()
            await worker.close()
            raise
        return worker

    sys_path: list[str]
    #: What the worker reported of its own confinement (Landlock ABI, capabilities).
    confinement: dict[str, Any]

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        while True:
            chunk = await self.proc.stderr.read(65536)
            if not chunk:
                return
            self.output_bytes += len(chunk)
            if len(self.output_head) < _KEEP_OUTPUT:
                self.output_head += chunk[: _KEEP_OUTPUT - len(self.output_head)]
            if self.output_bytes > self.output_cap and not self.flooded:
                self.flooded = True
                self.kill()

    def reset_output(self) -> None:
        self.output_bytes = 0
        self.output_head = bytearray()

    @property
    def output_text(self) -> str:
        return bytes(self.output_head).decode("utf-8", "replace")

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(encode(message))

    async def receive(self, timeout: float) -> dict[str, Any] | None:
        """The next message; None at end of stream; TimeoutError past ``timeout``.

        Raises ProtocolError for a line that is not a message or is too long.
        """
        assert self.proc.stdout is not None
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), max(timeout, 0.0))
        except ValueError as exc:  # the line exceeded the stream limit
            raise ProtocolError(f"message longer than {MAX_MESSAGE_BYTES} bytes") from exc
        if not line:
            return None
        return decode(line)

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    def kill(self) -> None:
        """Kill the worker and everything it started (its whole session).

        The session is killed even when the worker itself has already exited: what
        the agent started (a browser, a ``sleep``) stays in the worker's process
        group and would otherwise outlive the trial. A process-group id is not
        reused while any member of the group is alive, so this cannot hit an
        unrelated process; an empty group is simply gone.
        """
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    async def close(self) -> None:
        """Stop the worker (asking first: closing its stdin ends it cleanly), kill its
        whole session, release the subprocess transport and remove its directory."""
        if self.proc.stdin is not None and self.alive:
            with contextlib.suppress(Exception):
                self.proc.stdin.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), 2.0)
        self.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.proc.wait(), 5.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._drain, 1.0)
        if not self._drain.done():
            self._drain.cancel()
            with contextlib.suppress(BaseException):
                await self._drain
        # asyncio.subprocess.Process has no public close(); an unclosed transport is
        # closed at garbage collection, by then often on a closed event loop.
        transport = getattr(self.proc, "_transport", None)
        if transport is not None:
            transport.close()
        shutil.rmtree(self.home, ignore_errors=True)


class WorkerPool:
    """Up to ``size`` workers, started on demand and reused between trials."""

    def __init__(
        self,
        size: int,
        *,
        sys_path: Sequence[str] | None = None,
        pass_env: Sequence[str] = DEFAULT_PASS_ENV,
        output_cap: int = 1 << 20,
        hidden: Sequence[str] = (),
    ) -> None:
        self.size = size
        #: Files agent processes may not read (the store), see agentslo.agents._confine.
        self.hidden = tuple(hidden)
        self.sys_path = list(sys_path if sys_path is not None else _default_sys_path())
        self.pass_env = check_pass_env(pass_env)
        self.output_cap = output_cap
        self._idle: list[Worker] = []
        self._all: set[Worker] = set()
        self._slots = asyncio.Semaphore(size)
        self.spawned = 0

    async def acquire(self) -> Worker:
        await self._slots.acquire()
        try:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    worker.reset_output()
                    return worker
                await self._discard(worker)
            worker = await Worker.spawn(
                sys_path=self.sys_path,
                pass_env=self.pass_env,
                output_cap=self.output_cap,
                hidden=self.hidden,
            )
        except BaseException:
            self._slots.release()
            raise
        self.spawned += 1
        self._all.add(worker)
        return worker

    async def release(self, worker: Worker, *, reuse: bool) -> None:
        if reuse and worker.alive and not worker.flooded:
            self._idle.append(worker)
        else:
            await self._discard(worker)
        self._slots.release()

    async def _discard(self, worker: Worker) -> None:
        worker.kill()
        self._all.discard(worker)
        await worker.close()

    async def close(self) -> None:
        workers = list(self._all)
        self._all.clear()
        self._idle.clear()
        await asyncio.gather(*(w.close() for w in workers), return_exceptions=True)


def protect_harness() -> bool:
    """Make this (the harness) process non-dumpable; return whether it worked.

    On Linux, a non-dumpable process's ``/proc/PID/mem``, ``environ`` and file
    descriptors cannot be read, nor the process traced, by other processes of the
    same user without ``CAP_SYS_PTRACE`` -- so an agent process cannot read the
    harness's memory (the gold state) or environment. Root keeps that capability:
    run hostile agents under another user or in a container.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(4, 0, 0, 0, 0)) == 0  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        return False


def _default_sys_path() -> list[str]:
    """What the harness can import, the agent can import (plus the working directory)."""
    return [str(Path.cwd()), *(p for p in sys.path if p and Path(p).is_dir())]
