"""Sample Polygon/Massive flat files in the vendor's exact format, with faults the rules catch.

Per-day layout under a root folder (the same keys as the vendor's bucket)::

    us_stocks_sip/{trades_v1,quotes_v1,minute_aggs_v1,day_aggs_v1}/YYYY/MM/YYYY-MM-DD.csv.gz
    global_crypto/minute_aggs_v1/YYYY/MM/YYYY-MM-DD.csv.gz

Deterministic for a given seed (gzip without a timestamp): the same call writes the same bytes, so
re-running a demo lands nothing new. Each injected fault is reported with its key, line and rule.
The line builders (``trade``, ``quote``, ``agg``, ``gz``) are what tests use to write fixtures.
"""

from __future__ import annotations

import gzip
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from marketlake.sources.polygon.keys import day_key

HEADERS = {
    "trades_v1": "ticker,conditions,correction,exchange,id,participant_timestamp,price,"
    "sequence_number,sip_timestamp,size,tape,trf_id,trf_timestamp",
    "quotes_v1": "ticker,ask_exchange,ask_price,ask_size,bid_exchange,bid_price,bid_size,"
    "conditions,indicators,participant_timestamp,sequence_number,sip_timestamp,tape,"
    "trf_timestamp",
    "minute_aggs_v1": "ticker,volume,open,close,high,low,window_start,transactions",
    "day_aggs_v1": "ticker,volume,open,close,high,low,window_start,transactions",
}
T0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30:00 UTC (09:30 New York)
SAMPLE_SYMBOLS = ("AAPL", "MSFT", "SPY")
SAMPLE_CRYPTO = "X:BTCUSD"
START_PRICES = {"AAPL": 185.0, "MSFT": 370.0, "SPY": 470.0, "X:BTCUSD": 44000.0}
NEW_YORK = ZoneInfo("America/New_York")
NS = 1_000_000_000


def gz(kind: str, lines: list[str]) -> bytes:
    """A ``.csv.gz`` with the kind's header and the given data lines (no gzip timestamp)."""
    text = ("\n".join([HEADERS[kind], *lines]) + "\n").encode()
    return gzip.compress(text, compresslevel=6, mtime=0)


def trade(ticker: str, price: str, size: str, *, ts: int = T0, cond: str = '"12,37"') -> str:
    """One trades_v1 line (conditions quoted, as the vendor writes a list)."""
    return f"{ticker},{cond},0,4,id{ts % 1000},{ts - 5},{price},{ts % 997},{ts},{size},3,,"


def quote(ticker: str, bid: str, ask: str, *, ts: int = T0) -> str:
    """One quotes_v1 line."""
    return f"{ticker},11,{ask},3,12,{bid},2,1,,{ts - 5},{ts % 997},{ts},3,"


def agg(ticker: str, o: float, h: float, low: float, c: float, *, vol: str = "100",
        ts: int = T0, n: str = "5") -> str:  # fmt: skip
    """One aggregates line: volume, open, CLOSE, HIGH, low, window_start, transactions."""
    return f"{ticker},{vol},{o},{c},{h},{low},{ts},{n}"


@dataclass(frozen=True)
class SampleFault:
    """One fault written into a sample file, and the rule that must catch it."""

    key: str
    line: int  # 1-based line in the file (the header is line 1)
    rule_id: str
    kind: str  # "quarantine" (ERROR rule) or "flag" (WARNING rule)


@dataclass
class PolygonSample:
    """What :func:`write_flat_files` wrote."""

    root: Path
    days: list[date]
    datasets: list[str]
    files: list[Path] = field(default_factory=list)
    faults: list[SampleFault] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # data lines per dataset


def trading_days(start: date, count: int) -> list[date]:
    """``count`` weekdays from ``start`` on (the sample ignores holidays: pick a quiet week)."""
    out: list[date] = []
    day = start
    while len(out) < count:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * NS


def _open_ns(day: date) -> int:
    """09:30 New York on ``day``, in UTC nanoseconds."""
    return _ns(datetime(day.year, day.month, day.day, 9, 30, tzinfo=NEW_YORK))


class _Writer:
    def __init__(self, sample: PolygonSample, seed: int) -> None:
        self.sample, self.rng = sample, random.Random(seed)
        self.price = dict(START_PRICES)

    def walk(self, symbol: str) -> float:
        p = self.price[symbol] * (1 + self.rng.gauss(0, 0.0004))
        self.price[symbol] = p
        return p

    def write(
        self, dataset: str, day: date, lines: list[str], faults: list[tuple[int, str, str]]
    ) -> None:
        key = day_key(dataset, day)
        path = self.sample.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gz(dataset.rsplit("/", 1)[-1], lines))
        self.sample.files.append(path)
        self.sample.rows[dataset] = self.sample.rows.get(dataset, 0) + len(lines)
        for index, rule, kind in faults:
            self.sample.faults.append(SampleFault(key, index + 2, rule, kind))

    def trades(self, dataset: str, day: date, per_symbol: int) -> None:
        rows: list[tuple[int, str]] = []
        start = _open_ns(day)
        for symbol in SAMPLE_SYMBOLS:
            step = 390 * 60 * NS // per_symbol
            for i in range(per_symbol):
                ts = start + i * step + self.rng.randrange(step)
                size = str(self.rng.choice((100, 100, 200, 50, 10, 1)))
                cond = self.rng.choice(('"12,37"', "12", "", '"14,41"'))
                rows.append((ts, trade(symbol, f"{self.walk(symbol):.2f}", size, ts=ts, cond=cond)))
        rows.sort()
        lines = [line for _, line in rows]
        # A negative size (a broken print) and, on Wednesdays, a price that is not a number:
        # both quarantined. Fields are counted from the end (conditions may hold a comma).
        negative, unparseable = self.rng.sample(range(len(lines)), 2)
        faults = [(negative, "size.invalid", "quarantine")]
        parts = lines[negative].rsplit(",", 4)
        parts[1] = f"-{parts[1]}"
        lines[negative] = ",".join(parts)
        if day.weekday() == 2:
            parts = lines[unparseable].rsplit(",", 7)
            parts[1] = "n/a"
            lines[unparseable] = ",".join(parts)
            faults.append((unparseable, "value.unparseable", "quarantine"))
        self.write(dataset, day, lines, faults)

    def quotes(self, dataset: str, day: date, per_symbol: int) -> None:
        rows: list[tuple[int, str]] = []
        start = _open_ns(day)
        for symbol in SAMPLE_SYMBOLS:
            step = 390 * 60 * NS // per_symbol
            for i in range(per_symbol):
                ts = start + i * step + self.rng.randrange(step)
                mid = self.walk(symbol)
                half = max(0.01, round(mid * 0.0001, 2))
                rows.append((ts, quote(symbol, f"{mid - half:.2f}", f"{mid + half:.2f}", ts=ts)))
        rows.sort()
        lines = [line for _, line in rows]
        # A crossed quote (ask below bid): flagged, kept.
        bad = self.rng.randrange(len(lines))
        parts = lines[bad].split(",")
        parts[2], parts[5] = parts[5], parts[2]
        lines[bad] = ",".join(parts)
        self.write(dataset, day, lines, [(bad, "quote.crossed", "flag")])

    def bars(self, dataset: str, day: date, symbols: tuple[str, ...], minutes: int) -> None:
        lines: list[str] = []
        crypto = symbols == (SAMPLE_CRYPTO,)
        start = _ns(datetime(day.year, day.month, day.day, tzinfo=UTC)) if crypto else None
        for symbol in symbols:
            first = start if start is not None else _open_ns(day)
            for m in range(minutes):
                o = self.price[symbol]
                c = self.walk(symbol)
                h = max(o, c) * (1 + abs(self.rng.gauss(0, 0.0002)))
                low = min(o, c) * (1 - abs(self.rng.gauss(0, 0.0002)))
                vol = str(self.rng.randrange(1_000, 50_000)) if not crypto else "0.75"
                lines.append(
                    agg(symbol, round(o, 2), round(h, 2), round(low, 2), round(c, 2), vol=vol,
                        ts=first + m * 60 * NS, n=str(self.rng.randrange(5, 300)))
                )  # fmt: skip
        # One bar whose high is below its low: quarantined.
        bad = self.rng.randrange(len(lines))
        fields = lines[bad].split(",")  # ticker, volume, open, close, HIGH, low, ...
        fields[4] = f"{float(fields[5]) - 0.5:.2f}"
        lines[bad] = ",".join(fields)
        self.write(dataset, day, lines, [(bad, "ohlc.inconsistent", "quarantine")])

    def day_bars(self, dataset: str, day: date) -> None:
        midnight = _ns(datetime(day.year, day.month, day.day, tzinfo=NEW_YORK))
        lines = []
        for symbol in SAMPLE_SYMBOLS:
            o, c = self.price[symbol], self.walk(symbol)
            h, low = max(o, c) * 1.004, min(o, c) * 0.996
            vol = str(self.rng.randrange(10_000_000, 80_000_000))
            n = str(self.rng.randrange(100_000, 900_000))
            lines.append(
                agg(symbol, round(o, 2), round(h, 2), round(low, 2), round(c, 2),
                    vol=vol, ts=midnight, n=n)
            )  # fmt: skip
        self.write(dataset, day, lines, [])


SAMPLE_DATASETS = (
    "us_stocks_sip/trades_v1",
    "us_stocks_sip/quotes_v1",
    "us_stocks_sip/minute_aggs_v1",
    "us_stocks_sip/day_aggs_v1",
    "global_crypto/minute_aggs_v1",
)


def write_flat_files(
    root: Path,
    *,
    start: date = date(2024, 1, 2),
    days: int = 5,
    trades_per_symbol_day: int = 2_000,
    quotes_per_symbol_day: int = 2_000,
    crypto_minutes: int = 1_440,
    seed: int = 7,
) -> PolygonSample:
    """Write sample day files of every dataset (US stocks; BTC minute bars) under ``root``.

    Args:
        root: The folder standing for the vendor's bucket.
        start: The first day (weekends are skipped).
        days: How many weekdays.
        trades_per_symbol_day: Trades per symbol and day (AAPL, MSFT, SPY).
        quotes_per_symbol_day: Quotes per symbol and day.
        crypto_minutes: Minute bars of X:BTCUSD per (UTC) day; 0 writes no crypto file.
        seed: The random seed (the same seed writes the same bytes).

    Returns:
        The files, the days, the data lines per dataset and every injected fault.
    """
    chosen = trading_days(start, days)
    datasets = [d for d in SAMPLE_DATASETS if crypto_minutes or not d.startswith("global")]
    sample = PolygonSample(root=root, days=chosen, datasets=datasets)
    writer = _Writer(sample, seed)
    for day in chosen:
        writer.trades(SAMPLE_DATASETS[0], day, trades_per_symbol_day)
        writer.quotes(SAMPLE_DATASETS[1], day, quotes_per_symbol_day)
        writer.bars(SAMPLE_DATASETS[2], day, SAMPLE_SYMBOLS, 390)
        writer.day_bars(SAMPLE_DATASETS[3], day)
        if crypto_minutes:
            writer.bars(SAMPLE_DATASETS[4], day, (SAMPLE_CRYPTO,), crypto_minutes)
    return sample
