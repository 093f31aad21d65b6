"""Benchmark: continuous ES futures from silver trades, against loading the trades into pandas.

marketlake: ``make_continuous`` (DuckDB streams the silver Parquet files and aggregates them to
daily bars per contract and CMES session in one pass; then rolls, adjustment, silver writes),
cold (``recompute=True``), then another roll/adjust variant of the same trades (cached bars).
Baseline: what people write by hand -- ``pd.read_parquet`` of every trade file, sort by time,
session date from Chicago time (17:00 and later counts for the next day), ``groupby`` first /
max / min / last / sum. It holds every trade in memory, so it is run on the first
``--baseline-trades`` trades' files only and reported as trades/s, so the two rates compare.
The daily bars of both are checked equal on the subset's sessions.

    uv run python bench/bench_continuous.py [--trades 50000000] [--years 8]
                                            [--baseline-trades 5000000]

Input: synthetic ES-like trades of quarterly contracts (the next contract takes over the volume
about eight sessions before expiry), written once to bench/.data/ as silver trades partitions.
Prints trades/s of both, the ratio, and the peak resident memory of each.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from marketlake.bars.continuous_io import make_continuous
from marketlake.bars.contract_bars import aggregate_daily
from marketlake.bars.contracts import (
    SPECS,
    Contract,
    calendar_span,
    last_trade_date,
    load_sessions,
)
from marketlake.config import Settings, load_settings
from marketlake.lake import Lake, open_lake
from marketlake.schemas import TRADES

HERE = Path(__file__).parent
FIRST_YEAR = 2010


def generate(lake: Lake, trades: int, years: int, seed: int = 7) -> int:
    """Write ES-like silver trades; returns how many."""
    spec = SPECS["ES"]
    sessions = load_sessions(
        "CMES", date(FIRST_YEAR - 1, 12, 1), date(FIRST_YEAR + years + 1, 12, 31)
    )
    contracts = [
        Contract("ES", y, m)
        for y in range(FIRST_YEAR, FIRST_YEAR + years + 1)
        for m in (3, 6, 9, 12)
    ]
    last = np.array([last_trade_date(c, spec, sessions) for c in contracts], dtype="datetime64[D]")
    in_range = (sessions.dates >= np.datetime64(f"{FIRST_YEAR}-01-01")) & (
        sessions.dates < np.datetime64(f"{FIRST_YEAR + years}-01-01")
    )
    days, opens, closes = (
        sessions.dates[in_range],
        sessions.opens[in_range],
        sessions.closes[in_range],
    )
    rng = np.random.default_rng(seed)
    chunk = 5_000_000
    written = 0
    for start in range(0, trades, chunk):
        n = min(chunk, trades - start)
        # trades spread evenly over sessions, in order: chunk k covers its share of the sessions
        s = np.sort(rng.integers(len(days) * start // trades, len(days) * (start + n) // trades, n))
        ts = opens[s] + (rng.random(n) * (closes[s] - opens[s])).astype(np.int64)
        front = np.searchsorted(last, days[s])  # first contract whose last day >= session
        to_expiry = (last[front] - days[s]).astype(np.int64)
        take_next = rng.random(n) < np.where(to_expiry <= 11, 0.8, 0.05)
        which = front + take_next
        walk = np.cumsum(rng.integers(-1, 2, n), dtype=np.float64)
        price = 1000.0 + 0.25 * walk + 5.0 * take_next
        size = rng.integers(1, 11, n).astype(np.float64)
        frame = pl.DataFrame(
            {
                "ts_event": pl.Series(ts.astype("datetime64[ns]")).dt.replace_time_zone("UTC"),
                "symbol": np.array([c.code for c in contracts])[which],
                "price": price,
                "size": size,
                "source": "hdf5:tick/trades",
                "ingest_id": f"bench{start // chunk:04d}",
            }
        )
        table = frame.to_arrow()
        for field in TRADES:
            if field.name not in table.column_names:
                table = table.append_column(field, pa.nulls(n, field.type))
        table = table.select(TRADES.names).cast(TRADES)
        keyed = frame.with_columns(pl.col("ts_event").dt.year().alias("year")).with_row_index()
        for (symbol, year), part in keyed.partition_by("symbol", "year", as_dict=True).items():
            rows = table.take(part["index"].to_numpy())
            key = f"silver/trades/symbol={symbol}/year={year}/bench{start // chunk:04d}.parquet"
            lake.write_parquet(key, rows)
        written += n
    return written


def baseline(files: list[str]) -> tuple[pd.DataFrame, int]:
    """The hand-written way: everything into pandas, Chicago-time sessions, groupby."""
    trades = pd.concat(
        [pd.read_parquet(f, columns=["ts_event", "symbol", "price", "size"]) for f in files]
    )
    trades = trades.sort_values("ts_event", kind="stable")
    local = trades["ts_event"].dt.tz_convert("America/Chicago")
    day = local.dt.normalize().dt.tz_localize(None)
    trades["session_date"] = day + pd.to_timedelta((local.dt.hour >= 17).astype(int), "D")
    daily = trades.groupby(["symbol", "session_date"]).agg(
        open=("price", "first"),
        high=("price", "max"),
        low=("price", "min"),
        close=("price", "last"),
        volume=("size", "sum"),
    )
    return daily, len(trades)


def check(lake: Lake, settings: Settings, files: list[str], expected: pd.DataFrame) -> None:
    """marketlake's daily bars of the baseline's files equal the baseline's."""
    keys = [f.split("/lake/", 1)[1] for f in files]
    years = sorted({int(k.split("/")[3].removeprefix("year=")) for k in keys})
    sessions = load_sessions("CMES", *calendar_span(years[0], years[-1]))
    columns = ["open", "high", "low", "close", "volume"]
    ours = aggregate_daily(lake, keys, sessions, settings).to_pandas()
    ours["session_date"] = ours["session_date"].astype("datetime64[ns]")
    ours = ours.set_index(["symbol", "session_date"]).sort_index()[columns]
    theirs = expected.reset_index()
    theirs["session_date"] = theirs["session_date"].astype("datetime64[ns]")
    theirs = theirs.set_index(["symbol", "session_date"]).sort_index()[columns]
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)
    print(f"check: daily bars equal to the baseline's on {len(ours):,} contract sessions")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=50_000_000)
    parser.add_argument("--years", type=int, default=8)
    parser.add_argument("--baseline-trades", type=int, default=5_000_000)
    args = parser.parse_args()

    data_dir = HERE / ".data" / f"continuous_{args.trades}x{args.years}"
    settings = load_settings(data_dir=data_dir)
    lake = open_lake(settings)
    if not lake.glob("silver/trades/*/*/*.parquet"):
        print(f"generating {args.trades:,} trades over {args.years} years into {data_dir} ...")
        generate(lake, args.trades, args.years)
    shutil.rmtree(data_dir / "lake" / "silver" / "_derived", ignore_errors=True)

    start = time.perf_counter()
    report = make_continuous(settings, "ES", roll="volume", adjust="difference", recompute=True)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    make_continuous(settings, "ES", roll="days:8", adjust="ratio")
    warm = time.perf_counter() - start
    ours_peak = peak_mb()
    rate = report.trades_in / cold
    print(
        f"marketlake continuous ES: {report.trades_in:,} trades -> {report.sessions:,} sessions, "
        f"{report.rolls.num_rows} rolls in {cold:.2f} s = {rate:,.0f} trades/s; another variant "
        f"(cached daily bars) {warm:.2f} s; peak RSS {ours_peak:,.0f} MB"
    )

    # the baseline reads whole files until it has --baseline-trades trades
    files, held = [], 0
    for key in lake.glob("silver/trades/*/*/*.parquet"):
        files.append(lake.url(key))
        held += pq.ParquetFile(files[-1]).metadata.num_rows
        if held >= args.baseline_trades:
            break
    start = time.perf_counter()
    daily, n = baseline(files)
    base_seconds = time.perf_counter() - start
    base_rate = n / base_seconds
    check(lake, settings, files, daily)
    print(
        f"baseline pandas read_parquet + groupby: {n:,} trades in {base_seconds:.2f} s = "
        f"{base_rate:,.0f} trades/s; peak RSS (process, after both) {peak_mb():,.0f} MB"
    )
    print(f"ratio: {rate / base_rate:.1f}x")


if __name__ == "__main__":
    main()
