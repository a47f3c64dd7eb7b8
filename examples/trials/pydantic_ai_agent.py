"""A pydantic-ai Agent, its tools bridged to the environment's typed tools.

The model comes from ``AGENTSLO_MODEL`` (any pydantic-ai model name, such as
``openai:gpt-4o-mini``); the default ``test`` is pydantic-ai's offline TestModel,
which calls every tool once, so the example runs without a network or a key.

    pip install 'pydantic-ai-slim[openai]'
    AGENTSLO_MODEL=openai:gpt-4o-mini agentslo trial run opsdesk \\
        --agent examples.trials.pydantic_ai_agent:agent --tasks 'triage-*' --k 4
"""

from __future__ import annotations

import os
from typing import Any

from pydantic_ai import Agent
from pydantic_ai.models.test import TestModel

from agentslo.agents import ToolClient
from agentslo.agents.pydantic_ai import pydantic_ai_agent

INSTRUCTIONS = (
    "You operate a business system through tools. Read the policy first. The task is "
    "judged only by the final state of the system. Ask the user when a detail is missing."
)


def make(tools: ToolClient) -> Agent[None, str]:
    name = os.environ.get("AGENTSLO_MODEL", "test")
    model: Any = TestModel() if name == "test" else name
    return Agent(model, instructions=INSTRUCTIONS)


agent = pydantic_ai_agent(make)
