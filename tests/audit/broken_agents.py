"""Oracles of the broken suites (imported inside agent processes only)."""

from __future__ import annotations

from agentslo.agents import ToolClient


def _lines(tools: ToolClient) -> list[float]:
    return list(tools.call("get_invoice", invoice_id="INV-1")["lines"])


def report_oracle(instruction: str, tools: ToolClient) -> str:
    tools.call("add_line", invoice_id="INV-2", amount=10.0)
    tools.call("finish", message="done: added 10.0 to INV-2")
    return "done"


def total_oracle(instruction: str, tools: ToolClient) -> str:
    tools.call("submit_total", value=round(sum(_lines(tools)), 2))
    return "submitted"


def expression_oracle(instruction: str, tools: ToolClient) -> str:
    tools.call("submit_text", answer=" + ".join(str(x) for x in _lines(tools)))
    return "submitted"


def text_oracle(instruction: str, tools: ToolClient) -> str:
    tools.call("submit_text", answer=f"{sum(_lines(tools)):.2f}")
    return "submitted"


def larger_oracle(instruction: str, tools: ToolClient) -> str:
    totals = {
        i: sum(tools.call("get_invoice", invoice_id=i)["lines"])
        for i in tools.call("list_invoices")
    }
    tools.call("submit_text", answer=max(totals, key=lambda i: totals[i]))
    return "submitted"


def line_oracle(instruction: str, tools: ToolClient) -> str:
    tools.call("add_line", invoice_id="INV-2", amount=10.0)
    return "added"


def explain_oracle(instruction: str, tools: ToolClient) -> str:
    total = sum(_lines(tools))
    tools.call("finish", message=f"INV-1 has the larger total: {total:.2f}")
    return "explained"
