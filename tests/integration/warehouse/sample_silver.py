"""Seeded silver bars for warehouse tests, published through the real lake writers."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa

from marketlake import schemas
from marketlake.lake.bronze import land, make_ingest_id, sha256_of
from marketlake.lake.silver import publish_ingest
from marketlake.lake.store import Lake

FIRST_DAY = date(2019, 12, 30)
LAST_DAY = date(2023, 1, 6)

# AAA is delivered twice (two CSV exports) with overlapping ranges: 2022-01 .. 2022-06.
OVERLAP = (date(2022, 1, 3), date(2022, 6, 30))


def calendar_days(first: date, last: date, *, weekends: bool) -> list[date]:
    """Every day from first to last, weekdays only unless ``weekends``."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [d for d in days if weekends or d.weekday() < 5]


def daily_bars(
    symbol: str,
    days: list[date],
    *,
    seed: int,
    source: str,
    ingest_id: str,
    open_hour_utc: int = 14,
    start_price: float = 100.0,
) -> pa.Table:
    """Random-walk daily bars (seeded) in the silver ``BARS`` schema, some volumes missing."""
    rng = random.Random(seed)
    n = len(days)
    close: list[float] = []
    open_: list[float] = []
    high: list[float] = []
    low: list[float] = []
    prev = start_price
    for _ in days:
        o = prev * (1 + rng.gauss(0, 0.005))
        c = prev * math.exp(rng.gauss(0, 0.02))
        open_.append(o)
        close.append(c)
        high.append(max(o, c) * (1 + abs(rng.gauss(0, 0.01))))
        low.append(min(o, c) * (1 - abs(rng.gauss(0, 0.01))))
        prev = c
    # Whole shares (sums are exact); about 3% of sessions report no volume.
    volume = [
        None if rng.random() < 0.03 else float(rng.randrange(100_000, 10_000_000)) for _ in days
    ]
    ts = [
        datetime(d.year, d.month, d.day, open_hour_utc, 30 if open_hour_utc else 0, tzinfo=UTC)
        for d in days
    ]
    return pa.table(
        {
            "ts_event": pa.array(ts, schemas.TS),
            "session_date": pa.array(days, pa.date32()),
            "interval": ["1d"] * n,
            "symbol": [symbol] * n,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": pa.array(volume, pa.float64()),
            "vwap": [(h + lo + c) / 3 for h, lo, c in zip(high, low, close, strict=True)],
            "trade_count": pa.array([None] * n, pa.int64()),
            "adj_close": [c * 0.99 for c in close],
            "dividend": pa.array([None] * n, pa.float64()),
            "split_factor": pa.array([None] * n, pa.float64()),
            "source": [source] * n,
            "ingest_id": [ingest_id] * n,
            "quality_flags": pa.array([None] * n, pa.string()),
        },
        schema=schemas.BARS,
    )


def minute_bars(symbol: str, day: date, *, count: int, source: str, ingest_id: str) -> pa.Table:
    """A few 1m bars of one session (they must stay out of the daily marts)."""
    start = datetime(day.year, day.month, day.day, 14, 30, tzinfo=UTC)
    price = [50.0 + i for i in range(count)]
    return pa.table(
        {
            "ts_event": pa.array([start + timedelta(minutes=i) for i in range(count)], schemas.TS),
            "session_date": pa.array([day] * count, pa.date32()),
            "interval": ["1m"] * count,
            "symbol": [symbol] * count,
            "open": price,
            "high": [p + 1 for p in price],
            "low": [p - 1 for p in price],
            "close": price,
            "volume": [10.0] * count,
            "vwap": price,
            "trade_count": pa.array([5] * count, pa.int64()),
            "adj_close": pa.array([None] * count, pa.float64()),
            "dividend": pa.array([None] * count, pa.float64()),
            "split_factor": pa.array([None] * count, pa.float64()),
            "source": [source] * count,
            "ingest_id": [ingest_id] * count,
            "quality_flags": pa.array([None] * count, pa.string()),
        },
        schema=schemas.BARS,
    )


def land_delivery(lake: Lake, *, source: str, logical_key: str, content: bytes) -> str:
    """Land a (stand-in) raw file in bronze; its manifest row records when it landed."""
    entry, _ = land(
        lake, content, source=source, logical_key=logical_key, original_name=logical_key
    )
    return entry.ingest_id


def publish(lake: Lake, rows: pa.Table) -> None:
    """Publish the silver rows of one delivery (the ingest id is in the rows)."""
    publish_ingest(
        lake,
        dataset="bars",
        source=rows["source"][0].as_py(),
        ingest_id=rows["ingest_id"][0].as_py(),
        rows=rows,
        quarantined=schemas.QUARANTINE.empty_table(),
        rows_in=rows.num_rows,
        flagged_by_rule={},
    )


def id_sorting_before(source: str, logical_key: str, other: str) -> bytes:
    """Content whose ingest id sorts before ``other`` (so an id tie-break alone would lose)."""
    for salt in range(1000):
        content = f"{logical_key} export {salt}".encode()
        if make_ingest_id(source, logical_key, sha256_of(content)) < other:
            return content
    raise AssertionError("no content found")


@dataclass(frozen=True)
class Sample:
    """Ingest ids of the sample deliveries that tests look for."""

    aaa_old: str
    aaa_new: str
    brk_march: str


def publish_sample(lake: Lake) -> Sample:
    """Four symbols over three years, with overlapping deliveries and a few minute bars.

    - AAA: two csv_daily exports overlapping in 2022-H1 with different prices and the same bar
      open times (resolved in staging); the later landing wins although its id sorts first;
    - BRK.B: csv_daily, then a polygon re-delivery of March 2021 with another bar open time
      (resolved per session in fct_daily_bars);
    - BBB: csv_daily daily bars plus polygon 1m bars of one session (kept out of daily marts);
    - X:BTCUSD: every calendar day, weekends included.

    Deliveries land in the order written here, so their ``landed_at`` increases.
    """
    weekdays = calendar_days(FIRST_DAY, LAST_DAY, weekends=False)

    def sessions(seed: int) -> list[date]:
        # Drop a few weekdays per symbol, as exchange holidays and gaps do.
        rng = random.Random(seed)
        return [d for d in weekdays if rng.random() > 0.03]

    def deliver(symbol: str, days: list[date], *, source: str, key: str, **kw: Any) -> str:
        ingest_id = land_delivery(lake, source=source, logical_key=key, content=key.encode())
        publish(lake, daily_bars(symbol, days, source=source, ingest_id=ingest_id, **kw))
        return ingest_id

    aaa = sessions(1)
    aaa_old = deliver(
        "AAA", [d for d in aaa if d <= OVERLAP[1]], source="csv_daily", key="AAA/2019.csv", seed=11
    )
    new_key = "AAA/2022.csv"
    aaa_new = land_delivery(
        lake,
        source="csv_daily",
        logical_key=new_key,
        content=id_sorting_before("csv_daily", new_key, aaa_old),
    )
    new = [d for d in aaa if d >= OVERLAP[0]]
    publish(
        lake,
        daily_bars("AAA", new, seed=12, source="csv_daily", ingest_id=aaa_new, start_price=150.0),
    )

    deliver("BBB", sessions(2), source="csv_daily", key="BBB.csv", seed=21, start_price=40.0)
    minutes_id = land_delivery(lake, source="polygon", logical_key="BBB/1m", content=b"1m")
    publish(
        lake,
        minute_bars("BBB", date(2021, 6, 1), count=30, source="polygon", ingest_id=minutes_id),
    )

    brk = sessions(3)
    deliver("BRK.B", brk, source="csv_daily", key="BRK.B.csv", seed=31, start_price=300.0)
    brk_march = deliver(
        "BRK.B",
        [d for d in brk if d.year == 2021 and d.month == 3],
        source="polygon",
        key="BRK.B/2021-03",
        seed=32,
        open_hour_utc=5,
        start_price=310.0,
    )
    deliver(
        "X:BTCUSD",
        calendar_days(FIRST_DAY, LAST_DAY, weekends=True),
        source="polygon",
        key="X:BTCUSD",
        seed=41,
        open_hour_utc=0,
        start_price=7000.0,
    )
    return Sample(aaa_old=aaa_old, aaa_new=aaa_new, brk_march=brk_march)
