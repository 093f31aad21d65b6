"""Small synthetic bars_info and continuous-futures data for the analytics tests.

Trades follow a random walk with a trading activity that changes from week to week, so that
time bars have a steady weekly count and tick/volume/dollar bars do not. Bars are formed here
with the plain >= threshold rule (the trade that crosses stays in the bar, nothing carried), so
the tests do not depend on the bars package.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import numpy as np
import polars as pl
import pyarrow as pa

from marketlake import schemas
from marketlake.lake.store import Lake

SESSION_START_UTC = timedelta(hours=14, minutes=30)
SESSION_SECONDS = 6.5 * 3600
NS = 1_000_000_000


def trades(*, start: date, weeks: int, per_day: int, seed: int) -> pl.DataFrame:
    """Weekday trades (ts ns, price, size) whose activity varies by week (seeded)."""
    rng = np.random.default_rng(seed)
    ts: list[np.ndarray] = []
    for week in range(weeks):
        activity = rng.lognormal(0.0, 0.5)
        for day in range(5):
            d = start + timedelta(days=7 * week + day)
            open_ns = int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()) * NS
            open_ns += int(SESSION_START_UTC.total_seconds()) * NS
            n = max(1, int(per_day * activity))
            ts.append(np.sort(open_ns + rng.integers(0, int(SESSION_SECONDS * NS), n)))
    stamps = np.concatenate(ts)
    # Fat-tailed trade-to-trade returns (Student t, 3 degrees of freedom).
    price = 4000.0 * np.exp(np.cumsum(rng.standard_t(3, len(stamps)) * 2e-4))
    size = rng.integers(1, 20, len(stamps)).astype(float)
    return pl.DataFrame({"ts": stamps, "price": price, "size": size})


def _bar_ids(measure: np.ndarray, threshold: float) -> tuple[np.ndarray, bool]:
    """Bar number of each trade: a bar closes at the first trade where its sum reaches >=."""
    ids = np.empty(len(measure), dtype=np.int64)
    bar, running = 0, 0.0
    for i, m in enumerate(measure):
        ids[i] = bar
        running += m
        if running >= threshold:
            bar, running = bar + 1, 0.0
    return ids, running == 0.0  # the last bar is complete when it closed on the last trade


def bars_info(
    frame: pl.DataFrame, *, symbol: str, kind: str, threshold: float, source: str = "test"
) -> pl.DataFrame:
    """Bars of one series from ``trades`` output, with the silver ``bars_info`` columns."""
    if kind == "time":
        ids = frame["ts"].to_numpy() // int(threshold * NS)
        last_complete = False
    else:
        measure = {
            "tick": np.ones(frame.height),
            "volume": frame["size"].to_numpy(),
            "dollar": (frame["price"] * frame["size"]).to_numpy(),
        }[kind]
        ids, last_complete = _bar_ids(measure, threshold)
    bars = (
        frame.with_columns(bar=pl.Series(ids))
        .group_by("bar", maintain_order=True)
        .agg(
            ts_start=pl.col("ts").first(),
            ts_end=pl.col("ts").last(),
            open=pl.col("price").first(),
            high=pl.col("price").max(),
            low=pl.col("price").min(),
            close=pl.col("price").last(),
            volume=pl.col("size").sum(),
            dollar_value=(pl.col("price") * pl.col("size")).sum(),
            tick_count=pl.len().cast(pl.Int64),
        )
        .drop("bar")
    )
    complete = [True] * (bars.height - 1) + [last_complete]
    return bars.with_columns(
        pl.col("ts_start", "ts_end").cast(pl.Datetime("ns", "UTC")),
        symbol=pl.lit(symbol),
        kind=pl.lit(kind),
        threshold=pl.lit(float(threshold)),
        vwap=pl.col("dollar_value") / pl.col("volume"),
        complete=pl.Series(complete, dtype=pl.Boolean),
        bar_threshold=pl.lit(None if kind == "time" else float(threshold), pl.Float64),
        source=pl.lit(source),
    ).select(schemas.BARS_INFO.names)


SERIES = (("time", 3600.0), ("tick", 150.0), ("volume", 1500.0), ("dollar", 6_000_000.0))


def sample_bars_info(
    symbol: str = "ES", *, start: date = date(2020, 12, 7), weeks: int = 12, seed: int = 7
) -> pl.DataFrame:
    """Time, tick, volume and dollar bars of one symbol (a few thousand bars in all)."""
    frame = trades(start=start, weeks=weeks, per_day=600, seed=seed)
    return pl.concat([bars_info(frame, symbol=symbol, kind=k, threshold=t) for k, t in SERIES])


def write_bars_info(lake: Lake, bars: pl.DataFrame, *, run_key: str = "run0") -> list[str]:
    """Write bars as silver does: silver/bars_info/symbol=<S>/year=<Y>/<run_key>.parquet."""
    keys = []
    framed = bars.with_columns(year=pl.col("ts_end").dt.year())
    for (symbol, year), part in framed.partition_by(["symbol", "year"], as_dict=True).items():
        key = f"silver/bars_info/symbol={quote(str(symbol), safe='')}/year={year}/{run_key}.parquet"
        lake.write_parquet(key, part.drop("year").to_arrow())
        keys.append(key)
    return keys


def continuous(
    root: str = "ES", *, start: date = date(2020, 12, 1), days: int = 150
) -> tuple[pa.Table, pa.Table]:
    """A back-adjusted continuous series and its rolls: (daily rows, roll rows) as Arrow."""
    rng = np.random.default_rng(3)
    sessions = [start + timedelta(days=i) for i in range(days)]
    sessions = [d for d in sessions if d.weekday() < 5]
    rolls = [
        (date(2020, 12, 11), f"{root}Z0", f"{root}H1"),
        (date(2021, 3, 12), f"{root}H1", f"{root}M1"),
    ]
    contract = []
    for d in sessions:
        contract.append(
            f"{root}Z0" if d < rolls[0][0] else f"{root}H1" if d < rolls[1][0] else f"{root}M1"
        )
    raw = 3600.0 * np.exp(np.cumsum(rng.normal(0, 0.01, len(sessions))))
    gaps = [5.0, -3.0]
    adjusted = raw.copy()
    for (roll_date, _, _), gap in zip(rolls, gaps, strict=True):
        before = np.array([d < roll_date for d in sessions])
        adjusted[before] += gap
    daily = pa.table(
        {
            "session_date": pa.array(sessions, pa.date32()),
            "symbol": [root] * len(sessions),
            "contract": contract,
            "open": adjusted,
            "high": adjusted * 1.005,
            "low": adjusted * 0.995,
            "close": adjusted,
            "raw_close": raw,
            "volume": [1000.0] * len(sessions),
            "adjustment": ["difference"] * len(sessions),
            "roll_rule": ["volume"] * len(sessions),
            "source": ["test"] * len(sessions),
        }
    )
    roll_rows = pa.table(
        {
            "roll_date": pa.array([r[0] for r in rolls], pa.date32()),
            "symbol": [root, root],
            "from_contract": [r[1] for r in rolls],
            "to_contract": [r[2] for r in rolls],
            "gap": gaps,
            "ratio": [1.001, 0.999],
            "trigger": ["crossover", "crossover"],
            "rule": ["volume", "volume"],
            "source": ["test", "test"],
        }
    )
    return daily, roll_rows


def write_continuous(lake: Lake, root: str = "ES") -> None:
    """Write the sample continuous series and its rolls into silver."""
    daily, roll_rows = continuous(root)
    lake.write_parquet(f"silver/continuous/symbol={root}/year=2021/run0.parquet", daily)
    lake.write_parquet(f"silver/continuous_rolls/symbol={root}/run0.parquet", roll_rows)
