"""Read Alpha Vantage JSON replies: tell data from errors in disguise, parse series exactly.

Pure functions of the reply's bytes. Every entry of a series comes out as exactly one row, with
its 1-based position in the series (``source_row``, vendor order: newest first) and the original
entry as JSON (``raw``: ``{"<date>": {...}}``, the vendor's own shape). Entries that cannot be read
as a bar keep their place with ``parse_rule``/``parse_message`` set, so validation quarantines
them without losing them. Every value arrives as a string and is parsed exactly (the decimal text
rounded once to the nearest float64); ``NaN``, ``Infinity`` and other non-decimal text never pass.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from marketlake.errors import SourceError

SOURCE = "alphavantage"
Function = Literal["TIME_SERIES_DAILY", "TIME_SERIES_WEEKLY_ADJUSTED"]
FUNCTIONS: tuple[Function, ...] = ("TIME_SERIES_DAILY", "TIME_SERIES_WEEKLY_ADJUSTED")
SERIES_KEY: dict[str, str] = {
    "TIME_SERIES_DAILY": "Time Series (Daily)",
    "TIME_SERIES_WEEKLY_ADJUSTED": "Weekly Adjusted Time Series",
}
INTERVAL: dict[str, str] = {"TIME_SERIES_DAILY": "1d", "TIME_SERIES_WEEKLY_ADJUSTED": "1w"}
# vendor field -> canonical column, per function; every field is required.
FIELDS: dict[str, dict[str, str]] = {
    "TIME_SERIES_DAILY": {
        "1. open": "open",
        "2. high": "high",
        "3. low": "low",
        "4. close": "close",
        "5. volume": "volume",
    },
    "TIME_SERIES_WEEKLY_ADJUSTED": {
        "1. open": "open",
        "2. high": "high",
        "3. low": "low",
        "4. close": "close",
        "5. adjusted close": "adj_close",
        "6. volume": "volume",
        "7. dividend amount": "dividend",
    },
}
NUMBERS = ("open", "high", "low", "close", "adj_close", "volume", "dividend")
ZONES = {"US/Eastern": "America/New_York"}  # the vendor's legacy names -> canonical IANA names
ERROR_KEYS = ("Error Message", "Information", "Note")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Rate-limit replies: "Our standard API call frequency is 5 calls per minute..." (Note) or
# "...rate limit is 25 requests per day..." / "...spreading out your free API requests more
# sparingly (1 request per second)..." (Information).
_RATE_WORDS = ("call frequency", "rate limit", "per minute", "per second", "sparingly")
_SHORT_WORDS = ("call frequency", "per minute", "per second", "sparingly")

ReplyKind = Literal["data", "invalid", "refused", "rate_limit", "daily_limit", "unknown"]


@dataclass(frozen=True)
class Reply:
    """What an HTTP 200 reply of Alpha Vantage is.

    Attributes:
        kind: ``data`` (a series), ``invalid`` (``Error Message``: bad symbol or call),
            ``refused`` (``Information`` not about the rate: premium endpoint, demo key),
            ``rate_limit`` (per-minute limit: wait and retry), ``daily_limit`` (the day's calls
            are spent), ``unknown`` (not JSON, or JSON of another shape).
        message: The vendor's text on one line (errors), or a description (unknown).
    """

    kind: ReplyKind
    message: str = ""


def classify_reply(data: bytes) -> Reply:
    """Tell a data reply from an error in disguise (HTTP 200 with only an error key).

    Args:
        data: The reply's body.

    Returns:
        What the reply is (see :class:`Reply`).
    """
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return Reply("unknown", f"not JSON ({len(data)} bytes starting {data[:40]!r})")
    if not isinstance(body, dict):
        return Reply("unknown", f"a JSON {type(body).__name__}, not an object")
    if "Meta Data" in body and any(key in body for key in SERIES_KEY.values()):
        return Reply("data")
    errors = {k: body[k] for k in ERROR_KEYS if k in body}
    if not errors:
        return Reply("unknown", f"JSON object with keys {sorted(body)[:5]}")
    key, value = next(iter(errors.items()))
    text = " ".join(str(value).split())
    return Reply(_error_kind(key, text.lower()), text)


def _error_kind(key: str, lower: str) -> ReplyKind:
    if key == "Error Message":
        return "invalid"
    if key == "Note" or any(w in lower for w in _RATE_WORDS):
        short = key == "Note" or any(w in lower for w in _SHORT_WORDS)
        return "rate_limit" if short or "per day" not in lower else "daily_limit"
    return "refused"


@dataclass(frozen=True)
class SeriesInfo:
    """What a data reply is a series of, from its ``Meta Data`` and series key."""

    function: Function
    symbol: str
    output_size: str | None  # "full" / "compact" (daily), None (weekly: always the whole history)
    timezone: str  # IANA name
    last_refreshed: str


class _Object(list[tuple[str, Any]]):
    """A JSON object as its (key, value) pairs in order: a duplicated date must not vanish."""


def _load(data: bytes, path: str) -> _Object:
    try:
        body = json.loads(data, object_pairs_hook=_Object)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(
            f"not a JSON reply: {exc}", path=path, hint="is this an Alpha Vantage JSON payload?"
        ) from exc
    if not isinstance(body, _Object):
        raise SourceError(
            "not a JSON object", path=path, hint="is this an Alpha Vantage JSON payload?"
        )
    return body


def _plain(value: Any) -> Any:
    """A value read with :class:`_Object` pairs, as plain JSON values (objects as dicts)."""
    if isinstance(value, _Object):
        return {k: _plain(v) for k, v in value}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _zone(name: str, path: str) -> str:
    zone = ZONES.get(name, name)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SourceError(
            f"unknown time zone {name!r} in Meta Data",
            path=path,
            hint="Alpha Vantage series are in US/Eastern; is the payload edited?",
        ) from exc
    return zone


def read_series_info(data: bytes, *, path: str = "<bytes>") -> SeriesInfo:
    """What series a data reply holds (function, symbol, output size, zone, last refresh).

    Raises:
        SourceError: the bytes are not a series reply in the documented shape.
    """
    body = dict(_load(data, path))
    meta = _plain(body.get("Meta Data"))
    found = [f for f, key in SERIES_KEY.items() if key in body]
    if not isinstance(meta, dict) or not meta or len(found) != 1:
        reply = classify_reply(data)
        what = f"an error reply ({reply.message})" if reply.kind != "unknown" else reply.message
        raise SourceError(
            f"not an Alpha Vantage daily or weekly adjusted series: {what}",
            path=path,
            hint="expected Meta Data and Time Series (Daily) or Weekly Adjusted Time Series",
        )
    function: Function = "TIME_SERIES_DAILY" if found[0] == FUNCTIONS[0] else FUNCTIONS[1]
    by_name = {k.split(". ", 1)[-1]: v for k, v in meta.items()}
    symbol = str(by_name.get("Symbol") or "").strip().upper()
    if not symbol:
        raise SourceError(
            "Meta Data has no symbol", path=path, hint="is the payload complete (2. Symbol)?"
        )
    size = str(by_name.get("Output Size") or "").lower()
    output_size = (
        None if function != "TIME_SERIES_DAILY" else ("compact" if "compact" in size else "full")
    )
    return SeriesInfo(
        function=function,
        symbol=symbol,
        output_size=output_size,
        timezone=_zone(str(by_name.get("Time Zone") or "US/Eastern"), path),
        last_refreshed=str(by_name.get("Last Refreshed") or ""),
    )


@dataclass(frozen=True)
class ParsedSeries:
    """The rows of one series reply.

    Attributes:
        info: What the series is (function, symbol, zone, last refresh).
        rows: One row per entry: source_row, raw, symbol, session_date, ts_event, open, high,
            low, close, adj_close, volume, dividend, partial_week, parse_rule, parse_message.
    """

    info: SeriesInfo
    rows: pl.DataFrame


def parse_number(value: Any) -> float | None:
    """A finite float from decimal text (or a JSON number), exactly rounded; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        return number if number - number == 0 else None  # rejects NaN and infinities
    if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        number = float(value.strip())
        return number if number - number == 0 else None  # "1e999" overflows to inf
    return None


def _parse_day(text: str) -> date | None:
    if not _DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _parse_entry(function: str, day_text: str, entry: Any) -> dict[str, Any]:
    fields = FIELDS[function]
    row: dict[str, Any] = dict.fromkeys(NUMBERS)
    row["session_date"] = day = _parse_day(day_text)
    values = _plain(entry)
    if not isinstance(values, dict):
        row["parse_rule"], row["parse_message"] = "record.malformed", "the entry is not an object"
        return row
    missing = [name for name in fields if name not in values]
    if missing:
        row["parse_rule"] = "record.malformed"
        row["parse_message"] = f"the entry lacks {', '.join(missing)}"
        return row
    if day is None:
        row["parse_rule"] = "date.invalid"
        row["parse_message"] = f"date {day_text!r} is not a valid YYYY-MM-DD date"
        return row
    bad = []
    for name, column in fields.items():
        row[column] = parse_number(values[name])
        if row[column] is None:
            bad.append(f"{name}={json.dumps(values[name])}")
    if bad:
        row["parse_rule"] = "value.unparseable"
        row["parse_message"] = f"not a finite decimal number: {', '.join(bad)}"
    return row


def week_is_over(week_day: date, last_refreshed: str) -> bool:
    """Whether the week of ``week_day`` was over when the data was refreshed.

    The week is over when the refresh is in a later week, or on its Friday (a date alone means
    after the close; a time means after 16:00 exchange time). A week whose Friday is a holiday
    counts as not over until the next week's refresh (a conservative flag, never a lost row).
    """
    text = last_refreshed.strip()
    refreshed_day = _parse_day(text[:10])
    if refreshed_day is None:
        return True  # nothing to judge by: do not flag
    monday = week_day - timedelta(days=week_day.weekday())
    if refreshed_day >= monday + timedelta(days=7):
        return True
    if refreshed_day.weekday() < 4:
        return False
    clock = text[10:].strip()
    if not clock:
        return True
    try:
        return datetime.strptime(clock[:8], "%H:%M:%S").hour >= 16
    except ValueError:
        return True


def parse_series(data: bytes, *, symbol: str | None = None, path: str = "<bytes>") -> ParsedSeries:
    """Parse one series reply into rows (see :class:`ParsedSeries`).

    ``ts_event`` follows the CSV daily source, so the same day from two sources is the same bar:
    the local midnight (the series' zone) of the bar's first day, in UTC: the session date for
    daily bars, the Monday of the week for weekly bars. ``session_date`` is the vendor's date (for
    a week: its last trading day). The newest weekly entry whose week was not over at
    ``3. Last Refreshed`` has ``partial_week`` set.

    Args:
        data: The reply's bytes.
        symbol: The symbol to file the rows under (default: the one in Meta Data).
        path: Where the bytes came from, for error messages.

    Returns:
        The series' info and rows.

    Raises:
        SourceError: the bytes are not a series reply in the documented shape.
    """
    info = read_series_info(data, path=path)
    body = dict(_load(data, path))
    series = body[SERIES_KEY[info.function]]
    if not isinstance(series, _Object):
        raise SourceError(
            f"{SERIES_KEY[info.function]} is not an object of dated entries",
            path=path,
            hint="is the payload complete?",
        )
    weekly = info.function == "TIME_SERIES_WEEKLY_ADJUSTED"
    records = []
    for position, (day_text, entry) in enumerate(series, start=1):
        row = _parse_entry(info.function, day_text, entry)
        row["source_row"] = position
        row["raw"] = json.dumps({day_text: _plain(entry)}, ensure_ascii=False)
        day = row["session_date"]
        row["bar_day"] = day - timedelta(days=day.weekday()) if weekly and day else day
        records.append(row)
    newest = max((r["session_date"] for r in records if r["session_date"]), default=None)
    for r in records:
        r["partial_week"] = bool(
            weekly
            and newest is not None
            and r["session_date"] == newest
            and not week_is_over(newest, info.last_refreshed)
        )
    frame = pl.DataFrame(
        records,
        schema={
            "source_row": pl.Int64,
            "raw": pl.String,
            "session_date": pl.Date,
            "bar_day": pl.Date,
            **dict.fromkeys(NUMBERS, pl.Float64),
            "partial_week": pl.Boolean,
            "parse_rule": pl.String,
            "parse_message": pl.String,
        },
    )
    rows = frame.select(
        "source_row",
        "raw",
        pl.lit(symbol or info.symbol, pl.String).alias("symbol"),
        "session_date",
        pl.col("bar_day")
        .cast(pl.Datetime("ns"))
        .dt.replace_time_zone(info.timezone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .alias("ts_event"),
        *NUMBERS,
        "partial_week",
        "parse_rule",
        "parse_message",
    )
    return ParsedSeries(info=info, rows=rows)
