"""Multi-agent systems: a planner hands work to executors through a structured hand-off.

``Team(planner, executors)`` is an agent. The planner is called as
``planner(instruction, tools, delegate)``; ``delegate(Handoff(...))`` records the
hand-off on the channel (the harness validates its required fields, checks that
the task's constraints were carried forward, and opens a ``handoff`` span), runs
the named executor as ``executor(handoff, tools)`` with its tool calls labelled by
its own name, closes the hand-off and returns the executor's result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentslo.agents.client import Handoff, ToolClient

__all__ = ["Delegate", "Executor", "Planner", "Team"]

Executor = Callable[[Handoff, ToolClient], Any]
Planner = Callable[[str, ToolClient, "Delegate"], Any]


class Delegate:
    """The hand-off tool a planner holds."""

    def __init__(self, tools: ToolClient, executors: dict[str, Executor]) -> None:
        self._tools = tools
        self._executors = executors

    @property
    def executors(self) -> list[str]:
        return sorted(self._executors)

    def __call__(self, handoff: Handoff) -> Any:
        executor = self._executors.get(handoff.to)
        if executor is None:
            raise ValueError(f"no executor {handoff.to!r}; executors: {', '.join(self.executors)}")
        self._tools.handoff(handoff)
        status = "error"
        try:
            result = executor(handoff, self._tools.as_agent(handoff.to))
            status = "ok"
            return result
        finally:
            self._tools.handoff_done(handoff.to, status)


class Team:
    """A planner and named executors, usable wherever an agent is expected."""

    def __init__(self, planner: Planner, executors: dict[str, Executor]) -> None:
        self.planner = planner
        self.executors = dict(executors)

    def __call__(self, instruction: str, tools: ToolClient) -> Any:
        planner_tools = tools.as_agent("planner")
        return self.planner(instruction, planner_tools, Delegate(tools, self.executors))
