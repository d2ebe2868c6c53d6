"""A local push service for tests: what Apprise's json:// and ntfy:// send, recorded, and the
status it answers set by the test (a service down, a key refused)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    body: dict[str, Any]

    @property
    def title(self) -> str:
        return str(self.body.get("title", ""))

    @property
    def message(self) -> str:
        return str(self.body.get("message", ""))


@dataclass
class PushReceiver:
    port: int
    received: list[Received] = field(default_factory=list)
    status: int = 200  # what it answers next
    tries: int = 0  # every POST, refused ones included

    def url(self, scheme: str, path: str) -> str:
        """An Apprise URL that lands here: json://127.0.0.1:PORT/path, ntfy://…/topic."""
        return f"{scheme}://127.0.0.1:{self.port}/{path}"

    def topics(self) -> list[str]:
        """Where each push went: the json:// path, or the ntfy topic."""
        return [str(r.body.get("topic") or r.path.strip("/")) for r in self.received]


@contextmanager
def push_receiver() -> Iterator[PushReceiver]:
    state = PushReceiver(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            status = state.status
            state.tries += 1
            if status < 300:
                state.received.append(Received(self.path, json.loads(raw or b"{}")))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}" if status < 300 else b'{"error":"refused"}')

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
