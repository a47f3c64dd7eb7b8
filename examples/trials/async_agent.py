"""A coroutine agent: ``async def agent(instruction, tools)`` works the same way.

agentslo trial run opsdesk --agent examples.trials.async_agent:agent --tasks 'refund-total-*'
"""

from __future__ import annotations

import re

from agentslo.agents import ToolClient


async def agent(instruction: str, tools: ToolClient) -> str:
    region = re.search(r"customers in region (\w+)", instruction)
    days = re.search(r"placed_days_ago <= (\d+)", instruction)
    if region is None or days is None:
        return "I could not tell the region and period."
    total = 0.0
    for customer in await tools.acall("list_customers", region=region.group(1)):
        for summary in await tools.acall("list_orders", customer_id=customer["customer_id"]):
            order = await tools.acall("get_order", order_id=summary["order_id"])
            if order["placed_days_ago"] <= int(days.group(1)):
                total += sum(refund["amount"] for refund in order["refunds"])
    await tools.acall("submit_answer", value=round(total, 2))
    return f"{total:.2f}"
