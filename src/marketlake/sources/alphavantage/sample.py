"""Alpha Vantage payloads in the documented shapes: data series and the error bodies.

Deterministic for a given seed and dates (never "today"): the same call writes the same bytes, so
re-running a demo lands nothing new. The error bodies are the vendor's texts as recorded; the
rate-limit one on the daily budget echoes the key, as the real one does.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from marketlake.sources.alphavantage.parse import SERIES_KEY, Function
from marketlake.sources.csv_daily.sample import trading_days

DEFAULT_SYMBOLS = ("IBM", "MSFT")
START_PRICES = {"IBM": 160.0, "MSFT": 370.0}
QUARTERLY_DIVIDEND = {"IBM": 1.67, "MSFT": 0.83}
SAMPLE_START = date(2024, 11, 18)
SAMPLE_END = date(2026, 11, 18)  # a Wednesday: the newest weekly bar is a week not yet over

ERROR_MESSAGE = {
    "Error Message": "Invalid API call. Please retry or visit the documentation "
    "(https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY."
}
INFORMATION_PREMIUM = {
    "Information": "Thank you for using Alpha Vantage! This is a premium endpoint. You may "
    "subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly "
    "unlock all premium endpoints"
}
INFORMATION_DEMO_KEY = {
    "Information": "The **demo** API key is for demo purposes only. Please claim your free API "
    "key at (https://www.alphavantage.co/support/#api-key) to explore our full API offerings. "
    "It takes fewer than 20 seconds."
}
NOTE_RATE_LIMIT = {
    "Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per "
    "minute and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if you "
    "would like to target a higher API call frequency."
}
INFORMATION_BURST = {
    "Information": "Thank you for using Alpha Vantage! Please consider spreading out your free "
    "API requests more sparingly (1 request per second). You may subscribe to any of the premium "
    "plans at https://www.alphavantage.co/premium/ to lift the free key rate limit (25 requests "
    "per day), raise the per-second burst limit, and instantly unlock all premium endpoints"
}


def information_daily_limit(key: str) -> dict[str, str]:
    """The reply once the day's calls are spent (it echoes the key)."""
    return {
        "Information": f"We have detected your API key as {key} and our standard API rate limit "
        "is 25 requests per day. Please subscribe to any of the premium plans at "
        "https://www.alphavantage.co/premium/ to instantly remove all daily rate limits."
    }


@dataclass(frozen=True)
class DailyBar:
    """One clean daily bar of a sample series."""

    day: date
    open: float
    high: float
    low: float
    close: float
    volume: int


@dataclass(frozen=True)
class Fault:
    """One fault written into a sample payload, and the rule that must catch it."""

    symbol: str
    function: Function
    day: date
    rule_id: str
    kind: str  # "quarantine" (ERROR rule) or "flag" (WARNING rule)
    description: str


@dataclass(frozen=True)
class AlphaVantageSamples:
    """What :func:`write_alphavantage_payloads` wrote."""

    files: list[Path]
    faults: list[Fault]
    entries: int  # series entries over all files


def daily_bars(symbol: str, start: date, end: date, *, seed: int = 11) -> list[DailyBar]:
    """A random walk of daily bars on weekdays (without three fixed holidays), oldest first."""
    rng = random.Random(f"{seed}/{symbol}")
    price = START_PRICES.get(symbol, 100.0)
    bars = []
    for day in trading_days(start, end):
        open_ = round(price * math.exp(rng.gauss(0, 0.004)), 4)
        close = round(open_ * math.exp(rng.gauss(0.0003, 0.015)), 4)
        high = round(max(open_, close) * (1 + abs(rng.gauss(0, 0.005))), 4)
        low = round(min(open_, close) * (1 - abs(rng.gauss(0, 0.005))), 4)
        bars.append(DailyBar(day, open_, high, low, close, int(rng.lognormvariate(15, 0.35))))
        price = close
    return bars


def _f4(x: float) -> str:
    return f"{x:.4f}"


def daily_payload(
    symbol: str, bars: list[DailyBar], *, output_size: str = "Full size"
) -> dict[str, Any]:
    """A ``TIME_SERIES_DAILY`` reply of ``bars`` (newest first, as the vendor sends it)."""
    return {
        "Meta Data": {
            "1. Information": "Daily Prices (open, high, low, close) and Volumes",
            "2. Symbol": symbol,
            "3. Last Refreshed": bars[-1].day.isoformat(),
            "4. Output Size": output_size,
            "5. Time Zone": "US/Eastern",
        },
        SERIES_KEY["TIME_SERIES_DAILY"]: {
            b.day.isoformat(): {
                "1. open": _f4(b.open),
                "2. high": _f4(b.high),
                "3. low": _f4(b.low),
                "4. close": _f4(b.close),
                "5. volume": str(b.volume),
            }
            for b in reversed(bars)
        },
    }


def weekly_adjusted_payload(
    symbol: str, bars: list[DailyBar], *, dividend: float | None = None
) -> dict[str, Any]:
    """A ``TIME_SERIES_WEEKLY_ADJUSTED`` reply built from daily bars (newest week first).

    Each week is dated by its last trading day; a dividend goes ex in the first week of February,
    May, August and November, and adjusted closes fold in every later dividend.
    """
    weeks: dict[date, list[DailyBar]] = {}
    for b in bars:
        weeks.setdefault(b.day - timedelta(days=b.day.weekday()), []).append(b)
    amount = QUARTERLY_DIVIDEND.get(symbol, 0.5) if dividend is None else dividend
    rows = []
    for monday, days in weeks.items():
        pays = monday.month in (2, 5, 8, 11) and monday.day <= 7
        rows.append((monday, days, amount if pays else 0.0))
    entries: dict[str, dict[str, str]] = {}
    factor = 1.0
    for _, days, paid in reversed(rows):
        close = days[-1].close
        entries[days[-1].day.isoformat()] = {
            "1. open": _f4(days[0].open),
            "2. high": _f4(max(d.high for d in days)),
            "3. low": _f4(min(d.low for d in days)),
            "4. close": _f4(close),
            "5. adjusted close": _f4(close * factor),
            "6. volume": str(sum(d.volume for d in days)),
            "7. dividend amount": _f4(paid),
        }
        if paid:
            factor *= 1 - paid / close
    return {
        "Meta Data": {
            "1. Information": "Weekly Adjusted Prices and Volumes",
            "2. Symbol": symbol,
            "3. Last Refreshed": bars[-1].day.isoformat(),
            "4. Time Zone": "US/Eastern",
        },
        SERIES_KEY["TIME_SERIES_WEEKLY_ADJUSTED"]: entries,
    }


def payload_bytes(payload: dict[str, Any]) -> bytes:
    """The bytes of a reply, formatted as the vendor formats them (4-space indent)."""
    return json.dumps(payload, indent=4).encode()


def write_alphavantage_payloads(
    folder: Path,
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS,
    *,
    start: date = SAMPLE_START,
    end: date = SAMPLE_END,
    seed: int = 11,
) -> AlphaVantageSamples:
    """Write a daily and a weekly adjusted payload per symbol, as ``<SYMBOL>.<FUNCTION>.json``.

    The first symbol's daily series carries one faulty value (a letter in a close), which must be
    quarantined as ``value.unparseable``; each weekly series ends in a week not over at its last
    refresh when ``end`` is before a Friday (flagged ``week.partial``). Files already holding the
    same bytes are not rewritten.

    Returns:
        The files, the faults written, and the number of series entries.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    faults: list[Fault] = []
    entries = 0
    for i, symbol in enumerate(symbols):
        bars = daily_bars(symbol, start, end, seed=seed)
        daily = daily_payload(symbol, bars)
        weekly = weekly_adjusted_payload(symbol, bars)
        if i == 0 and len(bars) > 40:
            bad_day = bars[-40].day
            entry = daily[SERIES_KEY["TIME_SERIES_DAILY"]][bad_day.isoformat()]
            entry["4. close"] = entry["4. close"].replace(".", "O.", 1) + "x"
            faults.append(
                Fault(symbol, "TIME_SERIES_DAILY", bad_day, "value.unparseable", "quarantine",
                      "letters in a close")
            )  # fmt: skip
        newest_week = max(weekly[SERIES_KEY["TIME_SERIES_WEEKLY_ADJUSTED"]])
        if end.weekday() < 4:
            faults.append(
                Fault(symbol, "TIME_SERIES_WEEKLY_ADJUSTED", date.fromisoformat(newest_week),
                      "week.partial", "flag", "newest week not over at the last refresh")
            )  # fmt: skip
        for function, payload in (
            ("TIME_SERIES_DAILY", daily),
            ("TIME_SERIES_WEEKLY_ADJUSTED", weekly),
        ):
            path = folder / f"{symbol}.{function}.json"
            data = payload_bytes(payload)
            if not path.exists() or path.read_bytes() != data:
                path.write_bytes(data)
            files.append(path)
            entries += len(payload[SERIES_KEY[function]])
    return AlphaVantageSamples(files=files, faults=faults, entries=entries)
