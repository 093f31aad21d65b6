"""Sample Yahoo-style daily CSVs with the faults real exports have, and a list of those faults.

Deterministic for a given seed: the same call writes the same bytes, so re-running a demo
lands nothing new. Each injected fault is reported with its file, line and the rule that must
catch it, so tests can prove that nothing is lost.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

HEADER = "Date,Open,High,Low,Close,Adj Close,Volume"
DEFAULT_SYMBOLS = ("AAPL", "MSFT", "IBM", "SPY", "BRK-B", "^GSPC")
SAMPLE_END = date(2023, 12, 31)
# Rough early-2019 levels, so sample charts look like the instruments they are named after.
START_PRICES = {
    "AAPL": 39.0,
    "MSFT": 101.0,
    "IBM": 114.0,
    "SPY": 250.0,
    "BRK-B": 204.0,
    "^GSPC": 2510.0,
}
# ... and rough end-2023 levels: each walk is steered to end there, so the sample joins the other
# demo sources (Polygon, JSON records from January 2024) without a jump a quant would frown at.
END_PRICES = {
    "AAPL": 192.5,
    "MSFT": 376.0,
    "IBM": 163.5,
    "SPY": 475.3,
    "BRK-B": 356.7,
    "^GSPC": 4770.0,
}


@dataclass(frozen=True)
class Fault:
    """One fault written into a sample file, and the rule that must catch it."""

    symbol: str
    line: int  # 1-based line in the file (the header is line 1)
    rule_id: str
    kind: str  # "quarantine" (ERROR rule) or "flag" (WARNING rule)
    description: str


@dataclass(frozen=True)
class SampleSet:
    """What :func:`write_daily_csvs` wrote."""

    files: list[Path]
    faults: list[Fault]
    data_lines: int  # lines other than headers, over all files


def _holidays(year: int) -> set[date]:
    return {date(year, 1, 1), date(year, 7, 4), date(year, 12, 25)}


def trading_days(start: date, end: date) -> list[date]:
    """Weekdays from ``start`` to ``end`` without New Year, Independence Day and Christmas."""
    days, day = [], start
    while day <= end:
        if day.weekday() < 5 and day not in _holidays(day.year):
            days.append(day)
        day += timedelta(days=1)
    return days


def _fmt(x: float) -> str:
    return f"{x:.6f}"


def _bars(
    rng: random.Random, days: list[date], start_price: float, end_price: float | None = None
) -> list[list[str]]:
    """A random walk of daily bars from ``start_price``; with ``end_price``, a bridge to it (the
    drift is chosen so the last close lands there; the day-to-day noise is unchanged)."""
    shocks = [
        (rng.gauss(0, 0.004), rng.gauss(0.0003, 0.018), abs(rng.gauss(0, 0.006)),
         abs(rng.gauss(0, 0.006)), rng.lognormvariate(15, 0.4))
        for _ in days
    ]  # fmt: skip
    drift = 0.0
    if end_price is not None and days:
        walked = sum(gap + ret for gap, ret, *_ in shocks)
        drift = (math.log(end_price / start_price) - walked) / len(days)
    price = start_price
    rows = []
    for i, (day, (gap, ret, up, down, volume)) in enumerate(zip(days, shocks, strict=True)):
        open_ = price * math.exp(gap)
        close = open_ * math.exp(ret + drift)
        high = max(open_, close) * (1 + up)
        low = min(open_, close) * (1 - down)
        adj = close * 0.99 ** ((len(days) - i) / 252)  # dividends fold in going back in time
        rows.append([day.isoformat(), *map(_fmt, (open_, high, low, close, adj)), str(int(volume))])
        price = close
    return rows


def _inject(
    symbol: str, rows: list[list[str]], rng: random.Random
) -> tuple[list[str], list[Fault]]:
    """Turn clean rows into file lines with faults; returns lines and faults (with line numbers)."""
    n = len(rows)
    picks = rng.sample(range(5, n - 5), 7)
    picks_set = dict(
        zip(picks, ["zero", "x100", "dup", "malformed", "hilo", "text", "negvol"], strict=True)
    )
    lines: list[tuple[str, str | None, str, str]] = []  # text, rule, kind, description
    years_with_null = set()
    for i, clean in enumerate(rows):
        row = list(clean)
        day = date.fromisoformat(row[0])
        if day.year not in years_with_null and day.month == 7 and day.day > 4:
            # Yahoo writes a `null` row for a holiday that fell on a weekday.
            holiday = date(day.year, 7, 4)
            if holiday.weekday() < 5:
                text = ",".join([holiday.isoformat()] + ["null"] * 6)
                lines.append((text, "row.null", "quarantine", "holiday row of nulls"))
            years_with_null.add(day.year)
        fault = picks_set.get(i)
        if fault == "zero":
            row = [*row[:6], "0"]
            lines.append((",".join(row), "volume.zero", "flag", "zero volume"))
        elif fault == "x100":
            row = [row[0], *(_fmt(float(v) * 100) for v in row[1:6]), row[6]]
            lines.append((",".join(row), "price.jump", "flag", "prices 100x too large"))
        elif fault == "dup":
            # The first of two lines for one date is quarantined; the last is kept.
            lines.append((",".join(row), "date.duplicate", "quarantine", "duplicated date"))
            lines.append((",".join(row), None, "", ""))
        elif fault == "malformed":
            lines.append((",".join(row[:3]), "row.malformed", "quarantine", "truncated line"))
        elif fault == "hilo":
            row = [row[0], row[1], row[3], row[2], *row[4:]]  # high and low swapped
            lines.append((",".join(row), "ohlc.inconsistent", "quarantine", "high below low"))
        elif fault == "text":
            row = [row[0], row[1], row[2], row[3], row[4].replace("0", "O", 1) + "x", *row[5:]]
            lines.append((",".join(row), "value.unparseable", "quarantine", "letter in a price"))
        elif fault == "negvol":
            row = [*row[:6], "-" + row[6]]
            lines.append((",".join(row), "volume.negative", "quarantine", "negative volume"))
        else:
            lines.append((",".join(row), None, "", ""))
    faults = [
        Fault(symbol, i + 2, rule, kind, desc)
        for i, (_, rule, kind, desc) in enumerate(lines)
        if rule is not None
    ]
    return [text for text, *_ in lines], faults


def write_daily_csvs(
    folder: Path,
    *,
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS,
    start: date = date(2019, 1, 1),
    end: date = SAMPLE_END,
    seed: int = 42,
    faults: bool = True,
) -> SampleSet:
    """Write one ``<SYMBOL>.csv`` per symbol into ``folder``.

    Args:
        folder: Where to write (created if missing).
        symbols: The symbols (file names).
        start: First calendar day.
        end: Last calendar day.
        seed: Random seed; the same seed writes the same bytes.
        faults: Inject the faults of real exports (null rows, zero volume, a price 100x off,
            a duplicated date, a malformed line, high below low, a non-numeric price, a
            negative volume). Without faults every line is a valid bar.

    Returns:
        The files, the faults with their lines and expected rules, and the count of data lines.
    """
    folder.mkdir(parents=True, exist_ok=True)
    days = trading_days(start, end)
    files, all_faults, total = [], [], 0
    for k, symbol in enumerate(symbols):
        rng = random.Random(f"{seed}:{k}:{symbol}")
        start_price = START_PRICES.get(symbol) or rng.uniform(20, 400)
        rows = _bars(rng, days, start_price, END_PRICES.get(symbol) if end == SAMPLE_END else None)
        if faults:
            lines, found = _inject(symbol, rows, rng)
            all_faults.extend(found)
        else:
            lines = [",".join(r) for r in rows]
        path = folder / f"{symbol}.csv"
        path.write_text("\n".join([HEADER, *lines]) + "\n")
        files.append(path)
        total += len(lines)
    return SampleSet(files=files, faults=all_faults, data_lines=total)
