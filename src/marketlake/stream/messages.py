"""The tick message: its JSON wire form, its subject, and the checks a message must pass.

One message is one tick of one symbol, published on ``<subject_prefix>.<symbol>`` (a dot in the
symbol is written ``~``: ``BRK.B`` -> ``marketlake.ticks.BRK~B``), JSON encoded::

    {"v": 1, "symbol": "AAPL", "ts_event": 1704205800000000000, "kind": "trade",
     "price": 185.64, "size": 100, "seq": 0, "pub": 1704205800000123456}
    {"v": 1, "symbol": "AAPL", "ts_event": 1704205800000000000, "kind": "bar",
     "open": 185.1, "high": 186.0, "low": 184.9, "close": 185.64, "volume": 81234,
     "vwap": 185.5, "session": "2024-01-02", "seq": 0}

- ``ts_event``: UTC nanoseconds (an integer).
- ``seq`` (optional, default 0): tells apart ticks of one symbol with the same ``ts_event``
  (0 for the first, 1 for the second...). ``(symbol, ts_event, seq)`` identifies a tick.
- ``session`` (optional, ``YYYY-MM-DD``): the trading session; without it the session is the
  local date of ``ts_event`` (``stream.session_timezone``, ``stream.session_rollover``).
- ``vwap`` (bars, optional): the bar's own VWAP, else its typical price (h+l+c)/3 is used.
- ``pub`` (optional): when the producer published it (UTC ns), for latency measurements.

A message that breaks a rule raises :class:`Malformed` with a reason code (``json.invalid``,
``field.missing``, ``field.type``, ``kind.unknown``, ``symbol.invalid``, ``symbol.mismatch``,
``ts.invalid``, ``price.invalid``, ``size.invalid``, ``ohlc.inconsistent``,
``session.invalid``, ``version.unknown``) and a sentence; the consumer dead-letters it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

VERSION = 1
SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:_^-]{0,39}$")
TS_MAX = 7_258_118_400 * 10**9  # 2200-01-01: anything later is a unit mistake (us, ms...)
KINDS = ("trade", "bar")
_INF = math.inf
_VALID: set[str] = set()
_loads = orjson.loads  # several times the stdlib decoder's speed, on every message consumed


class Malformed(Exception):  # noqa: N818 - a verdict on a message, not an error of marketlake
    """A message that cannot be applied: ``code`` is the reason code, ``detail`` says why."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(slots=True)
class Tick:
    """One trade, or one bar (``price`` is its close, ``size`` its volume)."""

    symbol: str
    ts_event: int
    price: float
    size: float
    kind: str = "trade"
    seq: int = 0
    session: int | None = None  # date.toordinal() of the session, None: from the clock
    open: float | None = None
    high: float | None = None
    low: float | None = None
    vwap: float | None = None
    published_ns: int | None = None

    @property
    def vwap_price(self) -> float:
        """The price a tick weighs in the session's VWAP."""
        if self.kind == "trade":
            return self.price
        if self.vwap is not None:
            return self.vwap
        assert self.high is not None
        assert self.low is not None
        return (self.high + self.low + self.price) / 3


def subject_token(symbol: str) -> str:
    """The subject token of a symbol (dots are subject separators in NATS)."""
    return symbol.replace(".", "~")


def symbol_of_token(token: str) -> str:
    """The symbol of a subject token (inverse of :func:`subject_token`)."""
    return token.replace("~", ".")


def encode(tick: Tick, *, published_ns: int | None = None) -> bytes:
    """The JSON bytes of a tick (floats written exactly: shortest round-trip form)."""
    body: dict[str, Any] = {"v": VERSION, "symbol": tick.symbol, "ts_event": tick.ts_event}
    if tick.kind == "bar":
        body.update(kind="bar", open=tick.open, high=tick.high, low=tick.low, close=tick.price)
        body["volume"] = tick.size
        if tick.vwap is not None:
            body["vwap"] = tick.vwap
    else:
        body.update(kind="trade", price=tick.price, size=tick.size)
    if tick.seq:
        body["seq"] = tick.seq
    if tick.session is not None:
        body["session"] = date.fromordinal(tick.session).isoformat()
    if published_ns is not None:
        body["pub"] = published_ns
    return orjson.dumps(body)


def _number(body: dict[str, Any], name: str) -> float:
    try:
        value = body[name]
    except KeyError:
        raise Malformed("field.missing", f"no {name!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed("field.type", f"{name} is {value!r}, not a number")
    return float(value)


def _price(body: dict[str, Any], name: str) -> float:
    value = _number(body, name)
    if not (value > 0 and math.isfinite(value)):
        raise Malformed("price.invalid", f"{name} {value!r} is not a positive finite price")
    return value


def _integer(body: dict[str, Any], name: str, default: int | None = None) -> int:
    value = body.get(name, default)
    if value is None:
        raise Malformed("field.missing", f"no {name!r}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed("field.type", f"{name} is {value!r}, not an integer")
    return int(value)


def decode(data: bytes, subject_symbol: str | None = None) -> Tick:
    """Parse and check one message.

    Args:
        data: The message payload.
        subject_symbol: The symbol its subject names; the body must name the same one.

    Returns:
        The tick.

    Raises:
        Malformed: the message breaks a rule (see the module doc for the codes).
    """
    try:
        body = _loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Malformed("json.invalid", f"not JSON: {exc}") from None
    if type(body) is not dict:
        raise Malformed("json.invalid", f"a JSON {type(body).__name__}, not an object")
    get = body.get
    if get("v", VERSION) != VERSION:
        raise Malformed("version.unknown", f"message version {get('v')!r}, expected 1")
    symbol = get("symbol")
    if type(symbol) is not str or (symbol not in _VALID and not _valid_symbol(symbol)):
        raise Malformed("symbol.invalid", f"symbol {symbol!r} is not a ticker like AAPL, BRK.B")
    if subject_symbol is not None and symbol != subject_symbol:
        raise Malformed("symbol.mismatch", f"body names {symbol!r}, subject {subject_symbol!r}")
    ts = get("ts_event")
    if type(ts) is float and ts.is_integer() and abs(ts) >= 2**64:
        # orjson reads integers wider than 64 bits as floats: still a time, out of range.
        raise Malformed("ts.invalid", f"ts_event {ts:.0f} is not UTC nanoseconds (1970..2200)")
    if type(ts) is not int:
        ts = _integer(body, "ts_event")
    if not 0 < ts < TS_MAX:
        raise Malformed("ts.invalid", f"ts_event {ts} is not UTC nanoseconds (1970..2200)")
    seq = get("seq", 0)
    if type(seq) is not int or seq < 0:
        seq = _integer(body, "seq", 0)
        if seq < 0:
            raise Malformed("field.type", f"seq {seq} is negative")
    kind = get("kind", "trade")
    if kind == "trade":
        price, size = get("price"), get("size")
        if type(price) is not float or not 0 < price < _INF:
            price = _price(body, "price")
        if type(size) is not float or not 0 <= size < _INF:
            size = _number(body, "size")
        tick = Tick(symbol, ts, price, size, "trade", seq)
    elif kind == "bar":
        tick = _bar(body, symbol, ts, seq)
    else:
        raise Malformed("kind.unknown", f"kind {kind!r}, expected one of {', '.join(KINDS)}")
    if not 0 <= tick.size < _INF:
        raise Malformed("size.invalid", f"size/volume {tick.size!r} is not >= 0 and finite")
    session = get("session")
    if session is not None:
        tick.session = _session(session)
    pub = get("pub")
    if type(pub) is int:
        tick.published_ns = pub
    return tick


def _valid_symbol(symbol: str) -> bool:
    if not SYMBOL.match(symbol):
        return False
    if len(_VALID) < 100_000:  # checked once per symbol: most feeds repeat few symbols
        _VALID.add(symbol)
    return True


def _bar(body: dict[str, Any], symbol: str, ts: int, seq: int) -> Tick:
    open_, high, low = _price(body, "open"), _price(body, "high"), _price(body, "low")
    close = _price(body, "close")
    if high < max(open_, close, low) or low > min(open_, close):
        raise Malformed(
            "ohlc.inconsistent", f"open {open_} high {high} low {low} close {close} disagree"
        )
    vwap = _price(body, "vwap") if body.get("vwap") is not None else None
    volume = _number(body, "volume")
    return Tick(symbol, ts, close, volume, "bar", seq, None, open_, high, low, vwap)


def _session(value: Any) -> int:
    try:
        return date.fromisoformat(value).toordinal()
    except (TypeError, ValueError):
        raise Malformed("session.invalid", f"session {value!r} is not YYYY-MM-DD") from None
