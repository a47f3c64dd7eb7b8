"""The opsdesk world: one small business with customers, orders, stock, services, tickets.

The world is plain data (``state``) behind typed tools. ``OpsDesk`` is the
environment; :func:`make_world` generates a world from a seed. The written policy
(:data:`POLICY`) is what the agent reads through ``read_policy``; the verifiers in
``tasks.py`` implement the same rules against the final state.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import numpy as np
from pydantic import Field

from agentslo.trials.env import Environment, ToolError, tool

__all__ = ["POLICY", "TIER_LIMITS", "OpsDesk", "make_world"]

TIER_LIMITS: Final = {"standard": 200.0, "gold": 500.0}
REGIONS: Final = ("north", "south", "east", "west")
WAREHOUSES: Final = ("alpha", "beta")
SERVICES: Final = ("checkout", "search", "payments", "catalog", "shipping", "auth")
HEALTHY_ERROR_RATE: Final = 0.01

POLICY: Final = """\
OPSDESK OPERATING POLICY

1. Refunds. A damage report (ticket kind "damage") on a delivered order is refunded
   in full: the unit price times the damaged quantity, reason "damaged". One refund
   per damage ticket, never more than once. A refund larger than the customer's tier
   limit (standard 200.00, gold 500.00) must not be issued: create an "escalation"
   ticket for that order instead. Either way, resolve the damage ticket.
2. Records. The order service (get_order) is the system of record. The search index
   (list_orders, list_inventory) may lag or disagree; confirm with get_order /
   get_stock before acting.
3. Recalls. Cancel every pending order of the customer that contains the recalled
   SKU; for such orders already shipped or delivered, create one "return" ticket per
   order. Leave other orders alone.
4. Stock. A SKU whose on-hand stock in a warehouse is below its reorder point is
   replenished up to its target level: transfer the shortfall from the other
   warehouse if that leaves the other warehouse at or above its own reorder point;
   otherwise create one "purchase_order" ticket for the shortfall.
5. Deployments. Roll a failing service back to the most recent version deployed
   before the failing streak whose error rate is below 1%. Resolve the incident
   with root_cause_version set to the first failing version of the streak.
6. Triage. Open tickets of gold customers in a region older than the stated age are
   set to severity "high" and assigned to the region's on-call engineer.
"""

Id = Annotated[str, Field(min_length=1, max_length=64)]
Money = Annotated[float, Field(gt=0, le=100_000)]
Qty = Annotated[int, Field(gt=0, le=10_000)]

_FIRST = ("Ada", "Bo", "Cyra", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea")
_LAST = ("Moss", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi", "Silva", "Tan", "Ueda", "Vogel")
_ITEMS = ("kettle", "lamp", "router", "chair", "desk", "monitor", "drill", "tent", "bike", "mixer")


def make_world(rng: np.random.Generator) -> dict[str, Any]:
    """A fresh world: 14 customers, ~45 orders, 10 SKUs in 2 warehouses, 6 services."""
    names = rng.permutation([f"{f} {ln}" for f in _FIRST for ln in _LAST])[:14]
    customers = {
        f"C{100 + i}": {
            "customer_id": f"C{100 + i}",
            "name": str(name),
            "tier": "gold" if rng.random() < 0.35 else "standard",
            "region": str(REGIONS[i % len(REGIONS)]),
        }
        for i, name in enumerate(names)
    }
    skus = {
        f"SKU-{i + 1:02d}": {"sku": f"SKU-{i + 1:02d}", "name": item, "price": float(p)}
        for i, (item, p) in enumerate(
            zip(_ITEMS, rng.integers(15, 180, len(_ITEMS)).tolist(), strict=True)
        )
    }
    stock = {}
    for sku in skus:
        for wh in WAREHOUSES:
            reorder = int(rng.integers(10, 30))
            stock[f"{sku}@{wh}"] = {
                "sku": sku,
                "warehouse": wh,
                "on_hand": reorder + int(rng.integers(5, 60)),
                "reorder_point": reorder,
                "target": reorder + 40,
            }
    orders: dict[str, Any] = {}
    for cid in customers:
        for _ in range(int(rng.integers(2, 5))):
            add_order(orders, skus, rng, cid, str(rng.choice(["delivered", "shipped", "pending"])))
    services = {}
    for svc in SERVICES:
        n = int(rng.integers(5, 9))
        versions = [f"{svc[:2]}-1.{i}" for i in range(n)]
        services[svc] = {
            "service": svc,
            "current": versions[-1],
            "history": versions,
            "error_rates": {v: round(float(rng.uniform(0.001, 0.008)), 4) for v in versions},
        }
    oncall = {r: f"{r}-oncall-{int(rng.integers(1, 9))}" for r in REGIONS}
    return {
        "customers": customers,
        "skus": skus,
        "stock": stock,
        "orders": orders,
        "refunds": [],
        "tickets": {},
        "services": services,
        "oncall": oncall,
        "answers": [],
        "next_id": 1,
    }


def add_order(
    orders: dict[str, Any],
    skus: dict[str, Any],
    rng: np.random.Generator,
    customer_id: str,
    status: str,
    must_have: str | None = None,
) -> dict[str, Any]:
    """Append an order for ``customer_id`` (optionally containing SKU ``must_have``)."""
    oid = f"O{5000 + len(orders)}"
    chosen = list(rng.choice(sorted(skus), size=int(rng.integers(1, 4)), replace=False))
    if must_have and must_have not in chosen:
        chosen[0] = must_have
    items = [
        {"sku": str(s), "quantity": int(rng.integers(1, 4)), "unit_price": skus[str(s)]["price"]}
        for s in chosen
    ]
    order = {
        "order_id": oid,
        "customer_id": customer_id,
        "status": status,
        "items": items,
        "placed_days_ago": int(rng.integers(1, 60)),
        "address": f"{int(rng.integers(1, 300))} Main St",
    }
    orders[oid] = order
    return order


def new_id(state: dict[str, Any], prefix: str) -> str:
    state["next_id"] += 1
    return f"{prefix}{state['next_id']:04d}"


def add_ticket(state: dict[str, Any], **fields: Any) -> dict[str, Any]:
    ticket = {
        "ticket_id": new_id(state, "T"),
        "status": "open",
        "severity": "normal",
        "assignee": None,
        "notes": [],
        "customer_id": None,
        "order_id": None,
        "sku": None,
        "quantity": None,
        "warehouse": None,
        "service": None,
        "root_cause_version": None,
        "age_days": 0,
        **fields,
    }
    state["tickets"][ticket["ticket_id"]] = ticket
    return ticket


TicketKind = Literal["damage", "escalation", "return", "purchase_order", "incident", "question"]


class OpsDesk(Environment):
    """The opsdesk environment: every tool the business exposes to its agents."""

    # -- reads ----------------------------------------------------------------------
    @tool()
    def read_policy(self) -> str:
        """Read the written operating policy (refunds, recalls, stock, deployments)."""
        return POLICY

    @tool()
    def find_customer(self, name: Annotated[str, Field(min_length=1, max_length=100)]) -> list[Any]:
        """Find customers whose name contains ``name`` (case-insensitive)."""
        needle = name.lower()
        return [dict(c) for c in self.state["customers"].values() if needle in c["name"].lower()]

    @tool()
    def list_customers(self, region: Literal["north", "south", "east", "west"]) -> list[Any]:
        """List the customers of a region."""
        return [dict(c) for c in self.state["customers"].values() if c["region"] == region]

    @tool()
    def get_customer(self, customer_id: Id) -> dict[str, Any]:
        """One customer by id: name, tier (standard/gold) and region."""
        return dict(self._get("customers", customer_id))

    @tool()
    def list_orders(self, customer_id: Id) -> list[Any]:
        """Search index: a customer's orders (summary; may lag the order service)."""
        self._get("customers", customer_id)
        return [
            {
                "order_id": o["order_id"],
                "status": o["status"],
                "skus": [i["sku"] for i in o["items"]],
            }
            for o in self.state["orders"].values()
            if o["customer_id"] == customer_id
        ]

    @tool()
    def get_order(self, order_id: Id) -> dict[str, Any]:
        """Order service (system of record): items, status, refunds issued."""
        order = dict(self._get("orders", order_id))
        order["refunds"] = [r for r in self.state["refunds"] if r["order_id"] == order_id]
        return order

    @tool()
    def list_tickets(
        self,
        status: Literal["open", "resolved", "any"] = "open",
        kind: TicketKind | None = None,
        customer_id: Id | None = None,
    ) -> list[Any]:
        """List tickets, filtered by status, kind and customer."""
        return [
            dict(t)
            for t in self.state["tickets"].values()
            if (status == "any" or t["status"] == status)
            and (kind is None or t["kind"] == kind)
            and (customer_id is None or t["customer_id"] == customer_id)
        ]

    @tool()
    def get_ticket(self, ticket_id: Id) -> dict[str, Any]:
        """One ticket by id."""
        return dict(self._get("tickets", ticket_id))

    @tool()
    def list_inventory(self, warehouse: Literal["alpha", "beta"]) -> list[Any]:
        """Search index: stock levels of a warehouse (may lag; confirm with get_stock)."""
        return [dict(s) for s in self.state["stock"].values() if s["warehouse"] == warehouse]

    @tool()
    def get_stock(self, sku: Id, warehouse: Literal["alpha", "beta"]) -> dict[str, Any]:
        """Authoritative stock of one SKU in one warehouse."""
        return dict(self._get("stock", f"{sku}@{warehouse}"))

    @tool()
    def list_deployments(self, service: Id) -> dict[str, Any]:
        """A service's deployed versions, oldest first, and the current one."""
        svc = self._get("services", service)
        return {"service": service, "history": list(svc["history"]), "current": svc["current"]}

    @tool()
    def get_deploy_metrics(self, service: Id, version: Id) -> dict[str, Any]:
        """Error rate observed while ``version`` of ``service`` was live."""
        svc = self._get("services", service)
        if version not in svc["error_rates"]:
            raise ToolError(f"{service} has no version {version!r}")
        return {"service": service, "version": version, "error_rate": svc["error_rates"][version]}

    @tool()
    def get_oncall(self, region: Literal["north", "south", "east", "west"]) -> str:
        """The on-call engineer of a region."""
        return str(self.state["oncall"][region])

    # -- writes -----------------------------------------------------------------------
    @tool(writes=True)
    def issue_refund(
        self, order_id: Id, amount: Money, reason: Literal["damaged", "goodwill", "late"]
    ) -> dict[str, Any]:
        """Refund ``amount`` on a delivered order."""
        order = self._get("orders", order_id)
        if order["status"] != "delivered":
            raise ToolError(f"order {order_id} is {order['status']}; only delivered orders")
        refund = {
            "refund_id": new_id(self.state, "R"),
            "order_id": order_id,
            "amount": round(amount, 2),
            "reason": reason,
        }
        self.state["refunds"].append(refund)
        return refund

    @tool(writes=True)
    def cancel_order(self, order_id: Id) -> dict[str, Any]:
        """Cancel a pending order (its reserved stock is released)."""
        order = self._get("orders", order_id)
        if order["status"] != "pending":
            raise ToolError(f"order {order_id} is {order['status']}; only pending orders cancel")
        order["status"] = "cancelled"
        return dict(order)

    @tool(writes=True)
    def create_ticket(
        self,
        kind: Literal["escalation", "return", "purchase_order"],
        note: Annotated[str, Field(max_length=2000)] = "",
        customer_id: Id | None = None,
        order_id: Id | None = None,
        sku: Id | None = None,
        warehouse: Literal["alpha", "beta"] | None = None,
        quantity: Qty | None = None,
    ) -> dict[str, Any]:
        """Create a ticket: escalation/return need order_id; purchase_order needs
        sku, warehouse and quantity."""
        if kind in ("escalation", "return") and not order_id:
            raise ToolError(f"a {kind} ticket needs order_id")
        if order_id:
            self._get("orders", order_id)
        if kind == "purchase_order" and not (sku and warehouse and quantity):
            raise ToolError("a purchase_order ticket needs sku, warehouse and quantity")
        ticket = add_ticket(
            self.state,
            kind=kind,
            customer_id=customer_id,
            order_id=order_id,
            sku=sku,
            warehouse=warehouse,
            quantity=quantity,
            notes=[note] if note else [],
        )
        return dict(ticket)

    @tool(writes=True)
    def update_ticket(
        self,
        ticket_id: Id,
        status: Literal["open", "resolved"] | None = None,
        severity: Literal["low", "normal", "high"] | None = None,
        assignee: Annotated[str, Field(min_length=1, max_length=100)] | None = None,
        root_cause_version: Id | None = None,
        note: Annotated[str, Field(max_length=2000)] | None = None,
    ) -> dict[str, Any]:
        """Change a ticket's status, severity, assignee or root cause; add a note."""
        ticket = self._get("tickets", ticket_id)
        for key, value in (
            ("status", status),
            ("severity", severity),
            ("assignee", assignee),
            ("root_cause_version", root_cause_version),
        ):
            if value is not None:
                ticket[key] = value
        if note:
            ticket["notes"].append(note)
        return dict(ticket)

    @tool(writes=True)
    def transfer_stock(
        self,
        sku: Id,
        from_warehouse: Literal["alpha", "beta"],
        to_warehouse: Literal["alpha", "beta"],
        quantity: Qty,
    ) -> dict[str, Any]:
        """Move ``quantity`` units of ``sku`` between warehouses."""
        if from_warehouse == to_warehouse:
            raise ToolError("from_warehouse and to_warehouse must differ")
        source = self._get("stock", f"{sku}@{from_warehouse}")
        target = self._get("stock", f"{sku}@{to_warehouse}")
        if source["on_hand"] < quantity:
            raise ToolError(f"{from_warehouse} holds only {source['on_hand']} of {sku}")
        source["on_hand"] -= quantity
        target["on_hand"] += quantity
        return {"from": dict(source), "to": dict(target)}

    @tool(writes=True)
    def deploy(self, service: Id, version: Id) -> dict[str, Any]:
        """Deploy (or roll back to) an earlier-built ``version`` of ``service``."""
        svc = self._get("services", service)
        if version not in svc["history"]:
            raise ToolError(f"{service} has no build {version!r}")
        svc["current"] = version
        return {"service": service, "current": version}

    @tool(writes=True)
    def submit_answer(self, value: float) -> str:
        """Submit the numeric answer the task asks for (once; later calls are refused)."""
        if self.state["answers"]:
            raise ToolError("an answer was already submitted; answers are final")
        self.state["answers"].append(value)
        return "recorded"

    # -- helpers ----------------------------------------------------------------------
    def _get(self, table: str, key: str) -> Any:
        found = self.state[table].get(key)
        if found is None:
            raise ToolError(f"no {table[:-1]} {key!r}")
        return found

    def perturb(self, kind: str, name: str, result: Any, rng: Any) -> Any:
        """The search index disagrees with the record: one row shows a wrong value."""
        if name not in ("list_orders", "list_inventory") or not isinstance(result, list):
            return result
        if not result:
            return result
        rows = [dict(r) for r in result]
        i = int(rng.integers(0, len(rows)))
        if name == "list_orders":
            rows[i]["status"] = {"pending": "shipped", "shipped": "pending"}.get(
                rows[i]["status"], "pending"
            )
        else:
            rows[i]["on_hand"] = rows[i]["on_hand"] + int(rng.integers(15, 40))
        return rows
