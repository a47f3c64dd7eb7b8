"""The chat client the judge (and the trials' OpenAI loop) talks through: what it
retries, what it gives up on at once, and the error it raises."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from tests.openai_server import Reply, ScriptedOpenAIServer, chat_response

from agentslo.agents.openai_chat import ChatClient, ChatError


class Sequence(ScriptedOpenAIServer):
    """Answers with the scripted replies in turn, then the last one again."""

    def __init__(self, *replies: dict[str, Any] | Reply) -> None:
        super().__init__()
        self.replies = list(replies)

    def reply(self, body: dict[str, Any]) -> dict[str, Any] | Reply:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


def _client(server: ScriptedOpenAIServer) -> ChatClient:
    return ChatClient(server.url, "sk", timeout=2.0, backoff=0.01)


def test_rate_limits_and_server_errors_are_retried() -> None:
    limited = Reply({"error": "slow down"}, status=429, headers={"Retry-After": "0.05"})
    with Sequence(limited, Reply({}, status=502), chat_response("ok")).running() as server:
        answer = _client(server).complete({"model": "m", "messages": []}, attempts=3)
        assert answer["choices"][0]["message"]["content"] == "ok"
        assert len(server.requests) == 3


def test_client_errors_fail_at_once_with_their_status() -> None:
    with Sequence(Reply({"error": "bad key"}, status=401)).running() as server:
        with pytest.raises(ChatError, match=r"HTTP 401: .*bad key") as caught:
            _client(server).complete({"model": "m"}, attempts=4)
        assert caught.value.status == 401 and len(server.requests) == 1


def test_a_body_that_is_not_json_is_retried_then_reported() -> None:
    with Sequence(Reply("<html>gateway</html>")).running() as server:
        with pytest.raises(ChatError, match="not JSON") as caught:
            _client(server).complete({"model": "m"}, attempts=2)
        assert caught.value.status == 200 and len(server.requests) == 2


def test_no_server_is_an_error_without_status() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ChatClient(f"http://127.0.0.1:{port}/v1", None, timeout=1.0, backoff=0.01)
    with pytest.raises(ChatError) as caught:
        client.complete({"model": "m"}, attempts=2)
    assert caught.value.status is None
