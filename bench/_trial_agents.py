"""Agents for bench/trials.py (imported inside agent processes only)."""

from __future__ import annotations

import time

from agentslo.agents import ToolClient


def instant(instruction: str, tools: ToolClient) -> str:
    """Answers at once, without a tool call: the trial is all harness overhead."""
    return "done"


def instant_tools(instruction: str, tools: ToolClient) -> str:
    """Ten read calls as fast as it can: adds the per-call channel cost."""
    for _ in range(10):
        tools.call("list_tickets", status="open")
    return "done"


def paced(instruction: str, tools: ToolClient) -> str:
    """A simulated model: 10 steps of 50 ms thinking, each followed by a tool call."""
    for _ in range(10):
        time.sleep(0.05)
        tools.call("list_tickets", status="open")
    return "done"
