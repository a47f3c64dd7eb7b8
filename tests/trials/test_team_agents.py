"""Team agents for test_opsdesk (imported in agent processes)."""

from __future__ import annotations

from agentslo.agents import Handoff, ToolClient
from agentslo.agents.opsdesk import Solver
from agentslo.agents.team import Delegate, Team


def solo_on_team(instruction: str, tools: ToolClient) -> str:
    return Solver(tools, careful=True, retries=0).solve(tools.task_id)


def _lossy(instruction: str, tools: ToolClient, delegate: Delegate) -> str:
    return str(
        delegate(
            Handoff(
                to="ops",
                goal=instruction.split("\n\n", 1)[0],
                constraints=[],
                acceptance="done",
            )
        )
    )


def _ops(handoff: Handoff, tools: ToolClient) -> str:
    return Solver(tools, careful=True, retries=0).solve(tools.task_id)


lossy_planner = Team(_lossy, {"ops": _ops})
