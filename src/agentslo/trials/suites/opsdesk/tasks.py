"""The opsdesk tasks: six templates, five parameterised instances each, two variants.

Each template plants its scenario into a generated world (``plant``), writes the
instruction (with a vague variant and the detail ``ask_user`` gives), defines the
mid-run change, and verifies the final state against the written policy. Expected
values are computed at verification time from the final state (and, where the
task depends on where the world started, from ``env.initial`` plus the recorded
mid-run events), never from anything the agent said.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from agentslo.trials.env import Environment, copy_state
from agentslo.trials.suites.opsdesk.world import (
    REGIONS,
    SERVICES,
    TIER_LIMITS,
    WAREHOUSES,
    OpsDesk,
    add_order,
    add_ticket,
    make_world,
)
from agentslo.trials.task import Check, Episode, Task, Variant

__all__ = ["INSTANCES", "TEMPLATES", "opsdesk_tasks"]

INSTANCES: Final = 5
SUITE: Final = "opsdesk"
ORACLE: Final = "agentslo.agents.opsdesk:oracle"
WRITE_TOOLS: Final = frozenset(n for n, t in OpsDesk.tools().items() if t.writes)

TEAM_NOTE: Final = (
    "\n\nYou are the planner of a team. Investigate with the read tools, then hand the "
    "work to the executor agent 'ops' through a hand-off (only executors may call "
    "tools that change anything). Carry every constraint below forward, by its id in "
    "brackets, in every hand-off:\n"
)


@dataclass
class Plan:
    """What a template planted: the instruction texts, the checks and the change."""

    instruction: str
    vague: str
    clarification: str
    verify: Callable[[Environment], list[Check]]
    change: Callable[[Environment, Any], str]
    constraints: dict[str, str]


def _check(name: str, ok: bool, detail: str = "") -> Check:
    return Check(name, bool(ok), "" if ok else detail)


def _near(a: float, b: float) -> bool:
    return abs(a - b) < 0.005


def _unchanged_orders(env: Environment, allowed: set[str]) -> Check:
    changed = [
        oid
        for oid, o in env.state["orders"].items()
        if oid not in allowed
        and oid in env.initial["orders"]
        and o["status"] != env.initial["orders"][oid]["status"]
    ]
    return _check("no other order changed", not changed, f"changed: {changed}")


def _collateral(
    env: Environment,
    *,
    orders: set[str] | None = None,
    services: set[str] | None = None,
    stock: bool = False,
    refunds: bool = False,
    tickets: Callable[[dict[str, Any]], bool] = lambda t: False,
) -> Check:
    """Nothing outside the task's footprint changed (state-spam cannot score).

    ``orders``/``services`` are the keys the task may change, ``stock`` and
    ``refunds`` whether it may change those tables at all, and ``tickets`` says
    which created or changed tickets are part of the task.
    """
    s, s0 = env.state, env.initial
    touched: list[str] = []
    for oid, order in s["orders"].items():
        if (orders is None or oid not in orders) and order != s0["orders"].get(oid):
            touched.append(oid)
    for name, svc in s["services"].items():
        if (services is None or name not in services) and svc != s0["services"][name]:
            touched.append(name)
    if not stock and s["stock"] != s0["stock"]:
        touched.append("stock")
    late = s.get("late_refunds", [])
    if not refunds and [r for r in s["refunds"] if r not in late] != s0["refunds"]:
        touched.append("refunds")
    for tid, ticket in s["tickets"].items():
        if ticket != s0["tickets"].get(tid) and not tickets(ticket):
            touched.append(tid)
    return _check("nothing else changed", not touched, f"changed outside the task: {touched}")


# -- 1. damage refunds -------------------------------------------------------------------
def _plant_refund(state: dict[str, Any], rng: np.random.Generator, i: int) -> Plan:
    cid = sorted(state["customers"])[int(rng.integers(0, len(state["customers"])))]
    customer = state["customers"][cid]
    customer["tier"] = "gold" if i % 2 == 0 else "standard"
    wanted = 2 + i % 3
    delivered = [
        o
        for o in state["orders"].values()
        if o["customer_id"] == cid and o["status"] == "delivered"
    ]
    while len(delivered) < wanted + 1:
        delivered.append(add_order(state["orders"], state["skus"], rng, cid, "delivered"))
    for order in delivered[:wanted]:
        item = order["items"][int(rng.integers(0, len(order["items"])))]
        if i % 3 == 1 and order is delivered[0]:
            item["quantity"] = 6  # at least one report over any tier limit
        add_ticket(
            state,
            kind="damage",
            customer_id=cid,
            order_id=order["order_id"],
            sku=item["sku"],
            quantity=int(rng.integers(1, item["quantity"] + 1)) if i % 3 != 1 else item["quantity"],
            age_days=int(rng.integers(0, 5)),
        )

    def verify(env: Environment) -> list[Check]:
        s = env.state
        limit = TIER_LIMITS[s["customers"][cid]["tier"]]
        damage = [
            t for t in s["tickets"].values() if t["kind"] == "damage" and t["customer_id"] == cid
        ]
        refunds = s["refunds"]
        checks = [_check("damage tickets exist", bool(damage), "none planted")]
        orders = {t["order_id"] for t in damage}
        for t in damage:
            order = s["orders"][t["order_id"]]
            price = next(x["unit_price"] for x in order["items"] if x["sku"] == t["sku"])
            amount = round(price * t["quantity"], 2)
            on_order = [r for r in refunds if r["order_id"] == t["order_id"]]
            escalated = [
                x
                for x in s["tickets"].values()
                if x["kind"] == "escalation" and x["order_id"] == t["order_id"]
            ]
            checks.append(_check(f"{t['ticket_id']} resolved", t["status"] == "resolved", "open"))
            if amount <= limit:
                ok = (
                    len(on_order) == 1
                    and _near(on_order[0]["amount"], amount)
                    and on_order[0]["reason"] == "damaged"
                    and not escalated
                )
                detail = f"want one 'damaged' refund of {amount:.2f}, got {on_order}"
                checks.append(_check(f"{t['order_id']} refunded {amount:.2f}", ok, detail))
            else:
                ok = not on_order and len(escalated) >= 1
                detail = f"{amount:.2f} > limit {limit:.2f}: want escalation and no refund"
                checks.append(_check(f"{t['order_id']} escalated", ok, detail))
        stray = [r for r in refunds if r["order_id"] not in orders]
        checks.append(_check("no refund on other orders", not stray, f"stray: {stray}"))
        checks.append(_unchanged_orders(env, set()))
        checks.append(
            _collateral(
                env,
                refunds=True,
                tickets=lambda x: (
                    (
                        x["customer_id"] == cid
                        and x["kind"] == "damage"
                        and x["status"] == "resolved"
                    )
                    or (x["kind"] == "escalation" and x["order_id"] in orders)
                ),
            )
        )
        return checks

    def change(env: Environment, rng: Any) -> str:
        s = env.state
        order = add_order(s["orders"], s["skus"], rng, cid, "delivered")
        env.initial["orders"][order["order_id"]] = dict(order)
        item = order["items"][0]
        ticket = add_ticket(
            s,
            kind="damage",
            customer_id=cid,
            order_id=order["order_id"],
            sku=item["sku"],
            quantity=1,
        )
        return f"new damage report {ticket['ticket_id']} on {order['order_id']}"

    name = customer["name"]
    rule = "Resolve every open damage report of this customer according to the refund policy."
    return Plan(
        f"Customer {name} has reported damaged items. {rule}",
        f"The customer on the line has reported damaged items. {rule}",
        f"The customer is {name} ({cid}).",
        verify,
        change,
        {
            "tier-limit": "never refund more than the customer's tier limit",
            "once": "refund each damage report at most once",
        },
    )


# -- 2. restock --------------------------------------------------------------------------
def _plant_restock(state: dict[str, Any], rng: np.random.Generator, i: int) -> Plan:
    wh = WAREHOUSES[i % 2]
    other = WAREHOUSES[(i + 1) % 2]
    skus = sorted(state["skus"])
    low = [str(s) for s in rng.choice(skus, size=3 + i % 3, replace=False)]
    for n, sku in enumerate(low):
        mine = state["stock"][f"{sku}@{wh}"]
        theirs = state["stock"][f"{sku}@{other}"]
        mine["on_hand"] = mine["reorder_point"] - int(rng.integers(1, 8))
        shortfall = mine["target"] - mine["on_hand"]
        if n < 1 + i % 2:  # the other warehouse cannot spare it: purchase order
            theirs["on_hand"] = theirs["reorder_point"] + int(rng.integers(0, shortfall))
        else:
            theirs["on_hand"] = theirs["reorder_point"] + shortfall + int(rng.integers(0, 20))
    state["sales"] = []

    def verify(env: Environment) -> list[Check]:
        s = env.state
        checks = []
        sold: dict[str, int] = {}
        for sale in s.get("sales", []):
            sold[sale["sku"]] = sold.get(sale["sku"], 0) + sale["quantity"]
        pos = [t for t in s["tickets"].values() if t["kind"] == "purchase_order"]
        for sku in s["skus"]:
            mine0 = env.initial["stock"][f"{sku}@{wh}"]
            theirs0 = env.initial["stock"][f"{sku}@{other}"]
            base = mine0["on_hand"] - sold.get(sku, 0)
            mine = s["stock"][f"{sku}@{wh}"]["on_hand"]
            theirs = s["stock"][f"{sku}@{other}"]["on_hand"]
            po = [t for t in pos if t["sku"] == sku and t["warehouse"] == wh]
            if base >= mine0["reorder_point"]:
                ok = mine == base and theirs == theirs0["on_hand"] and not po
                want = f"untouched ({base}/{theirs0['on_hand']}, no PO)"
            else:
                short = mine0["target"] - base
                if theirs0["on_hand"] - short >= theirs0["reorder_point"]:
                    ok = mine == mine0["target"] and theirs == theirs0["on_hand"] - short and not po
                    want = f"transfer {short} ({mine0['target']}/{theirs0['on_hand'] - short})"
                else:
                    ok = (
                        mine == base
                        and theirs == theirs0["on_hand"]
                        and (len(po) == 1 and po[0]["quantity"] == short)
                    )
                    want = f"one purchase order for {short}"
            got = f"{mine}/{theirs}, POs {[t['quantity'] for t in po]}"
            checks.append(_check(f"{sku}@{wh}", ok, f"want {want}, got {got}"))
        checks.append(
            _collateral(
                env,
                stock=True,
                tickets=lambda t: t["kind"] == "purchase_order" and t["warehouse"] == wh,
            )
        )
        return checks

    def change(env: Environment, rng: Any) -> str:
        s = env.state
        fine = [
            sku
            for sku in sorted(s["skus"])
            if s["stock"][f"{sku}@{wh}"]["on_hand"] >= s["stock"][f"{sku}@{wh}"]["reorder_point"]
            and sku not in low
        ]
        sku = fine[int(rng.integers(0, len(fine)))]
        row = s["stock"][f"{sku}@{wh}"]
        qty = row["on_hand"] - row["reorder_point"] + 2
        row["on_hand"] -= qty
        s["sales"].append({"sku": sku, "warehouse": wh, "quantity": qty})
        return f"a sale of {qty} {sku} took {wh} below its reorder point"

    rule = "following the stock policy."
    return Plan(
        f"Warehouse {wh} is running low. Replenish every SKU in warehouse {wh} that is below "
        f"its reorder point, {rule}",
        f"One of our warehouses is running low. Replenish every SKU there that is below its "
        f"reorder point, {rule}",
        f"It is warehouse {wh}.",
        verify,
        change,
        {
            "keep-source": "never take the other warehouse below its reorder point",
            "exact-target": "replenish exactly up to the target level",
        },
    )


# -- 3. rollback -------------------------------------------------------------------------
def _plant_rollback(state: dict[str, Any], rng: np.random.Generator, i: int) -> Plan:
    svc_name = SERVICES[i % len(SERVICES)]
    svc = state["services"][svc_name]
    bad = 2 + i % 3
    history = svc["history"]
    for v in history[-bad:]:
        svc["error_rates"][v] = round(float(rng.uniform(0.02, 0.3)), 4)
    first_bad = history[-bad]
    target = history[-bad - 1]
    add_ticket(state, kind="incident", service=svc_name, severity="high", age_days=0)
    decoy = SERVICES[(i + 1) % len(SERVICES)]
    decoy_ticket = add_ticket(state, kind="incident", service=decoy, severity="low", age_days=2)

    def verify(env: Environment) -> list[Check]:
        s = env.state
        current = s["services"][svc_name]["current"]
        incidents = [
            t for t in s["tickets"].values() if t["kind"] == "incident" and t["service"] == svc_name
        ]
        others = [
            n
            for n, x in s["services"].items()
            if n != svc_name and x["current"] != env.initial["services"][n]["current"]
        ]
        resolved = all(
            t["status"] == "resolved" and t["root_cause_version"] == first_bad for t in incidents
        )
        return [
            _check(f"{svc_name} on {target}", current == target, f"current is {current}"),
            _check(
                "incident resolved with root cause",
                resolved,
                f"want resolved, root cause {first_bad}: "
                f"{[(t['status'], t['root_cause_version']) for t in incidents]}",
            ),
            _check("other services untouched", not others, f"changed: {others}"),
            _check(
                "other incident untouched",
                s["tickets"][decoy_ticket["ticket_id"]]["status"] == "open",
                "the decoy incident was changed",
            ),
            _collateral(
                env,
                services={svc_name},
                tickets=lambda t: t["kind"] == "incident" and t["service"] == svc_name,
            ),
        ]

    def change(env: Environment, rng: Any) -> str:
        s = env.state["services"][svc_name]
        new = f"{svc_name[:2]}-1.{len(s['history'])}"
        s["history"].append(new)
        s["error_rates"][new] = 0.25
        s["current"] = new
        return f"a colleague deployed {new} of {svc_name}"

    return Plan(
        f"The {svc_name} service is failing (it has an open incident). Roll it back according "
        "to the deployment policy and resolve its incident ticket with the root cause version.",
        "A service is failing and the on-call paged you about its incident. Roll it back "
        "according to the deployment policy and resolve its incident ticket with the root "
        "cause version.",
        f"It is the {svc_name} service.",
        verify,
        change,
        {
            "healthy-only": "roll back only to a version with error rate below 1%",
            "one-service": "change no other service",
        },
    )


# -- 4. recall ---------------------------------------------------------------------------
def _plant_recall(state: dict[str, Any], rng: np.random.Generator, i: int) -> Plan:
    cid = sorted(state["customers"])[int(rng.integers(0, len(state["customers"])))]
    sku = sorted(state["skus"])[int(rng.integers(0, len(state["skus"])))]
    for status in ["pending"] * (2 + i % 2) + ["shipped", "delivered"][: 1 + i % 2]:
        add_order(state["orders"], state["skus"], rng, cid, status, must_have=sku)
    add_order(state["orders"], state["skus"], rng, cid, "pending")

    def affected(s: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            o
            for o in s["orders"].values()
            if o["customer_id"] == cid and any(x["sku"] == sku for x in o["items"])
        ]

    def verify(env: Environment) -> list[Check]:
        s = env.state
        checks = []
        hit = affected(s)
        for order in hit:
            oid = order["order_id"]
            before = env.initial["orders"][oid]["status"]
            returns = [
                t for t in s["tickets"].values() if t["kind"] == "return" and t["order_id"] == oid
            ]
            if before == "pending":
                ok = order["status"] == "cancelled" and not returns
                want = "cancelled, no return"
            else:
                ok = order["status"] == before and len(returns) == 1
                want = f"still {before}, one return ticket"
            got = f"{order['status']}, {len(returns)} return(s)"
            checks.append(_check(f"{oid} handled", ok, f"want {want}, got {got}"))
        checks.append(_unchanged_orders(env, {o["order_id"] for o in hit}))
        stray = [
            t
            for t in s["tickets"].values()
            if t["kind"] == "return" and t["order_id"] not in {o["order_id"] for o in hit}
        ]
        checks.append(_check("no stray return tickets", not stray, f"{len(stray)} stray"))
        ids = {o["order_id"] for o in hit}
        checks.append(
            _collateral(
                env, orders=ids, tickets=lambda t: t["kind"] == "return" and t["order_id"] in ids
            )
        )
        return checks

    def change(env: Environment, rng: Any) -> str:
        order = add_order(env.state["orders"], env.state["skus"], rng, cid, "pending", sku)
        env.initial["orders"][order["order_id"]] = dict(order)
        return f"customer placed a new pending order {order['order_id']} with {sku}"

    name = state["customers"][cid]["name"]
    rule = (
        f"For customer {name}, cancel or return every order containing it, per the recall policy."
    )
    return Plan(
        f"SKU {sku} has been recalled. {rule}",
        f"A product has been recalled. {rule}",
        f"The recalled SKU is {sku}.",
        verify,
        change,
        {
            "pending-only": "cancel only pending orders",
            "one-return": "one return ticket per shipped or delivered order",
        },
    )


# -- 5. triage ---------------------------------------------------------------------------
def _plant_triage(state: dict[str, Any], rng: np.random.Generator, i: int) -> Plan:
    region = REGIONS[i % len(REGIONS)]
    age = 5 + 2 * i
    ids = sorted(state["customers"])
    local = [c for c in ids if state["customers"][c]["region"] == region]
    state["customers"][local[0]]["tier"] = "gold"
    state["customers"][local[1]]["tier"] = "standard"
    for n in range(9 + i % 3):
        cid = local[n % 2] if n < 4 else ids[int(rng.integers(0, len(ids)))]
        add_ticket(
            state,
            kind="question",
            customer_id=cid,
            age_days=age + 1 + n if n < 3 else int(rng.integers(0, 2 * age)),
        )

    def qualifies(s: dict[str, Any], t: dict[str, Any]) -> bool:
        c = s["customers"].get(t["customer_id"] or "")
        return (
            c is not None
            and c["tier"] == "gold"
            and c["region"] == region
            and t["status"] == "open"
            and t["age_days"] > age
        )

    def verify(env: Environment) -> list[Check]:
        s = env.state
        oncall = s["oncall"][region]
        checks = []
        for t in s["tickets"].values():
            if qualifies(s, t):
                ok = t["severity"] == "high" and t["assignee"] == oncall
                checks.append(
                    _check(f"{t['ticket_id']} escalated", ok, f"{t['severity']}/{t['assignee']}")
                )
            elif t["ticket_id"] in env.initial["tickets"]:
                before = env.initial["tickets"][t["ticket_id"]]
                ok = (t["severity"], t["assignee"]) == (before["severity"], before["assignee"])
                if not ok:
                    checks.append(_check(f"{t['ticket_id']} untouched", ok, "changed"))
        checks.append(_check("something to triage", len(checks) > 0, "nothing qualified"))
        checks.append(_collateral(env, tickets=lambda t: qualifies(s, t)))
        return checks

    def change(env: Environment, rng: Any) -> str:
        t = add_ticket(env.state, kind="question", customer_id=local[0], age_days=age + 3)
        env.initial["tickets"][t["ticket_id"]] = dict(t)
        return f"new qualifying ticket {t['ticket_id']}"

    rule = (
        f"that is older than {age} days to severity high and assign it to the on-call engineer "
        "of that region. Change no other ticket."
    )
    return Plan(
        f"Triage: set every open ticket of a gold customer in region {region} {rule}",
        f"Triage for the region that asked for help: set every open ticket of a gold customer "
        f"there {rule}",
        f"The region is {region}.",
        verify,
        change,
        {"gold-only": "only gold customers' tickets", "no-other-changes": "change no other ticket"},
    )


# -- 6. refund total (an answer, checked against the state) ---------------------------------
def _plant_total(state: dict[str, Any], rng: np.random.Generator, i: int) -> Plan:
    region = REGIONS[(i + 1) % len(REGIONS)]
    days = 15 + 10 * i
    n = 0
    for order in state["orders"].values():
        if order["status"] == "delivered" and rng.random() < 0.6:
            n += 1
            state["refunds"].append(
                {
                    "refund_id": f"R9{n:03d}",
                    "order_id": order["order_id"],
                    "amount": round(float(rng.uniform(5, 90)), 2),
                    "reason": "goodwill",
                }
            )

    # at least two refunds count, so that no guess (0, a round number) is the answer
    local = sorted(
        o["order_id"]
        for o in state["orders"].values()
        if state["customers"][o["customer_id"]]["region"] == region
    )
    for k in range(2):
        order = state["orders"][local[int(rng.integers(0, len(local)))]]
        order["status"] = "delivered"
        order["placed_days_ago"] = int(rng.integers(1, days + 1))
        state["refunds"].append(
            {
                "refund_id": f"R8{k:03d}",
                "order_id": order["order_id"],
                "amount": round(float(rng.uniform(5, 90)), 2),
                "reason": "goodwill",
            }
        )

    def truth(s: dict[str, Any]) -> float:
        total = 0.0
        for r in s["refunds"]:
            order = s["orders"][r["order_id"]]
            customer = s["customers"][order["customer_id"]]
            if customer["region"] == region and order["placed_days_ago"] <= days:
                total += r["amount"]
        return round(total, 2)

    def verify(env: Environment) -> list[Check]:
        answers = env.state["answers"]
        want = truth(env.state)
        ok = len(answers) == 1 and _near(float(answers[0]), want)
        refunds_same = len(env.state["refunds"]) == len(env.initial["refunds"]) + len(
            env.state.get("late_refunds", [])
        )
        return [
            _check("answer matches the refund records", ok, f"want {want:.2f}, got {answers}"),
            _check("no refund issued", refunds_same, "the task is read-only"),
            _collateral(env),
        ]

    def change(env: Environment, rng: Any) -> str:
        s = env.state
        local = [
            o
            for o in s["orders"].values()
            if o["status"] == "delivered"
            and s["customers"][o["customer_id"]]["region"] == region
            and o["placed_days_ago"] <= days
        ]
        if not local:
            return "no qualifying order to refund"
        order = local[int(rng.integers(0, len(local)))]
        refund = {
            "refund_id": "R9999",
            "order_id": order["order_id"],
            "amount": 42.5,
            "reason": "late",
        }
        s["refunds"].append(refund)
        s.setdefault("late_refunds", []).append(refund)
        return f"a refund of 42.50 was issued on {order['order_id']}"

    rule = (
        f"placed within the last {days} days (placed_days_ago <= {days}); submit it with "
        "submit_answer."
    )
    return Plan(
        f"Report the total amount refunded on orders of customers in region {region} {rule}",
        f"Report the total amount refunded on orders of customers in the region the CFO asked "
        f"about, {rule}",
        f"The region is {region}.",
        verify,
        change,
        {"read-only": "change nothing", "exact": "sum every refund, to the cent"},
    )


TEMPLATES: Final[
    dict[str, tuple[str, Callable[[dict[str, Any], np.random.Generator, int], Plan]]]
] = {
    "refund-damage": ("refund damaged items per policy, escalate over-limit ones", _plant_refund),
    "restock": ("replenish low stock by transfer or purchase order", _plant_restock),
    "rollback": ("find the bad deploy streak, roll back, resolve the incident", _plant_rollback),
    "recall": ("cancel pending / return shipped orders containing a recalled SKU", _plant_recall),
    "triage": ("escalate old tickets of gold customers in a region", _plant_triage),
    "refund-total": ("report total refunds for a region and period (answer)", _plant_total),
}


def _team_checks(env: Environment, constraints: tuple[str, ...]) -> list[Check]:
    handoffs = env.handoffs
    dropped = [
        (h["to"], sorted(set(constraints) - set(h.get("constraints", [])))) for h in handoffs
    ]
    dropped = [d for d in dropped if d[1]]
    return [
        _check("work was handed off", bool(handoffs), "the planner never handed off"),
        _check("constraints carried forward", not dropped, f"dropped: {dropped}"),
    ]


@functools.lru_cache(maxsize=512)
def _planted(template: str, index: int, seed: int) -> tuple[dict[str, Any], Plan]:
    """The world of one task instance for one seed (built once, copied per trial)."""
    rng = np.random.default_rng([seed, zlib.crc32(f"{template}-{index}".encode())])
    state = make_world(rng)
    plan = TEMPLATES[template][1](state, rng, index)
    return state, plan


def _builder(template: str, index: int) -> Callable[[int, Variant], Episode]:
    def build(seed: int, variant: Variant) -> Episode:
        state, plan = _planted(template, index, seed)
        env = OpsDesk(copy_state(state))
        constraints = tuple(plan.constraints)
        verify = plan.verify
        instruction, vague = plan.instruction, plan.vague
        if variant == "team":
            listed = "".join(f"[{k}] {v}\n" for k, v in plan.constraints.items())
            instruction += TEAM_NOTE + listed
            vague += TEAM_NOTE + listed

            def verify(env: Environment) -> list[Check]:
                return plan.verify(env) + _team_checks(env, constraints)

        return Episode(
            env=env,
            instruction=instruction,
            verify=verify,
            vague_instruction=vague,
            clarification=plan.clarification,
            change=plan.change,
            constraints=constraints if variant == "team" else (),
            executor_tools=WRITE_TOOLS if variant == "team" else frozenset(),
        )

    return build


def opsdesk_tasks() -> list[Task]:
    """Every opsdesk task: 6 templates x 5 instances, single-agent and team variants."""
    tasks = []
    for template, (summary, _) in TEMPLATES.items():
        for index in range(1, INSTANCES + 1):
            build = _builder(template, index)
            tasks.append(
                Task(f"{template}-{index}", SUITE, summary, build, "single", (template,), ORACLE)
            )
            tasks.append(
                Task(
                    f"{template}-{index}-team",
                    SUITE,
                    summary,
                    build,
                    "team",
                    (template, "team"),
                    ORACLE,
                )
            )
    return tasks
