"""ES-like HDF5 tick files for tests, the demo and the benchmark.

What the generated trades look like (FORMATS.md: ES futures):

- CME Globex sessions of 23 hours (17:00 to 16:00 Chicago time, Sunday evening to Friday),
  busiest around the US open (08:30 CT) and close (15:00 CT), quiet overnight;
- prices on a random walk of 0.25 ticks, each contract at its own calendar spread;
- quarterly contracts H M U Z (third Friday, last trade 08:30 CT), in a ``symbol`` column
  (``ESH0`` or ``ESH10``), volume migrating to the next contract over the ``roll_days``
  trading days before expiry;
- a few percent zero-volume trades; ``tick/trades_filter0vol`` is the same trades without them.

Files are written the way vendors' files are: pandas ``HDFStore`` table format without a
PyTables index (``index=False``: building it is 93% of write time), naive timestamps (UTC
wall time unless ``tz`` is given). pandas writes the metadata and the first rows; the rest is
appended with PyTables directly (pandas converts strings row by row, ~1 Mrows/s).
Deterministic for a seed. Faults (NaN prices, timestamps going back) are injected on request and
reported with their rows, so tests can prove each one lands in quarantine.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np

CHICAGO = ZoneInfo("America/Chicago")
MONTH_CODES = {3: "H", 6: "M", 9: "U", 12: "Z"}
TICK = 0.25
MINUTES = 23 * 60  # a Globex session: 17:00 CT to 16:00 CT the next day
NS_PER_MINUTE = 60_000_000_000
DEFAULT_KEYS = ("tick/trades", "tick/trades_filter0vol")
# ts (int64 UTC ns), price, volume (int64), contract symbol (bytes) or None
Rows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]


@dataclass(frozen=True)
class InjectedFault:
    """One fault written into a sample file, and the rule that must catch it."""

    key: str
    row: int  # 0-based row of the key
    rule_id: str


@dataclass(frozen=True)
class EsSample:
    """What :func:`write_es_h5` wrote."""

    path: Path
    rows: dict[str, int]  # rows per key
    contracts: list[str]
    zero_size: int  # zero-volume trades in the unfiltered key
    faults: list[InjectedFault] = field(default_factory=list)


def third_friday(year: int, month: int) -> date:
    """The third Friday of a month (ES expiry day)."""
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


def contract_code(root: str, expiry: date, year_digits: int) -> str:
    """``ESH0`` / ``ESH10`` for the March 2010 contract."""
    return f"{root}{MONTH_CODES[expiry.month]}{expiry.year % 10**year_digits:0{year_digits}d}"


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000


def _sessions(start: date, count: int) -> list[date]:
    days: list[date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5 and (day.month, day.day) not in ((1, 1), (12, 25)):
            days.append(day)
        day += timedelta(days=1)
    return days


def _intensity() -> np.ndarray:
    """Relative trade intensity per minute of a session (minute 0 = 17:00 CT)."""
    minute = np.arange(MINUTES)
    open_, close = (15 * 60 + 30), (22 * 60)  # 08:30 and 15:00 CT, minutes after 17:00
    rth = (minute >= open_) & (minute < close + 15)
    weight = np.where(rth, 6.0, 1.0)
    weight += np.where(minute >= open_, 25 * np.exp(-(minute - open_) / 20.0), 0)
    weight += np.where(rth, 15 * np.exp(-np.abs(close - minute) / 12.0), 0)
    weight[(minute >= 14 * 60) & (minute < open_)] *= 2.0  # Europe trades before the US open
    normalised: np.ndarray = weight / weight.sum()
    return normalised


@dataclass
class _Walk:
    """State carried from day to day: price level (ticks) and the roll's spread."""

    ticks: int
    spread: dict[str, int] = field(default_factory=dict)


def _contracts_for(day: date, root: str, year_digits: int) -> tuple[str, str, int, int]:
    """(front, next, front expiry ns, days of the front left) for a session day."""
    year, month = day.year, day.month
    month = ((month - 1) // 3 + 1) * 3
    expiry = third_friday(year, month)
    if expiry < day:
        year, month = (year + 1, 3) if month == 12 else (year, month + 3)
        expiry = third_friday(year, month)
    nyear, nmonth = (year + 1, 3) if month == 12 else (year, month + 3)
    following = third_friday(nyear, nmonth)
    expiry_ns = _ns(datetime.combine(expiry, time(8, 30), CHICAGO))
    days_left = int(np.busday_count(day, expiry))
    return (
        contract_code(root, expiry, year_digits),
        contract_code(root, following, year_digits),
        expiry_ns,
        days_left,
    )


def _day(
    day: date,
    count: int,
    *,
    rng: np.random.Generator,
    walk: _Walk,
    root: str,
    year_digits: int,
    roll_days: int,
    zero_share: float,
    move_p: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # A session is named by the day it closes: it opens at 17:00 CT the evening before (Sunday
    # evening for Monday).
    opens = _ns(datetime.combine(day - timedelta(days=1), time(17), CHICAGO))
    per_minute = rng.multinomial(count, _intensity())
    ts = np.repeat(np.arange(MINUTES, dtype=np.int64) * NS_PER_MINUTE + opens, per_minute)
    ts += rng.integers(0, NS_PER_MINUTE, count)
    ts.sort()

    front, nxt, expiry_ns, days_left = _contracts_for(day, root, year_digits)
    # Volume migrates to the next contract over the last roll_days sessions before expiry.
    share = 0.0 if days_left > roll_days else 0.1 + 0.85 * (1 - days_left / max(roll_days, 1))
    is_next = (rng.random(count) < share) | (ts >= expiry_ns)
    spread = walk.spread.setdefault(nxt, int(rng.integers(-20, 21)))

    steps = rng.choice(np.array([-1, 0, 1], np.int8), count, p=[move_p / 2, 1 - move_p, move_p / 2])
    ticks = walk.ticks + np.cumsum(steps, dtype=np.int64)
    walk.ticks = max(int(ticks[-1]), 400)  # keep far from zero on very long walks
    price = (ticks + np.where(is_next, spread, 0)) * TICK

    volume = rng.geometric(0.4, count).astype(np.int64)
    block = rng.random(count) < 0.01
    volume[block] *= rng.integers(10, 100, int(block.sum()))
    volume[rng.random(count) < zero_share] = 0
    symbol = np.where(is_next, nxt.encode(), front.encode())
    return ts, price, volume, symbol


def _blocks(
    trades: int, start: date, trades_per_day: int, seed: int, block_rows: int, **day_kw: object
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    days = _sessions(start, max(1, math.ceil(trades / trades_per_day)))
    weights = rng.gamma(20.0, size=len(days))
    counts = rng.multinomial(trades, weights / weights.sum())
    walk = _Walk(ticks=int(3200 / TICK))
    # A day's price changes ~25 points (~100 ticks) whatever the number of trades.
    move_p = float(min(0.5, 100**2 / trades_per_day))
    buffered: list[tuple[np.ndarray, ...]] = []
    size = 0
    for day, count in zip(days, counts, strict=True):
        if count:
            buffered.append(_day(day, int(count), rng=rng, walk=walk, move_p=move_p, **day_kw))  # type: ignore[arg-type]
            size += int(count)
        if size >= block_rows or (day == days[-1] and buffered):
            width = max(b[3].dtype.itemsize for b in buffered)
            yield (
                np.concatenate([b[0] for b in buffered]),
                np.concatenate([b[1] for b in buffered]),
                np.concatenate([b[2] for b in buffered]),
                np.concatenate([b[3].astype(f"S{width}") for b in buffered]),
            )
            buffered, size = [], 0


def _fault_rows(trades: int, faults: int, seed: int) -> tuple[set[int], set[int]]:
    """Rows to get a NaN price and rows to go back in time: apart, never the first row."""
    if faults <= 0 or trades < 8:
        return set(), set()
    grid = np.arange(3, trades - 1, 4)
    rows = np.random.default_rng(seed + 1).choice(grid, min(2 * faults, grid.size), replace=False)
    half = rows.size // 2
    return {int(r) for r in rows[:half]}, {int(r) for r in rows[half:]}


def _inject(
    block: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    offset: int,
    nan_rows: set[int],
    back_rows: set[int],
) -> list[tuple[int, str]]:
    ts, price, volume, symbol = block
    done: list[tuple[int, str]] = []
    for row in sorted(nan_rows | back_rows):
        i = row - offset
        if not 1 <= i < ts.size:
            continue
        volume[i] = max(volume[i], 1)  # so the row is in the filtered key too
        if row in nan_rows:
            price[i] = np.nan
            done.append((row, "value.missing"))
        else:
            # One minute before the trade before it, same contract: goes back in time.
            volume[i - 1] = max(volume[i - 1], 1)
            symbol[i], price[i] = symbol[i - 1], price[i - 1]
            ts[i] = ts[i - 1] - NS_PER_MINUTE
            done.append((row, "ts.unsorted"))
    return done


def _frame(rows: Rows, tz: str | None) -> Any:
    import pandas as pd

    ts, price, volume, symbol = rows

    index = pd.DatetimeIndex(ts.view("datetime64[ns]"))
    if tz is not None:
        index = index.tz_localize("UTC").tz_convert(tz)
    columns: dict[str, object] = {"price": price, "volume": volume}
    if symbol is not None:
        columns["symbol"] = symbol.astype("U")
    return pd.DataFrame(columns, index=index)


def _append_table(store: Any, key: str, rows: Rows, width: int, tz: str | None) -> None:
    """Append rows to a table-format key: pandas for the first rows, PyTables for the rest."""
    ts, price, volume, symbol = rows
    if not ts.size:
        return
    first = 0
    if f"/{key}" not in store:
        first = 1
        head = (ts[:1], price[:1], volume[:1], symbol[:1] if symbol is not None else None)
        sizes = {"values": width} if symbol is not None else None
        store.append(key, _frame(head, tz), format="table", index=False, min_itemsize=sizes)
    storer = store.get_storer(key)
    table = storer.table
    records = np.empty(ts.size - first, dtype=table.dtype)
    records["index"] = ts[first:]
    values = {"price": price[first:], "volume": volume[first:]}
    if symbol is not None:
        values["symbol"] = symbol[first:]
    for axis in storer.values_axes:
        for j, name in enumerate(axis.values):
            records[axis.cname][:, j] = values[name]
    table.append(records)
    table.flush()


def write_es_h5(
    path: Path | str,
    *,
    trades: int,
    start: date = date(2020, 1, 2),
    root: str = "ES",
    contracts: bool = True,
    year_digits: Literal[1, 2] = 1,
    trades_per_day: int = 350_000,
    roll_days: int = 8,
    zero_volume_share: float = 0.03,
    faults: int = 0,
    key: str = "tick/trades",
    filtered_key: str | None = "tick/trades_filter0vol",
    fmt: Literal["table", "fixed"] = "table",
    tz: str | None = None,
    seed: int = 0,
    block_rows: int = 2_000_000,
) -> EsSample:
    """Write an ES-like tick file (see the module docs) and say what is in it.

    Args:
        path: The file to write (replaced).
        trades: Trades in the unfiltered key.
        start: First session day.
        root: Contract root (``ES``).
        contracts: Write the ``symbol`` contract column.
        year_digits: Years in contract codes: 1 (``ESH0``) or 2 (``ESH10``).
        trades_per_day: Average trades per session (ES: ~350,000); sets the number of days.
        roll_days: Sessions before expiry over which volume moves to the next contract.
        zero_volume_share: Share of zero-volume trades.
        faults: NaN prices and as many timestamps going back in time to inject.
        key: The unfiltered key.
        filtered_key: A key with the same trades without zero-volume ones; None for none.
        fmt: ``table`` (streamed, any size) or ``fixed`` (built in memory: small files only).
        tz: Store times aware in this zone (pandas then stores UTC); None: naive UTC.
        seed: Random seed; the same arguments give the same trades.
        block_rows: Rows generated and written at once (bounds memory).

    Returns:
        Row counts per key, contracts, zero-volume count and the injected faults.
    """
    import pandas as pd

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    width = len(root) + 1 + year_digits
    nan_rows, back_rows = _fault_rows(trades, faults, seed)
    found: list[InjectedFault] = []
    names: set[str] = set()
    rows = {key: 0, **({filtered_key: 0} if filtered_key else {})}
    zero = 0
    kept: dict[str, list[Rows]] = {k: [] for k in rows}
    blocks = _blocks(
        trades,
        start,
        trades_per_day,
        seed,
        block_rows,
        root=root,
        year_digits=year_digits,
        roll_days=roll_days,
        zero_share=zero_volume_share,
    )
    with pd.HDFStore(path, mode="w") as store:
        for block in blocks:
            offset = rows[key]
            injected = _inject(block, offset, nan_rows, back_rows)
            ts, price, volume, symbol = block
            nonzero = volume > 0
            names.update(s.decode() for s in np.unique(symbol))
            targets: dict[str, Rows] = {key: (ts, price, volume, symbol if contracts else None)}
            if filtered_key:
                before = np.cumsum(nonzero) - 1 + rows[filtered_key]
                targets[filtered_key] = (
                    ts[nonzero],
                    price[nonzero],
                    volume[nonzero],
                    symbol[nonzero] if contracts else None,
                )
            for row, rule in injected:
                found.append(InjectedFault(key, row, rule))
                if filtered_key:
                    found.append(InjectedFault(filtered_key, int(before[row - offset]), rule))
            zero += int((~nonzero).sum())
            for name, target in targets.items():
                if fmt == "table":
                    _append_table(store, name, target, width, tz)
                else:
                    kept[name].append(target)
                rows[name] += target[0].size
    if fmt == "fixed":
        for name, parts in kept.items():
            whole: Rows = (
                np.concatenate([p[0] for p in parts]),
                np.concatenate([p[1] for p in parts]),
                np.concatenate([p[2] for p in parts]),
                np.concatenate([p[3] for p in parts if p[3] is not None]) if contracts else None,
            )
            frame = _frame(whole, tz)
            frame.to_hdf(path, key=name, format="fixed", mode="a")
    return EsSample(
        path=path,
        rows=rows,
        contracts=sorted(names) if contracts else [],
        zero_size=zero,
        faults=sorted(found, key=lambda f: (f.key, f.row)),
    )
