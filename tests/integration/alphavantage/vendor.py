"""A local stand-in for the Alpha Vantage endpoint: replays recorded replies, one per call.

A real HTTP server (stdlib, in a thread, on a free loopback port): the client under test makes
real HTTP calls, with real timeouts. Each (function, symbol) gets a script of replies; the last
one repeats. Every request is recorded (its query), so tests can count calls.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from pydantic import SecretStr

from marketlake.config import AlphaVantageSettings, Settings

KEY = "TESTKEY-4f9c2a7d81"


@dataclass(frozen=True)
class Reply:
    """One scripted reply."""

    body: bytes
    status: int = 200
    delay_s: float = 0.0


def reply(payload: dict[str, Any] | bytes, *, status: int = 200, delay_s: float = 0.0) -> Reply:
    """A reply with a JSON body (or raw bytes)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload, indent=4).encode()
    return Reply(body, status, delay_s)


@dataclass
class Vendor:
    """The server's script and what it was asked."""

    url: str = ""
    script: dict[tuple[str, str], list[Reply]] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, function: str, symbol: str, *replies: Reply) -> None:
        """Script the replies to (function, symbol), in order; the last repeats."""
        self.script[(function, symbol)] = list(replies)

    def calls(self, symbol: str | None = None) -> int:
        """Requests received (for one symbol, or all)."""
        return sum(1 for r in self.requests if symbol is None or r.get("symbol") == symbol)

    def next_reply(self, query: dict[str, str]) -> Reply:
        with self.lock:
            self.requests.append(query)
            replies = self.script.get((query.get("function", ""), query.get("symbol", "")))
            if not replies:
                return reply({"Error Message": "Invalid API call (not scripted)."})
            return replies.pop(0) if len(replies) > 1 else replies[0]


@contextmanager
def serve_vendor() -> Iterator[Vendor]:
    """Run the stand-in endpoint for the duration of the block."""
    vendor = Vendor()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = {k: v[-1] for k, v in parse_qs(urlparse(self.path).query).items()}
            answer = vendor.next_reply(query)
            if answer.delay_s:
                time.sleep(answer.delay_s)
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    vendor.url = f"http://127.0.0.1:{server.server_address[1]}/query"
    try:
        yield vendor
    finally:
        server.shutdown()
        server.server_close()


def with_vendor(settings: Settings, vendor: Vendor, **overrides: Any) -> Settings:
    """Settings pointing Alpha Vantage at the stand-in, with fast limits for tests."""
    values: dict[str, Any] = {
        "base_url": vendor.url,
        "api_key": SecretStr(KEY),
        "calls_per_minute": 600,
        "calls_per_day": 100,
        "max_wait_s": 1.0,
        "timeout_s": 5.0,
        "retries": 2,
        "backoff_s": 0.01,
    } | overrides
    av = AlphaVantageSettings(**values)
    sources = settings.sources.model_copy(update={"alphavantage": av})
    return settings.model_copy(update={"sources": sources})
