"""What an agent holds inside its process: the tool client.

An agent is any callable ``agent(instruction, tools)`` (or a coroutine function)
that returns its final message. ``tools`` is a :class:`ToolClient`: it lists the
environment's tools with their JSON schemas and calls them over the tool channel.
The final message is recorded but never scored: the verifier checks the
environment's state (answers go through the task's typed ``submit_answer`` tool).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Handoff",
    "ToolCallError",
    "ToolClient",
    "TrialAborted",
]


class TrialAborted(BaseException):
    """The harness ended the trial (budget spent); the agent must stop."""


class ToolCallError(Exception):
    """A tool call failed; the agent may recover (retry, fix arguments, ask).

    ``type`` is one of ``invalid_arguments``, ``unknown_tool``, ``rejected`` (the
    environment refused: a business rule), ``server_error`` (5xx), ``timeout``,
    ``rate_limited`` (see ``retry_after`` seconds) or ``forbidden``.
    """

    def __init__(
        self, type: str, message: str, *, retryable: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{type}: {message}")
        self.type = type
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after


class Handoff(BaseModel):
    """A structured hand-off from a planner to an executor agent.

    ``constraints`` must carry forward every constraint of the task (the harness
    records any that were dropped); ``acceptance`` says how the executor knows it
    is done.
    """

    model_config = ConfigDict(extra="forbid")

    to: str = Field(min_length=1, max_length=100, description="Executor agent name.")
    goal: str = Field(min_length=1, max_length=4000, description="What the executor must do.")
    constraints: list[str] = Field(description="Task constraints carried forward, verbatim ids.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Facts found so far.")
    acceptance: str = Field(min_length=1, max_length=2000, description="When it is done.")


Transport = Callable[[dict[str, Any], bool], dict[str, Any] | None]


class ToolClient:
    """Call the environment's tools by name; results are plain JSON values.

    ``call`` raises :class:`ToolCallError` for a failed call. ``last_meta`` holds
    the consistency metadata of the last call (``seq``: writes applied so far;
    ``as_of``: the write sequence number the read reflects).
    """

    def __init__(
        self,
        transport: Transport,
        *,
        task_id: str,
        instruction: str,
        tools: list[dict[str, Any]],
        agent: str = "agent",
        options: dict[str, Any] | None = None,
    ) -> None:
        self._send = transport
        self.task_id = task_id
        self.instruction = instruction
        self.tools = tools
        self.agent = agent
        self.options = dict(options or {})
        self.last_meta: dict[str, Any] = {}
        self._ids = [0]

    def _next_id(self) -> int:
        self._ids[0] += 1
        return self._ids[0]

    def as_agent(self, name: str) -> ToolClient:
        """The same channel, with calls labelled as agent ``name`` (multi-agent systems)."""
        other = ToolClient(
            self._send,
            task_id=self.task_id,
            instruction=self.instruction,
            tools=self.tools,
            agent=name,
            options=self.options,
        )
        other._ids = self._ids
        return other

    @property
    def tool_names(self) -> list[str]:
        return [t["name"] for t in self.tools]

    def call(self, tool: str, /, **args: Any) -> Any:
        """Call ``tool`` with keyword arguments; return its result or raise ToolCallError."""
        reply = self._request({"t": "call", "tool": tool, "args": args})
        self.last_meta = dict(reply.get("meta") or {})
        if reply.get("ok"):
            return reply.get("result")
        error = reply.get("error") or {}
        raise ToolCallError(
            str(error.get("type", "error")),
            str(error.get("message", "")),
            retryable=bool(error.get("retryable", False)),
            retry_after=error.get("retry_after"),
        )

    async def acall(self, tool: str, /, **args: Any) -> Any:
        """``call`` for coroutine agents (the channel is synchronous and local)."""
        return self.call(tool, **args)

    def handoff(self, handoff: Handoff) -> None:
        """Record a hand-off to ``handoff.to``; raises ToolCallError if it is malformed."""
        reply = self._request({"t": "handoff", "handoff": handoff.model_dump()})
        if not reply.get("ok"):
            error = reply.get("error") or {}
            raise ToolCallError(str(error.get("type")), str(error.get("message")))

    def handoff_done(self, to: str, status: str = "ok") -> None:
        """Close the innermost open hand-off to ``to``."""
        self._request({"t": "handoff_end", "to": to, "status": status})

    def record_llm(
        self,
        *,
        model: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cost_usd: float = 0.0,
        duration_s: float = 0.0,
    ) -> None:
        """Report one model request (tokens and cost count against the trial's budgets)."""
        self._send(
            {
                "t": "llm",
                "agent": self.agent,
                "model": model,
                "input_tokens": int(input_tokens),
                "output_tokens": int(output_tokens),
                "cost_usd": float(cost_usd),
                "duration_s": float(duration_s),
            },
            False,
        )

    def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        message["id"] = self._next_id()
        message["agent"] = self.agent
        reply = self._send(message, True)
        if reply is None or reply.get("t") == "abort":
            reason = "" if reply is None else str(reply.get("reason", ""))
            raise TrialAborted(reason or "the harness ended the trial")
        return reply


def sleep_for_retry(error: ToolCallError, default: float = 0.01) -> None:
    """Sleep as long as a rate-limit error asks (helper for agents that retry)."""
    time.sleep(min(error.retry_after or default, 5.0))
