"""Scripted agents for the ``opsdesk`` suite: the oracle, a robust and a brittle one.

They know the tools and the written policy, and read the instruction like any
agent; they never see the world except through tool calls. ``oracle`` solves
every task in a clean world and is how the test suite proves each task solvable.
``robust`` also retries retryable errors (honouring ``retry_after``), re-reads
malformed or stale results, confirms with the system of record, asks the user
when the instruction leaves a detail out, and re-checks for work that appeared
while it ran. ``brittle`` does none of that. ``do_nothing`` does nothing.
"""

from __future__ import annotations

import re
import time
from typing import Any, Final

from agentslo.agents.client import Handoff, ToolCallError, ToolClient
from agentslo.agents.team import Delegate, Team

__all__ = ["GiveUp", "Solver", "brittle", "do_nothing", "oracle", "robust"]

_TEXT_TOOLS: Final = {"read_policy", "get_oncall", "ask_user"}
_WRITES: Final = {
    "issue_refund",
    "cancel_order",
    "create_ticket",
    "update_ticket",
    "transfer_stock",
    "deploy",
    "submit_answer",
}
TIER_LIMITS: Final = {"standard": 200.0, "gold": 500.0}


class GiveUp(Exception):  # noqa: N818 - the agent's own way to stop
    """The agent stops: it cannot tell what the instruction wants."""


class Solver:
    """The opsdesk playbook, with or without defensive habits."""

    def __init__(self, tools: ToolClient, *, careful: bool, retries: int) -> None:
        self.tools = tools
        self.careful = careful
        self.retries = retries
        self.text = tools.instruction

    # -- calling -----------------------------------------------------------------------
    def call(self, tool: str, **args: Any) -> Any:
        for _ in range(self.retries + 1):
            try:
                result = self.tools.call(tool, **args)
            except ToolCallError as exc:
                if self.retries and exc.retryable:
                    time.sleep(min(exc.retry_after or 0.002, 1.0))
                    continue
                raise
            if self.retries and tool not in _WRITES:
                meta = self.tools.last_meta
                if meta.get("as_of", 0) < meta.get("seq", 0):
                    continue  # stale read: read again
                if tool not in _TEXT_TOOLS and isinstance(result, str):
                    continue  # malformed result
                if tool in _TEXT_TOOLS and str(result).startswith('"'):
                    continue
            return result
        raise RuntimeError(f"{tool} kept failing after {self.retries} retries")

    def detail(self, pattern: str, ask_pattern: str, question: str) -> str:
        found = re.search(pattern, self.text)
        if found:
            return found.group(1)
        if not self.careful:
            raise GiveUp(f"the instruction does not say ({question})")
        answer = str(self.call("ask_user", question=question))
        found = re.search(ask_pattern, answer)
        if not found:
            raise GiveUp(f"the user did not say ({answer})")
        return found.group(1)

    # -- the playbook ------------------------------------------------------------------
    def solve(self, task_id: str) -> str:
        template = re.sub(r"-\d+(-team)?$", "", task_id)
        handler = getattr(self, "do_" + template.replace("-", "_"), None)
        if handler is None:
            raise GiveUp(f"no playbook for {task_id}")
        self.call("read_policy")
        return str(handler())

    def do_refund_damage(self) -> str:
        name = re.search(r"Customer (.+?) has reported", self.text)
        if name:
            cid = self.call("find_customer", name=name.group(1))[0]["customer_id"]
        else:
            cid = self.detail("$^", r"\((C\d+)\)", "Which customer is this?")
        limit = TIER_LIMITS[self.call("get_customer", customer_id=cid)["tier"]]
        handled = 0
        while True:
            tickets = self.call("list_tickets", status="open", kind="damage", customer_id=cid)
            for t in tickets:
                order = self.call("get_order", order_id=t["order_id"])
                price = next(i["unit_price"] for i in order["items"] if i["sku"] == t["sku"])
                amount = round(price * t["quantity"], 2)
                if amount > limit:
                    self.call(
                        "create_ticket",
                        kind="escalation",
                        order_id=t["order_id"],
                        customer_id=cid,
                        note=f"damage refund {amount:.2f} exceeds limit",
                    )
                elif not (self.careful and any(r["reason"] == "damaged" for r in order["refunds"])):
                    self.call(
                        "issue_refund", order_id=t["order_id"], amount=amount, reason="damaged"
                    )
                self.call("update_ticket", ticket_id=t["ticket_id"], status="resolved")
                handled += 1
            if not tickets or not self.careful:
                return f"handled {handled} damage reports"

    def do_restock(self) -> str:
        wh = self.detail(
            r"Warehouse (alpha|beta) is running low", r"warehouse (alpha|beta)", "Which warehouse?"
        )
        other = "beta" if wh == "alpha" else "alpha"
        done: set[str] = set()
        while True:
            work = 0
            ordered = {
                t["sku"]
                for t in self.call("list_tickets", status="open", kind="purchase_order")
                if t["warehouse"] == wh
            }
            rows = self.call("list_inventory", warehouse=wh)
            if self.careful:
                rows = [self.call("get_stock", sku=r["sku"], warehouse=wh) for r in rows]
                theirs = {r["sku"]: None for r in rows}
            else:
                theirs = {r["sku"]: r for r in self.call("list_inventory", warehouse=other)}
            for row in rows:
                sku = row["sku"]
                if row["on_hand"] >= row["reorder_point"] or sku in ordered or sku in done:
                    continue
                work += 1
                short = row["target"] - row["on_hand"]
                source = theirs[sku] or self.call("get_stock", sku=sku, warehouse=other)
                if source["on_hand"] - short >= source["reorder_point"]:
                    self.call(
                        "transfer_stock",
                        sku=sku,
                        from_warehouse=other,
                        to_warehouse=wh,
                        quantity=short,
                    )
                else:
                    self.call(
                        "create_ticket",
                        kind="purchase_order",
                        sku=sku,
                        warehouse=wh,
                        quantity=short,
                        note="stock policy: other warehouse cannot spare it",
                    )
                done.add(sku)
            if not work or not self.careful:
                return f"replenished {len(done)} SKUs in {wh}"

    def do_rollback(self) -> str:
        svc = self.detail(
            r"The (\w+) service is failing", r"the (\w+) service", "Which service is failing?"
        )
        history = self.call("list_deployments", service=svc)["history"]
        first_bad, target = None, None
        for version in reversed(history):
            rate = self.call("get_deploy_metrics", service=svc, version=version)["error_rate"]
            if rate >= 0.01:
                first_bad = version
            elif first_bad is not None:
                target = version
                break
        if first_bad is None or target is None:
            raise GiveUp(f"no failing streak followed by a healthy version in {svc}")
        self.call("deploy", service=svc, version=target)
        for t in self.call("list_tickets", status="open", kind="incident"):
            if t["service"] == svc:
                self.call(
                    "update_ticket",
                    ticket_id=t["ticket_id"],
                    status="resolved",
                    root_cause_version=first_bad,
                )
        if self.careful and self.call("list_deployments", service=svc)["current"] != target:
            self.call("deploy", service=svc, version=target)
        return f"rolled {svc} back to {target}; root cause {first_bad}"

    def do_recall(self) -> str:
        sku = self.detail(
            r"SKU (SKU-\d+) has been recalled", r"(SKU-\d+)", "Which SKU was recalled?"
        )
        name = re.search(r"For customer (.+?), cancel", self.text)
        if name is None:
            raise GiveUp("no customer named")
        cid = self.call("find_customer", name=name.group(1))[0]["customer_id"]
        seen: set[str] = set()
        while True:
            work = 0
            returned = {
                t["order_id"]
                for t in self.call("list_tickets", status="any", kind="return", customer_id=cid)
            }
            for summary in self.call("list_orders", customer_id=cid):
                oid = summary["order_id"]
                if oid in seen:
                    continue
                seen.add(oid)
                if self.careful:
                    order = self.call("get_order", order_id=oid)
                    status, skus = order["status"], [i["sku"] for i in order["items"]]
                else:
                    status, skus = summary["status"], summary["skus"]
                if sku not in skus:
                    continue
                if status == "pending":
                    work += 1
                    self.call("cancel_order", order_id=oid)
                elif status in ("shipped", "delivered") and oid not in returned:
                    work += 1
                    self.call("create_ticket", kind="return", order_id=oid, customer_id=cid)
            if not work or not self.careful:
                return f"recall of {sku} handled"

    def do_triage(self) -> str:
        region = self.detail(
            r"gold customer in region (\w+)", r"region is (\w+)", "Which region is it?"
        )
        match = re.search(r"older than (\d+) days", self.text)
        if match is None:
            raise GiveUp("no age given")
        age = int(match.group(1))
        oncall = self.call("get_oncall", region=region)
        customers: dict[str, Any] = {}
        while True:
            work = 0
            for t in self.call("list_tickets", status="open"):
                cid = t["customer_id"]
                if not cid or t["age_days"] <= age:
                    continue
                if t["severity"] == "high" and t["assignee"] == oncall:
                    continue
                if cid not in customers:
                    customers[cid] = self.call("get_customer", customer_id=cid)
                c = customers[cid]
                if c["tier"] == "gold" and c["region"] == region:
                    work += 1
                    self.call(
                        "update_ticket", ticket_id=t["ticket_id"], severity="high", assignee=oncall
                    )
            if not work or not self.careful:
                return "triaged"

    def do_refund_total(self) -> str:
        region = self.detail(
            r"customers in region (\w+) placed", r"region is (\w+)", "Which region?"
        )
        match = re.search(r"placed_days_ago <= (\d+)", self.text)
        if match is None:
            raise GiveUp("no period given")
        days = int(match.group(1))
        orders = [
            o["order_id"]
            for c in self.call("list_customers", region=region)
            for o in self.call("list_orders", customer_id=c["customer_id"])
        ]

        def total() -> float:
            amount = 0.0
            for oid in orders:
                order = self.call("get_order", order_id=oid)
                if order["placed_days_ago"] <= days:
                    amount += sum(r["amount"] for r in order["refunds"])
            return round(amount, 2)

        value = total()
        if self.careful:
            again = total()
            while again != value:
                value, again = again, total()
        self.call("submit_answer", value=value)
        return f"total refunded: {value:.2f}"


def _solve(instruction: str, tools: ToolClient, *, careful: bool, retries: int) -> str:
    if tools.task_id.endswith("-team"):
        return str(_team(careful, retries)(instruction, tools))
    return Solver(tools, careful=careful, retries=retries).solve(tools.task_id)


def _team(careful: bool, retries: int) -> Team:
    def planner(instruction: str, tools: ToolClient, delegate: Delegate) -> Any:
        Solver(tools, careful=careful, retries=retries).call("read_policy")
        ids = re.findall(r"^\[([\w-]+)\]", instruction, flags=re.MULTILINE)
        goal = instruction.split("\n\n", 1)[0]
        return delegate(
            Handoff(
                to="ops",
                goal=goal,
                constraints=ids,
                inputs={"task_id": tools.task_id},
                acceptance="the final state satisfies the policy and the goal",
            )
        )

    def ops(handoff: Handoff, tools: ToolClient) -> Any:
        return Solver(tools, careful=careful, retries=retries).solve(tools.task_id)

    return Team(planner, {"ops": ops})


def oracle(instruction: str, tools: ToolClient) -> str:
    """The reference solution: follows the policy exactly, with no fault handling."""
    return _solve(instruction, tools, careful=True, retries=0)


def robust(instruction: str, tools: ToolClient) -> str:
    """Retries, re-reads, confirms with the system of record, asks when unsure."""
    return _solve(instruction, tools, careful=True, retries=20)


def brittle(instruction: str, tools: ToolClient) -> str:
    """Trusts the first answer of every tool and never asks."""
    return _solve(instruction, tools, careful=False, retries=0)


def do_nothing(instruction: str, tools: ToolClient) -> str:
    """Claims success without calling a tool (the audit's first exploit)."""
    return "Done. All requested changes were made successfully."
