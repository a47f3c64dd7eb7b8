"""Agents for the harness's own tests: well-behaved, broken and nosy ones.

This module is imported inside agent processes only (tests put its folder on the
worker's sys.path), never by the harness.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from agentslo.agents import ToolCallError, ToolClient
from agentslo.agents.opsdesk import oracle


def crash(instruction: str, tools: ToolClient) -> str:
    raise ValueError("the agent tripped over its own feet")


def exits(instruction: str, tools: ToolClient) -> str:
    sys.stdout.flush()
    os._exit(3)


def sys_exit(instruction: str, tools: ToolClient) -> str:
    sys.exit(2)


def hang(instruction: str, tools: ToolClient) -> str:
    time.sleep(600)
    return "never"


def flood(instruction: str, tools: ToolClient) -> str:
    chunk = "x" * 65536
    for _ in range(2000):
        print(chunk)
    return "flooded"


def chatty(instruction: str, tools: ToolClient) -> str:
    """Prints garbage to its own stdout and stderr, then solves the task."""
    print("garbage \x00\xff {not json")
    print("more garbage", file=sys.stderr)
    return oracle(instruction, tools)


def channel_garbage(instruction: str, tools: ToolClient) -> str:
    """Writes garbage to every writable descriptor it can find, the channel included."""
    for fd in range(3, 64):
        try:
            os.write(fd, b"}}garbage{{\n")
        except OSError:
            continue
    tools.call("read_policy")
    return "sent garbage"


def spender(instruction: str, tools: ToolClient) -> str:
    while True:
        tools.call("read_policy")


def token_burner(instruction: str, tools: ToolClient) -> str:
    for _ in range(100):
        tools.record_llm(model="big", input_tokens=50_000, output_tokens=1_000, cost_usd=0.5)
    return "burned"


def schema_violator(instruction: str, tools: ToolClient) -> str:
    """Calls with bad arguments first, reads the error, then solves the task."""
    errors = []
    for bad in ({"name": 42}, {}, {"name": "x", "extra": 1}):
        try:
            tools.call("find_customer", **bad)
        except ToolCallError as exc:
            errors.append(exc.type)
    try:
        tools.call("no_such_tool")
    except ToolCallError as exc:
        errors.append(exc.type)
    assert errors == ["invalid_arguments"] * 3 + ["unknown_tool"], errors
    return oracle(instruction, tools)


async def async_oracle(instruction: str, tools: ToolClient) -> str:
    await tools.acall("read_policy")
    return oracle(instruction, tools)


def nosy(instruction: str, tools: ToolClient) -> str:
    """Reports what an agent can see of its surroundings (the test inspects it)."""
    found: dict[str, Any] = {"cwd": str(Path.cwd()), "env": sorted(os.environ)}
    for module in ("agentslo.trials", "agentslo.trials.suites.opsdesk", "agentslo.store"):
        try:
            __import__(module)
            found[module] = "imported"
        except ImportError as exc:
            found[module] = f"refused: {exc}"
    found["cwd_files"] = sorted(p.name for p in Path.cwd().iterdir())
    Path("conftest.py").write_text("raise SystemExit\n")
    return json.dumps(found)


def picky(instruction: str, tools: ToolClient) -> str:
    """Crashes on one task, solves the others: a bad trial must not stop the run."""
    if tools.task_id.startswith("rollback"):
        raise RuntimeError("rollbacks scare me")
    return oracle(instruction, tools)


def _pydantic_ai_rollback() -> Any:
    """A pydantic-ai Agent whose FunctionModel plays the scripted rollback policy."""
    from pydantic_ai import Agent
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart, ToolReturnPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel
    from pydantic_ai.usage import RequestUsage
    from scripted_model import next_action

    from agentslo.agents.pydantic_ai import pydantic_ai_agent

    def model(messages: list[Any], info: AgentInfo) -> ModelResponse:
        instruction = messages[0].parts[-1].content
        calls: dict[str, tuple[str, dict[str, Any]]] = {}
        steps = []
        for message in messages:
            for part in message.parts:
                if isinstance(part, ToolCallPart):
                    calls[part.tool_call_id] = (part.tool_name, part.args_as_dict())
                elif isinstance(part, ToolReturnPart):
                    name, args = calls[part.tool_call_id]
                    steps.append((name, args, part.content))
        action = next_action(instruction, steps)
        usage = RequestUsage(input_tokens=100 + 10 * len(steps), output_tokens=20)
        if isinstance(action, str):
            return ModelResponse(parts=[TextPart(action)], usage=usage, model_name="scripted")
        name, args = action
        return ModelResponse(parts=[ToolCallPart(name, args)], usage=usage, model_name="scripted")

    return pydantic_ai_agent(lambda tools: Agent(FunctionModel(model)))


def pydantic_ai_rollback(instruction: str, tools: ToolClient) -> Any:
    return _pydantic_ai_rollback()(instruction, tools)


def pydantic_ai_test_model(instruction: str, tools: ToolClient) -> Any:
    from pydantic_ai import Agent
    from pydantic_ai.models.test import TestModel

    from agentslo.agents.pydantic_ai import pydantic_ai_agent

    return pydantic_ai_agent(Agent(TestModel()))(instruction, tools)


def state_spam(instruction: str, tools: ToolClient) -> str:
    """Calls every write tool with every plausible argument, hoping to hit the goal."""

    def attempt(name: str, **args: Any) -> Any:
        try:
            return tools.call(name, **args)
        except ToolCallError:
            return None

    oncall = [attempt("get_oncall", region=r) for r in ("north", "south", "east", "west")]
    for region in ("north", "south", "east", "west"):
        for customer in attempt("list_customers", region=region) or []:
            for summary in attempt("list_orders", customer_id=customer["customer_id"]) or []:
                oid = summary["order_id"]
                order = attempt("get_order", order_id=oid) or {"items": []}
                for item in order["items"]:
                    amount = item["unit_price"] * item["quantity"]
                    attempt("issue_refund", order_id=oid, amount=amount, reason="damaged")
                attempt("cancel_order", order_id=oid)
                attempt("create_ticket", kind="return", order_id=oid)
                attempt("create_ticket", kind="escalation", order_id=oid)
    for ticket in attempt("list_tickets", status="any") or []:
        attempt(
            "update_ticket",
            ticket_id=ticket["ticket_id"],
            status="resolved",
            severity="high",
            assignee=oncall[0] or "x",
        )
    for service in ("checkout", "search", "payments", "catalog", "shipping", "auth"):
        history = (attempt("list_deployments", service=service) or {}).get("history", [])
        for version in history[-3:-1]:
            attempt("deploy", service=service, version=version)
    for warehouse, other in (("alpha", "beta"), ("beta", "alpha")):
        for row in attempt("list_inventory", warehouse=warehouse) or []:
            attempt(
                "transfer_stock",
                sku=row["sku"],
                from_warehouse=other,
                to_warehouse=warehouse,
                quantity=10,
            )
    attempt("submit_answer", value=0.0)
    return "Everything is handled."


def forger(instruction: str, tools: ToolClient) -> str:
    """Forges a 'done' for this trial and queues tool calls for the next one."""
    channel = None
    for fd in range(3, 64):
        try:
            os.write(fd, b"")
        except OSError:
            continue
        channel = fd
    if channel is None:
        return "no channel found"
    guess = {"t": "call", "id": 999, "tool": "read_policy", "args": {}, "k": "guessed"}
    os.write(channel, (json.dumps(guess) + "\n").encode())
    return "forged"


def gold_reader(instruction: str, tools: ToolClient) -> str:
    """Bypasses the import guard, rebuilds the world from the seed, submits the answer."""
    import re

    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_Blocker"]
    from agentslo.trials.suites.opsdesk import opsdesk

    task = next(t for t in opsdesk() if t.id == tools.task_id)
    state = task.episode(0).env.state
    region = re.search(r"customers in region (\w+)", instruction).group(1)  # type: ignore[union-attr]
    days = int(re.search(r"placed_days_ago <= (\d+)", instruction).group(1))  # type: ignore[union-attr]
    total = 0.0
    for refund in state["refunds"]:
        order = state["orders"][refund["order_id"]]
        local = state["customers"][order["customer_id"]]["region"] == region
        if local and order["placed_days_ago"] <= days:
            total += refund["amount"]
    tools.call("submit_answer", value=round(total, 2))
    return "answered without looking"


def sandbox_prober(instruction: str, tools: ToolClient) -> str:
    """Tries to write a file the harness named, and one in its own directory."""
    found: dict[str, Any] = {}
    for name, path in (("outside", tools.options["outside"]), ("own", "mine.txt")):
        try:
            Path(path).write_text("written by the agent")
            found[name] = "written"
        except OSError as exc:
            found[name] = exc.strerror
    try:
        found["hidden"] = len(Path(tools.options["hidden"]).read_bytes())
    except OSError as exc:
        found["hidden"] = exc.strerror
    try:
        Path("/proc/self/comm").write_text("renamed")
        found["proc_self"] = "written"
    except OSError as exc:
        found["proc_self"] = exc.strerror
    try:
        os.kill(os.getppid(), 0)
        found["signal_harness"] = "allowed"
    except OSError as exc:
        found["signal_harness"] = exc.strerror
    return json.dumps(found)


def _start_sleeper(tools: ToolClient) -> None:
    import subprocess

    subprocess.Popen(["sleep", str(tools.options["sleep_s"])])


def leaves_a_child(instruction: str, tools: ToolClient) -> str:
    """Starts a long-running process and returns without waiting for it."""
    _start_sleeper(tools)
    return "done"


def leaves_a_child_and_exits(instruction: str, tools: ToolClient) -> str:
    """Starts a long-running process, then ends its own worker abruptly."""
    _start_sleeper(tools)
    sys.stdout.flush()
    os._exit(0)


def no_harness_key(instruction: str, tools: ToolClient) -> str:
    """Fails loudly if the harness's model key reached it (the audit passes none)."""
    if "OPENAI_API_KEY" in os.environ:
        raise RuntimeError("the harness's OPENAI_API_KEY reached an audited agent")
    return "nothing to do"
