"""A scripted OpenAI-compatible chat-completions server on localhost, for tests.

``reply(body)`` turns each request body into the response document, so a test
scripts the "model" as a plain function of the conversation. Every request is kept
(path, Authorization header, body) for the test to inspect. No test reaches the
internet: the server binds 127.0.0.1 on a free port.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Reply", "ScriptedServer", "chat_completion", "scripted_server"]

Reply = Callable[[dict[str, Any]], dict[str, Any]]


def chat_completion(
    body: dict[str, Any], message: dict[str, Any], usage: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A ``chat.completion`` response to ``body`` carrying ``message``."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": body["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": usage or {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
    }


class ScriptedServer:
    """The server; ``url`` is the API base (``http://127.0.0.1:PORT/v1``)."""

    def __init__(self, reply: Reply) -> None:
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append(
                    {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
                )
                payload = json.dumps(reply(body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"


@contextmanager
def scripted_server(reply: Reply) -> Iterator[ScriptedServer]:
    """Run a :class:`ScriptedServer` in a thread for the duration of the block."""
    server = ScriptedServer(reply)
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
