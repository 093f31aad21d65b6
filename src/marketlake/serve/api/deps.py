"""What every route shares: the app's context, the token check, and parsing of query values."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from marketlake.config import Settings
from marketlake.errors import ConfigError
from marketlake.lake.store import Lake
from marketlake.serve import queries
from marketlake.serve.gold import GoldCache
from marketlake.serve.partitions import Bound, parse_bound

INTERVAL = re.compile(r"^[1-9]\d{0,3}(s|m|h|d|w|mo)$")


@dataclass
class Context:
    """State of one running app: settings, the lake, gold, the background build."""

    settings: Settings
    lake: Lake
    gold: GoldCache
    build_lock: threading.Lock = field(default_factory=threading.Lock)
    running: set[str] = field(default_factory=set)


def context(request: Request) -> Context:
    """The app's context (set by :func:`marketlake.serve.api.create_app`)."""
    ctx: Context = request.app.state.context
    return ctx


Ctx = Annotated[Context, Depends(context)]
# Tickers as vendors spell them (BRK.B, X:BTCUSD, ESZ4); no glob or path characters.
SymbolPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9.:_^-]{0,39}$", description="e.g. AAPL, BRK.B")
]
_bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _check_token(ctx: Context, credentials: HTTPAuthorizationCredentials | None) -> None:
    expected = ctx.settings.api.token
    if credentials is None:
        raise HTTPException(
            401,
            detail="this route needs a token — send `Authorization: Bearer <api.token>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    given = credentials.credentials.encode()
    if expected is None or not secrets.compare_digest(given, expected.get_secret_value().encode()):
        raise HTTPException(403, detail="the token is not valid for this server")


def require_token(ctx: Ctx, credentials: Credentials) -> None:
    """Write and admin routes: a valid bearer token (401 without one, 403 when wrong)."""
    _check_token(ctx, credentials)


def bad_request(message: str, hint: str) -> HTTPException:
    """A 422 with our error body."""
    return HTTPException(422, detail=f"{message} — {hint}")


def parse_range(start: str | None, end: str | None) -> tuple[Bound | None, Bound | None]:
    """``from``/``to`` query values: dates (whole days, ``to`` included) or ISO instants."""
    try:
        lo = parse_bound(start, end=False) if start else None
        hi = parse_bound(end, end=True) if end else None
    except (ConfigError, ValueError, TypeError, OverflowError) as exc:
        raise bad_request(
            f"invalid from/to: {getattr(exc, 'message', exc)}",
            "use YYYY-MM-DD or an ISO instant like 2024-01-02T14:30:00Z",
        ) from exc
    if lo is not None and hi is not None and lo.ns >= hi.ns:
        raise bad_request("`from` is not before `to`", "swap them or widen the range")
    return lo, hi


def day_range(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    """``from``/``to`` as whole days for marts keyed by date."""
    lo, hi = parse_range(start, end)
    first = None if lo is None else (lo.day or _day_of(lo.ns))
    last = None if hi is None else (hi.day or _day_of(hi.ns - 1))
    return first, last


def _day_of(ns: int) -> date:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ns / 1e9, tz=UTC).date()


def check_interval(interval: str) -> str:
    """A bar interval such as 1m, 30m, 1h, 1d, 1w (422 otherwise)."""
    if not INTERVAL.match(interval):
        raise bad_request(f"invalid interval {interval!r}", "use e.g. 1m, 5m, 1h, 1d or 1w")
    return interval


def encode_cursor(*parts: int) -> str:
    """An opaque cursor for the next page."""
    text = "v1:" + ":".join(str(p) for p in parts)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> tuple[int, ...]:
    """The integers of a cursor made by :func:`encode_cursor` (422 when it is not one)."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        head, *parts = text.split(":")
        values = tuple(int(p) for p in parts)
        if head != "v1" or len(values) != size or min(values) < 0:
            raise ValueError(text)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise bad_request("invalid cursor", "pass next_cursor of the previous page as is") from exc
    return values


def known_symbols(ctx: Context) -> set[str]:
    """Symbols of gold's ``dim_symbol``, empty before the first build."""
    return queries.known_symbols(ctx.gold)


def unknown_symbol(symbol: str) -> HTTPException:
    """A 404 naming the symbol."""
    return HTTPException(
        404, detail=f"unknown symbol {symbol!r} — GET /symbols lists the symbols served"
    )
