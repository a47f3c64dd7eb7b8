"""The agent process: receives trials over stdin, runs the agent, talks over the channel.

Started by the harness as ``python -I -m agentslo.agents._worker`` with a minimal
environment and a fresh temporary working directory, which is all it may write:
the worker confines itself (:mod:`agentslo.agents._confine`) before it imports an
agent. The channel is the process's
original stdin/stdout; the agent's own ``print`` output (fd 1 and 2) goes to the
stderr pipe, which the harness caps. Harness modules (``agentslo.trials``, the
store) are refused at import: the gold state never exists in this process anyway,
and the refusal makes an attempt to reach for it visible as an error.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.abc
import inspect
import itertools
import os
import shutil
import sys
import tempfile
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

from agentslo.agents._confine import confine
from agentslo.agents.client import ToolClient, TrialAborted
from agentslo.agents.protocol import ProtocolError, decode, encode

__all__ = ["main"]

#: Modules an agent process may not import: the harness, its suites and the store.
BLOCKED_PREFIXES = ("agentslo.trials", "agentslo.store", "agentslo.cli", "duckdb")


class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> None:
        if any(fullname == p or fullname.startswith(p + ".") for p in BLOCKED_PREFIXES):
            raise ImportError(f"{fullname} is not available inside an agent process")
        return


class _Channel:
    def __init__(self, reader: BinaryIO, writer: BinaryIO) -> None:
        self.reader = reader
        self.writer = writer
        self.token: Any = None  # the current trial's token, echoed on every message

    def send(self, message: dict[str, Any]) -> None:
        message["k"] = self.token
        self.writer.write(encode(message))
        self.writer.flush()

    def receive(self) -> dict[str, Any] | None:
        line = self.reader.readline()
        if not line:
            return None
        return decode(line)

    def transport(self, message: dict[str, Any], expect_reply: bool) -> dict[str, Any] | None:
        self.send(message)
        if not expect_reply:
            return None
        while True:
            reply = self.receive()
            if reply is None or reply.get("t") == "abort":
                return reply
            if reply.get("id") == message.get("id"):
                return reply


def _resolve(ref: str) -> Any:
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ImportError(f"agent reference {ref!r} is not of the form module:attribute")
    target: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"agent reference {ref!r} is not callable")
    return target


def _run_agent(agent: Any, client: ToolClient) -> Any:
    if inspect.iscoroutinefunction(agent) or inspect.iscoroutinefunction(
        getattr(agent, "__call__", None)  # noqa: B004 - agent objects with async __call__
    ):
        return asyncio.run(agent(client.instruction, client))
    result = agent(client.instruction, client)
    if inspect.isawaitable(result):
        return asyncio.run(_await(result))
    return result


async def _await(value: Any) -> Any:
    return await value


def _text(value: Any, limit: int = 4000) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else repr(value)
    return text[:limit]


def _trial(
    channel: _Channel,
    start: dict[str, Any],
    agents: dict[str, Any],
    tool_sets: dict[str, list[Any]],
) -> dict[str, Any]:
    ref = str(start.get("agent", ""))
    try:
        if ref not in agents:
            agents[ref] = _resolve(ref)
        agent = agents[ref]
    except BaseException as exc:
        return {"t": "done", "error_type": "agent_import", "error": f"{ref}: {exc!r}"[:4000]}
    client = ToolClient(
        channel.transport,
        task_id=str(start.get("task_id", "")),
        instruction=str(start.get("instruction", "")),
        tools=list(tool_sets.get(str(start.get("tools_key")), [])),
        agent=str(start.get("agent_name") or "agent"),
        options=dict(start.get("options") or {}),
    )
    try:
        answer = _run_agent(agent, client)
    except TrialAborted as exc:
        return {"t": "done", "error_type": "aborted", "error": str(exc)}
    except SystemExit as exc:
        return {"t": "done", "error_type": "agent_exit", "error": f"SystemExit({exc.code!r})"}
    except BaseException as exc:
        tb = "".join(traceback.format_exception(exc, limit=8))
        return {"t": "done", "error_type": "agent_error", "error": tb[-4000:]}
    return {"t": "done", "answer": _text(answer)}


def _forget_blocked_modules() -> None:
    """Drop harness modules imported by ``agentslo/__init__`` so imports go through the blocker."""
    for name in list(sys.modules):
        if any(name == p or name.startswith(p + ".") for p in BLOCKED_PREFIXES):
            del sys.modules[name]
    root = sys.modules.get("agentslo")
    for attr in ("store", "Store", "open_store"):
        if root is not None and attr in vars(root):
            delattr(root, attr)


def _hidden(argv: list[str]) -> list[str]:
    """The files named by ``--hide PATH`` arguments (the harness's store)."""
    return [value for flag, value in itertools.pairwise(argv) if flag == "--hide"]


def main() -> None:
    """Serve trials until stdin closes."""
    channel_in = os.fdopen(os.dup(0), "rb")
    channel_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # the agent's prints go to the capped stderr pipe, never the channel
    sys.stdin = Path(os.devnull).open()  # noqa: SIM115 - lives as long as the process
    sys.meta_path.insert(0, _Blocker())
    _forget_blocked_modules()
    channel = _Channel(channel_in, channel_out)
    home = str(Path.cwd())
    confinement = confine([home], _hidden(sys.argv[1:]))  # before any agent code is imported
    agents: dict[str, Any] = {}
    tool_sets: dict[str, list[Any]] = {}
    channel.send({"t": "ready", "pid": os.getpid(), "confinement": confinement})
    while True:
        try:
            start = channel.receive()
        except ProtocolError:
            return
        if start is None or start.get("t") != "start":
            return
        channel.token = start.get("k")
        if isinstance(start.get("tools"), list):
            tool_sets[str(start.get("tools_key"))] = start["tools"]
        for entry in start.get("sys_path") or []:
            if isinstance(entry, str) and entry not in sys.path:
                sys.path.append(entry)
        workdir = tempfile.mkdtemp(prefix="trial-", dir=home)
        os.chdir(workdir)
        try:
            done = _trial(channel, start, agents, tool_sets)
        finally:
            os.chdir(home)
            shutil.rmtree(workdir, ignore_errors=True)
        done["threads"] = threading.active_count()
        sys.stdout.flush()
        sys.stderr.flush()
        channel.send(done)


if __name__ == "__main__":
    main()
