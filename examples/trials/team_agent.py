"""A planner hands work to executors through structured hand-offs.

The planner reads (it may not write on team tasks), then hands the work to the
executor named for the task's kind with the goal, every constraint id from the
instruction, the facts it found and an acceptance test. Each agent's tool calls
are labelled with its name; each hand-off is a ``handoff`` span.

    agentslo trial run opsdesk --agent examples.trials.team_agent:agent \\
        --tasks '*-team' --k 2 --faults clean,api-errors:0.1
"""

from __future__ import annotations

import re

from agentslo.agents import Handoff, ToolClient
from agentslo.agents.opsdesk import Solver
from agentslo.agents.team import Delegate, Team


def planner(instruction: str, tools: ToolClient, delegate: Delegate) -> str:
    policy = tools.call("read_policy")
    constraints = re.findall(r"^\[([\w-]+)\]", instruction, flags=re.MULTILINE)
    kind = re.sub(r"-\d+-team$", "", tools.task_id)
    executor = "stock" if kind == "restock" else "ops"
    return str(
        delegate(
            Handoff(
                to=executor,
                goal=instruction.split("\n\n", 1)[0],
                constraints=constraints,
                inputs={"task_kind": kind, "policy_lines": len(policy.splitlines())},
                acceptance="every item the goal names is handled per the written policy",
            )
        )
    )


def executor(handoff: Handoff, tools: ToolClient) -> str:
    # The executor works from the hand-off: its goal carries the instruction.
    solver = Solver(tools, careful=True, retries=10)
    solver.text = handoff.goal
    return solver.solve(tools.task_id)


agent = Team(planner, {"ops": executor, "stock": executor})
