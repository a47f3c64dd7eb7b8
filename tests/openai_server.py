"""A scripted OpenAI-compatible chat-completions server on localhost, for tests of the
code that talks to one (the trials' OpenAI agent loop, the LLM judge).

The server records every request and answers with ``reply(body)``: a dict is sent as
a 200 JSON response; a :class:`Reply` sets the status, a raw body, headers and a
delay (longer than the client's timeout, it is a timeout).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted response."""

    body: dict[str, Any] | str = field(default_factory=dict)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def chat_response(content: str | None, model: str = "scripted", **message: Any) -> dict[str, Any]:
    """A chat-completions response whose assistant message says ``content``."""
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **message},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 200, "completion_tokens": 30},
    }


class ScriptedOpenAIServer:
    """POST ``/v1/chat/completions`` answered by :meth:`reply` (override or pass one);
    any other path is a 404."""

    def __init__(self, reply: Callable[[dict[str, Any]], dict[str, Any] | Reply] | None = None):
        self.requests: list[dict[str, Any]] = []
        self._reply = reply
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with owner._lock:
                    owner.requests.append(
                        {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
                    )
                if self.path == "/v1/chat/completions":
                    answer = owner.reply(body)
                else:
                    answer = Reply({"error": {"message": f"no route {self.path}"}}, status=404)
                scripted = answer if isinstance(answer, Reply) else Reply(answer)
                if scripted.delay:
                    time.sleep(scripted.delay)
                raw = scripted.body
                payload = (raw if isinstance(raw, str) else json.dumps(raw)).encode()
                try:
                    self.send_response(scripted.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in scripted.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up waiting (a timeout test)

            def log_message(self, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def reply(self, body: dict[str, Any]) -> dict[str, Any] | Reply:
        if self._reply is None:
            raise NotImplementedError("pass reply= or override ScriptedOpenAIServer.reply")
        return self._reply(body)

    @contextmanager
    def running(self) -> Iterator[ScriptedOpenAIServer]:
        """Serve in a background thread until the block ends."""
        thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()
