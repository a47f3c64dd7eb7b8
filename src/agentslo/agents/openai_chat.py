"""An OpenAI-compatible chat-completions tool-calling loop (hosted models, vLLM, Ollama).

``agent`` reads ``model`` and ``base_url`` from the trial's options (``agentslo
trial run --model NAME --base-url URL``; the base URL falls back to
``OPENAI_BASE_URL``, then OpenAI's) and the key from ``OPENAI_API_KEY``. It sends
the instruction with the environment's tools as function tools, executes every
tool call the model makes over the channel (errors go back as tool messages the
model can act on), and stops when the model answers without a tool call. Token
usage (and ``usage.cost`` where the server reports it) is reported per request.
Standard library only.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from typing import Any, Final

from agentslo.agents.client import ToolCallError, ToolClient

__all__ = ["SYSTEM_PROMPT", "ChatClient", "ChatError", "agent"]

SYSTEM_PROMPT: Final = (
    "You operate a business system through the provided tools. Use tools to read and "
    "change state; the task is judged only by the final state of the system. If the "
    "instruction leaves out a detail you need, call ask_user. Retry calls that fail "
    "with retryable errors. Answer with a short summary when done."
)
DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"


class ChatError(RuntimeError):
    """A chat-completions request failed for good (after its retries).

    ``status`` is the HTTP status when the server answered (None: no answer at all,
    e.g. refused connection or timeout).
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


#: The longest wait a server's ``Retry-After`` header is obeyed for.
MAX_RETRY_AFTER_S: Final = 30.0


class ChatClient:
    """A minimal chat-completions client (POST ``{base_url}/chat/completions``).

    A request is retried (up to ``attempts`` in all, waiting ``backoff`` * 2**attempt
    seconds, or the server's ``Retry-After``) on HTTP 429 and 5xx, on connection
    errors and timeouts, and on a body that is not JSON; other HTTP errors (a 400 for
    a bad request, a 401 for a bad key) fail at once. Failures raise :class:`ChatError`.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout: float = 120.0,
        backoff: float = 0.5,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.api_key = api_key
        self.timeout = timeout
        self.backoff = backoff

    def complete(self, body: dict[str, Any], *, attempts: int = 4) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode()
        for attempt in range(attempts):
            last = attempt == attempts - 1
            wait = self.backoff * 2**attempt
            request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    raw = response.read()
                payload = json.loads(raw)
                if not isinstance(payload, dict):
                    raise ValueError("not a JSON object")
                return payload
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:500].decode("utf-8", "replace")
                if (exc.code < 500 and exc.code != 429) or last:
                    raise ChatError(f"{self.url}: HTTP {exc.code}: {detail}", exc.code) from exc
                wait = _retry_after(exc.headers.get("Retry-After"), wait)
            except ValueError as exc:  # a 200 whose body is not a JSON object
                if last:
                    raise ChatError(f"{self.url}: response is not JSON ({exc})", 200) from exc
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if last:
                    reason = getattr(exc, "reason", None) or exc
                    raise ChatError(f"{self.url}: {reason}") from exc
            time.sleep(wait)
        raise ChatError(f"{self.url}: no response")  # pragma: no cover


def _retry_after(header: str | None, default: float) -> float:
    """Seconds a ``Retry-After`` header asks for (capped), else ``default``."""
    try:
        return min(max(float(header or ""), 0.0), MAX_RETRY_AFTER_S)
    except ValueError:
        return default


def _run_tool(tools: ToolClient, name: str, arguments: str | None) -> str:
    try:
        args = json.loads(arguments or "{}")
    except ValueError:
        return json.dumps({"error": {"type": "invalid_arguments", "message": "arguments not JSON"}})
    if not isinstance(args, dict):
        return json.dumps({"error": {"type": "invalid_arguments", "message": "not an object"}})
    try:
        return json.dumps(tools.call(name, **args), default=str)
    except ToolCallError as exc:
        error = {"type": exc.type, "message": exc.message, "retryable": exc.retryable}
        if exc.retry_after is not None:
            error["retry_after"] = exc.retry_after
        return json.dumps({"error": error})


def agent(instruction: str, tools: ToolClient) -> str:
    """The tool-calling loop; see the module docstring for its configuration."""
    model = str(tools.options.get("model") or os.environ.get("OPENAI_MODEL") or "")
    if not model:
        raise ValueError("no model: pass --model NAME to `agentslo trial run`")
    base_url = str(
        tools.options.get("base_url") or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
    )
    client = ChatClient(base_url, os.environ.get("OPENAI_API_KEY"))
    max_turns = int(tools.options.get("max_turns", 60))
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": instruction},
    ]
    functions = [{"type": "function", "function": spec} for spec in tools.tools]
    for _ in range(max_turns):
        started = time.monotonic()
        response = client.complete({"model": model, "messages": messages, "tools": functions})
        usage = response.get("usage") or {}
        tools.record_llm(
            model=str(response.get("model") or model),
            input_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
            cost_usd=float(usage.get("cost") or 0.0),
            duration_s=time.monotonic() - started,
        )
        message = response["choices"][0]["message"]
        calls = message.get("tool_calls") or []
        turn: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
        if calls:
            turn["tool_calls"] = calls
        messages.append(turn)
        if not calls:
            return str(message.get("content") or "")
        for call in calls:
            function = call.get("function") or {}
            content = _run_tool(tools, str(function.get("name")), function.get("arguments"))
            messages.append({"role": "tool", "tool_call_id": call.get("id"), "content": content})
    return "stopped: turn limit reached"
