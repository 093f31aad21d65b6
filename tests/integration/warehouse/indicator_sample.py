"""Silver daily bars for the indicator marts: a random walk, a short series and a quiet series
with planted anomalies, published through the real lake writers."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pyarrow as pa

from marketlake import schemas
from marketlake.lake.store import Lake

from .sample_silver import calendar_days, daily_bars, land_delivery, minute_bars, publish

DAYS = calendar_days(date(2021, 1, 4), date(2022, 6, 30), weekends=False)  # 390 sessions
WALK = "RWALK"
SHORT = "NEW"
QUIET = "QUIET"
# RWALK is re-delivered for these sessions, later and with another bar open time: it wins.
REDELIVERED = (date(2021, 6, 1), date(2021, 6, 30))


@dataclass(frozen=True)
class Planted:
    """Where the anomalies of QUIET are, as (session date, rule id) pairs."""

    events: set[tuple[date, str]]
    return_z: float  # the planted return's z-score against the 20 returns before it


def bars_table(
    symbol: str,
    days: list[date],
    *,
    open_: list[float],
    close: list[float],
    volume: list[float | None],
    source: str,
    ingest_id: str,
) -> pa.Table:
    """Daily bars of given prices in the silver ``BARS`` schema (high/low hug open and close)."""
    n = len(days)
    high = [max(o, c) * 1.001 for o, c in zip(open_, close, strict=True)]
    low = [min(o, c) * 0.999 for o, c in zip(open_, close, strict=True)]
    return pa.table(
        {
            "ts_event": pa.array(
                [datetime(d.year, d.month, d.day, 14, 30, tzinfo=UTC) for d in days], schemas.TS
            ),
            "session_date": pa.array(days, pa.date32()),
            "interval": ["1d"] * n,
            "symbol": [symbol] * n,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": pa.array(volume, pa.float64()),
            "vwap": close,
            "trade_count": pa.array([None] * n, pa.int64()),
            "adj_close": pa.array([None] * n, pa.float64()),
            "dividend": pa.array([None] * n, pa.float64()),
            "split_factor": pa.array([None] * n, pa.float64()),
            "source": [source] * n,
            "ingest_id": [ingest_id] * n,
            "quality_flags": pa.array([None] * n, pa.string()),
        },
        schema=schemas.BARS,
    )


def quiet_series(n: int) -> tuple[list[float], list[float], list[float | None], Planted]:
    """Opens, closes and volumes of a quiet series with four planted anomalies.

    Returns alternate around +-1% (never 0, so no close repeats), opens sit 0.2% from the
    previous close and volumes within 10% of 1M, so no rule comes near its threshold; then:
    a return 10 standard deviations above the mean of the 20 before it (session 60), 10x the
    average volume (session 90), an open 15% above the previous close (session 120) and six
    unchanged closes (sessions 150-155, firing on the fifth and sixth).
    """
    returns = [(1 if i % 2 else -1) * 0.01 * (1 + 0.1 * math.sin(i)) for i in range(n)]
    window = returns[40:60]
    returns[60] = statistics.mean(window) + 10 * statistics.stdev(window)
    for i in range(150, 156):
        returns[i] = 0.0
    close = [100.0]
    for r in returns[1:]:
        close.append(close[-1] if r == 0 else close[-1] * (1 + r))
    open_ = [100.0] + [close[i - 1] * (1 + 0.002 * math.cos(i)) for i in range(1, n)]
    open_[120] = close[119] * 1.15
    volume: list[float | None] = [1e6 * (1 + 0.1 * math.sin(1.7 * i)) for i in range(n)]
    previous = [v for v in volume[70:90] if v is not None]
    volume[90] = 10 * statistics.mean(previous)
    days = DAYS[:n]
    events = {
        (days[60], "return_zscore"),
        (days[90], "volume_spike"),
        (days[120], "gap"),
        (days[154], "stale_price"),
        (days[155], "stale_price"),
    }
    return open_, close, volume, Planted(events=events, return_z=10.0)


def publish_indicator_sample(lake: Lake) -> Planted:
    """RWALK (390 sessions, some volumes missing, June 2021 re-delivered, a few 1m bars),
    NEW (10 sessions: every window stays empty) and QUIET (200 sessions, planted anomalies)."""

    def deliver(key: str, source: str = "csv_daily") -> str:
        return land_delivery(lake, source=source, logical_key=key, content=key.encode())

    first = deliver("RWALK.csv")
    publish(lake, daily_bars(WALK, DAYS, seed=7, source="csv_daily", ingest_id=first))
    june = [d for d in DAYS if REDELIVERED[0] <= d <= REDELIVERED[1]]
    again = deliver("RWALK/2021-06", source="polygon")
    publish(
        lake,
        daily_bars(
            WALK, june, seed=8, source="polygon", ingest_id=again, open_hour_utc=5, start_price=90.0
        ),
    )
    minutes = deliver("RWALK/1m", source="polygon")
    publish(lake, minute_bars(WALK, DAYS[5], count=20, source="polygon", ingest_id=minutes))

    short = deliver("NEW.csv")
    publish(lake, daily_bars(SHORT, DAYS[:10], seed=9, source="csv_daily", ingest_id=short))

    open_, close, volume, planted = quiet_series(200)
    quiet = deliver("QUIET.csv")
    publish(
        lake,
        bars_table(
            QUIET,
            DAYS[:200],
            open_=open_,
            close=close,
            volume=volume,
            source="csv_daily",
            ingest_id=quiet,
        ),
    )
    return planted
