"""pydantic-ai adapter: run a ``pydantic_ai.Agent`` with the environment's tools bridged.

``pydantic_ai_agent(make)`` returns an agent for the harness. ``make(tools)``
builds the ``Agent`` (or pass an ``Agent`` directly); each environment tool
becomes a pydantic-ai tool with the environment's JSON schema, and a failed call
comes back to the model as an ``{"error": ...}`` result it can recover from.
Every model response is reported to the harness (model, tokens) and becomes an
``llm`` span. Needs the ``pydantic-ai-slim`` package.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from agentslo.agents.client import ToolCallError, ToolClient

__all__ = ["bridge_tools", "pydantic_ai_agent"]

_INSTALL = "pip install 'pydantic-ai-slim>=1.0'"


def _require() -> Any:
    try:
        import pydantic_ai
    except ImportError as exc:  # pragma: no cover - exercised only without the package
        raise ImportError(f"the pydantic-ai adapter needs pydantic-ai; run: {_INSTALL}") from exc
    return pydantic_ai


def bridge_tools(tools: ToolClient) -> list[Any]:
    """The environment's tools as ``pydantic_ai.Tool`` objects calling the channel."""
    pydantic_ai = _require()

    def make(name: str) -> Callable[..., Awaitable[Any]]:
        async def call(**kwargs: Any) -> Any:
            try:
                return await tools.acall(name, **kwargs)
            except ToolCallError as exc:
                return {
                    "error": {
                        "type": exc.type,
                        "message": exc.message,
                        "retryable": exc.retryable,
                        "retry_after": exc.retry_after,
                    }
                }

        call.__name__ = name
        return call

    return [
        pydantic_ai.Tool.from_schema(
            make(spec["name"]), spec["name"], spec.get("description"), spec["parameters"]
        )
        for spec in tools.tools
    ]


def pydantic_ai_agent(
    make: Callable[[ToolClient], Any] | Any,
) -> Callable[[str, ToolClient], Awaitable[str]]:
    """An agent for the harness from a pydantic-ai ``Agent`` or a factory of one."""
    pydantic_ai = _require()

    async def run(instruction: str, tools: ToolClient) -> str:
        agent = make if isinstance(make, pydantic_ai.Agent) else make(tools)
        toolset = pydantic_ai.toolsets.FunctionToolset(bridge_tools(tools))
        started = time.monotonic()
        result = await agent.run(instruction, toolsets=[toolset])
        _report_usage(tools, result.all_messages(), time.monotonic() - started)
        return str(result.output)

    return run


def _report_usage(tools: ToolClient, messages: list[Any], elapsed: float) -> None:
    responses = [m for m in messages if getattr(m, "kind", None) == "response"]
    for response in responses:
        usage = response.usage
        tools.record_llm(
            model=str(response.model_name or "unknown"),
            input_tokens=int(usage.input_tokens or 0),
            output_tokens=int(usage.output_tokens or 0),
            duration_s=elapsed / max(len(responses), 1),
        )
