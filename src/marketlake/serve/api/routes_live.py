"""Live moving averages from the stream: ``/live/{symbol}`` and its server-sent events."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent

from marketlake.config import Settings
from marketlake.serve.api.deps import Context, Ctx, SymbolPath
from marketlake.serve.api.models_live import Live, LiveValues
from marketlake.serve.live import LiveConfig, LiveView, LiveWatcher, read_live

log = logging.getLogger(__name__)

router = APIRouter(tags=["live"])

WAIT_S = 1.0  # longest wait for a notification before the feed checks whether to stop
# A comment this often without an update: proxies keep the connection, and servers that notice a
# gone client only when a write fails (ASGI spec 2.4) notice it by then.
KEEPALIVE_S = 5.0
# Errors of the event stream are JSON, not events: say so (a response model would be documented
# with the route's text/event-stream type).
_ERROR_BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
EVENT_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": _ERROR_BODY}
    for code, text in (
        (401, "token required"),
        (403, "forbidden"),
        (404, "no live values of the symbol"),
        (422, "invalid request"),
        (503, "PostgreSQL unavailable"),
    )
}


def _view(ctx: Context, symbol: str, history: int) -> LiveView:
    view = read_live(symbol, history=history, settings=ctx.settings)
    if view is None:
        raise HTTPException(
            404,
            detail=f"no live values of {symbol!r} — start `marketlake stream consume` and "
            "publish its ticks (`marketlake stream produce`)",
        )
    return view


def _values(row: dict[str, Any], config: LiveConfig) -> dict[str, Any]:
    return {
        "ts_event": row["ts_event"],
        "session": row["session"],
        "price": row["price"],
        "size": row["size"],
        "sma": {str(n): row[f"sma_{n}"] for n in config.windows},
        "ema": {str(n): row[f"ema_{n}"] for n in config.ema_spans},
        "vwap": row["vwap"],
        "stream_seq": row["stream_seq"],
    }


def _session(row: dict[str, Any], config: LiveConfig) -> dict[str, Any]:
    return {
        "session": row["session"],
        "ts_event": row["ts_event"],
        "close": row["close"],
        "volume": row["volume"],
        "sma": {str(n): row[f"sma_{n}"] for n in config.windows},
        "ema": {str(n): row[f"ema_{n}"] for n in config.ema_spans},
        "vwap": row["vwap"],
        "final": row["final"],
    }


@router.get("/live/{symbol}", response_model=Live, summary="Latest live moving averages")
def get_live(
    ctx: Ctx,
    symbol: SymbolPath,
    ticks: Annotated[int, Query(ge=0, le=10_000, description="Recent ticks to include.")] = 0,
    sessions: Annotated[int, Query(ge=0, le=10_000, description="Recent sessions to include.")] = 0,
) -> dict[str, Any]:
    """The latest price, SMA per window, EMA per span and session VWAP of ``symbol``, as the
    stream consumer committed them to PostgreSQL (404 before its first tick)."""
    view = _view(ctx, symbol, max(ticks, sessions, 1))
    config = view.config
    return {
        "symbol": symbol,
        "unit": config.unit,
        "windows": config.windows,
        "ema_spans": config.ema_spans,
        "latest": _values(view.latest, config),
        "ticks": [_values(r, config) for r in view.ticks.tail(ticks).iter_rows(named=True)]
        if ticks
        else [],
        "sessions": [
            _session(r, config) for r in view.sessions.tail(sessions).iter_rows(named=True)
        ]
        if sessions
        else [],
    }


def live_view(ctx: Ctx, symbol: SymbolPath) -> LiveView:
    """The symbol's live view before the event stream starts (a 404 must precede it)."""
    return _view(ctx, symbol, 1)


@router.get(
    "/live/{symbol}/events",
    response_class=EventSourceResponse,
    responses=EVENT_ERRORS,
    summary="Live moving averages as server-sent events",
)
async def get_live_events(
    ctx: Ctx,
    view: Annotated[LiveView, Depends(live_view)],
    limit: Annotated[
        int | None, Query(ge=1, le=1_000_000, description="Stop after this many events.")
    ] = None,
) -> AsyncIterator[ServerSentEvent]:
    """An ``update`` event with the latest values (as ``/live/{symbol}``'s ``latest``) now and
    after every commit that moves them; a comment every few seconds keeps the connection
    checked. Ends after ``limit`` events or ``stream.sse_max_s`` seconds (a browser's
    EventSource reconnects by itself), or soon after the client leaves."""
    yield _event(view.latest, view.config)
    sent, deadline = 1, time.monotonic() + ctx.settings.stream.sse_max_s
    feed = _Feed(view, ctx.settings, asyncio.get_running_loop())
    feed.start()
    try:
        while (limit is None or sent < limit) and (left := deadline - time.monotonic()) > 0:
            try:
                item = await asyncio.wait_for(feed.queue.get(), min(KEEPALIVE_S, left))
            except TimeoutError:
                yield ServerSentEvent(comment="waiting for the next commit")
                continue
            if isinstance(item, Exception):
                log.warning("event stream of %s ended: %s", view.symbol, item)
                return
            yield _event(item.latest, item.config)
            sent += 1
    finally:
        feed.stop.set()  # no await here: the stream may be cancelled; the thread cleans up


class _Feed(threading.Thread):
    """Waits for commits in its own thread, which alone uses (and closes) the connection."""

    def __init__(self, view: LiveView, settings: Settings, loop: asyncio.AbstractEventLoop):
        super().__init__(name=f"live-{view.symbol}", daemon=True)
        self.view, self.settings, self.loop = view, settings, loop
        self.queue: asyncio.Queue[LiveView | Exception] = asyncio.Queue()
        self.stop = threading.Event()

    def _put(self, item: LiveView | Exception) -> None:
        if not self.stop.is_set():
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    def run(self) -> None:
        symbol, last = self.view.symbol, int(self.view.latest["stream_seq"])
        try:
            with LiveWatcher(symbol, self.settings) as watcher:
                while not self.stop.is_set():
                    if not watcher.wait(WAIT_S):
                        continue
                    fresh = watcher.read()
                    if fresh is not None and int(fresh.latest["stream_seq"]) > last:
                        last = int(fresh.latest["stream_seq"])
                        self._put(fresh)
        except Exception as exc:  # the server went away: end the stream, say why in the log
            self._put(exc)


def _event(row: dict[str, Any], config: LiveConfig) -> ServerSentEvent:
    values = LiveValues.model_validate(_values(row, config))
    return ServerSentEvent(data=values, event="update", id=str(row["stream_seq"]))
