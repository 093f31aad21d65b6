"""A local webhook receiver: a real HTTP server on a free loopback port that records JSON posts.

``fail_first`` makes it answer 503 to that many requests before accepting, to test retries.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    """What the receiver got: every request's JSON body (accepted or not)."""

    url: str
    fail_first: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def webhook_receiver(*, fail_first: int = 0) -> Iterator[Receiver]:
    """Serve a webhook on 127.0.0.1 until the block ends."""
    state = Receiver(url="", fail_first=fail_first)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                state.received.append(body)
                refuse = len(state.received) <= state.fail_first
                if not refuse:
                    state.accepted.append(body)
            self.send_response(503 if refuse else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook/secret-token"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
