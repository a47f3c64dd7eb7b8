"""A scripted "model" for the adapter tests: the rollback playbook as a policy.

``next_action(instruction, steps)`` looks at the tool calls made so far (name,
arguments, result) and returns the next tool call, or the final text. Both the
pydantic-ai ``FunctionModel`` and the fake OpenAI-compatible server drive it.
"""

from __future__ import annotations

import re
from typing import Any

Step = tuple[str, dict[str, Any], Any]


def next_action(instruction: str, steps: list[Step]) -> tuple[str, dict[str, Any]] | str:
    match = re.search(r"The (\w+) service is failing", instruction)
    if match is None:
        return "I cannot tell which service."
    service = match.group(1)
    if not steps:
        return "get_deploy_metrics", {"service": service, "version": "nonsense", "extra": 1}
    if len(steps) == 1:
        return "list_deployments", {"service": service}
    history = steps[1][2]["history"]
    metrics = [s[2] for s in steps if s[0] == "get_deploy_metrics" and "error_rate" in s[2]]
    bad = [m["version"] for m in metrics if m["error_rate"] >= 0.01]
    healthy = [m["version"] for m in metrics if m["error_rate"] < 0.01]
    last = steps[-1][0]
    if last in ("list_deployments", "get_deploy_metrics") and not healthy:
        return "get_deploy_metrics", {"service": service, "version": history[-1 - len(metrics)]}
    if last == "get_deploy_metrics":
        return "deploy", {"service": service, "version": healthy[0]}
    if last == "deploy":
        return "list_tickets", {"status": "open", "kind": "incident"}
    if last == "list_tickets":
        ticket = next(t for t in steps[-1][2] if t["service"] == service)
        return "update_ticket", {
            "ticket_id": ticket["ticket_id"],
            "status": "resolved",
            "root_cause_version": bad[-1],
        }
    return f"Rolled {service} back to {healthy[0]}."
