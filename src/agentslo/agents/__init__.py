"""What runs inside an agent process: the tool client, adapters and reference agents.

This package never imports the harness (``agentslo.trials``) or the store; the
worker refuses those imports. Adapters for pydantic-ai and OpenAI-compatible
servers live in :mod:`agentslo.agents.pydantic_ai` and
:mod:`agentslo.agents.openai_chat`, multi-agent hand-offs in
:mod:`agentslo.agents.team`, scripted opsdesk agents in :mod:`agentslo.agents.opsdesk`.
"""

from agentslo.agents.client import Handoff, ToolCallError, ToolClient, TrialAborted

__all__ = ["Handoff", "ToolCallError", "ToolClient", "TrialAborted"]
