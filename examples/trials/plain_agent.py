"""A plain Python agent: a function that receives the instruction and a tool client.

It handles the opsdesk rollback tasks: find the failing streak of deployments, roll
back to the last healthy version, resolve the incident. It retries retryable tool
errors (5xx, timeouts, rate limits) and asks the user when the instruction does not
name the service.

    agentslo trial run opsdesk --agent examples.trials.plain_agent:agent \\
        --tasks 'rollback-?' --k 4 --faults clean,api-errors:0.2,ambiguous
"""

from __future__ import annotations

import re
import time
from typing import Any

from agentslo.agents import ToolCallError, ToolClient


def call(tools: ToolClient, name: str, **args: Any) -> Any:
    """Call a tool, retrying what the environment says is retryable."""
    for _ in range(10):
        try:
            return tools.call(name, **args)
        except ToolCallError as error:
            if not error.retryable:
                raise
            time.sleep(error.retry_after or 0.01)
    raise RuntimeError(f"{name} kept failing")


def agent(instruction: str, tools: ToolClient) -> str:
    found = re.search(r"The (\w+) service is failing", instruction)
    if found:
        service = found.group(1)
    else:
        reply = call(tools, "ask_user", question="Which service is failing?")
        service = re.search(r"the (\w+) service", reply).group(1)  # type: ignore[union-attr]
    history = call(tools, "list_deployments", service=service)["history"]
    first_bad = None
    for version in reversed(history):
        rate = call(tools, "get_deploy_metrics", service=service, version=version)["error_rate"]
        if rate >= 0.01:
            first_bad = version
        elif first_bad:
            call(tools, "deploy", service=service, version=version)
            break
    for ticket in call(tools, "list_tickets", status="open", kind="incident"):
        if ticket["service"] == service:
            call(
                tools,
                "update_ticket",
                ticket_id=ticket["ticket_id"],
                status="resolved",
                root_cause_version=first_bad,
            )
    return f"rolled back {service}; root cause {first_bad}"
