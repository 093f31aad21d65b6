"""Benchmark: the backtest loader against reading the vendor's day files with pandas.

marketlake: ``read_bars(symbol, start, end)`` of one symbol-year of minute bars from silver,
cold (not in the loader cache; files in the OS page cache) and warm (a cache hit); and a cold
``read_trades(None, day, day)`` of one day of all-ticker trades.
Baseline: ``pandas.read_csv`` of the Polygon flat files that hold the same data (gzipped,
one file per day, all tickers: minute_aggs ``ticker,volume,open,close,high,low,window_start,
transactions``; trades_v1), filtered to the symbol -- what a backtest does without a lake.

    uv run python bench/bench_loader.py [--days 252] [--minutes 390] [--other-tickers 0]
        [--trade-tickers 200] [--trades-per-ticker 2000] [--repeat 5]

Silver is written per day (one ingest per day file, as Polygon delivers); by default
``compact`` then writes the served copy (one file per partition) the loader reads; with
``--no-compact`` the cold read opens one small file per trading day.
Prints seconds and ratios; append the RESULT lines to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import gzip
import io
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

import marketlake
from marketlake.config import Settings, load_settings
from marketlake.lake import open_lake
from marketlake.lake.silver import publish_ingest
from marketlake.schemas import BARS, QUARANTINE, TRADES

SYMBOL = "AAPL"
YEAR = 2024


def trading_days(n: int) -> list[date]:
    days, day = [], date(YEAR, 1, 2)
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def minute_frame(day: date, ticker: str, minutes: int, rng: np.random.Generator) -> pd.DataFrame:
    start = int(datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC).timestamp()) * 10**9
    close = 180 + np.cumsum(rng.normal(0, 0.05, minutes))
    spread = np.abs(rng.normal(0, 0.03, minutes))
    return pd.DataFrame(
        {
            "ticker": ticker,
            "volume": rng.integers(100, 50_000, minutes).astype(float),
            "open": close - rng.normal(0, 0.02, minutes),
            "close": close,
            "high": close + spread,
            "low": close - spread,
            "window_start": start + np.arange(minutes, dtype=np.int64) * 60 * 10**9,
            "transactions": rng.integers(1, 500, minutes),
        }
    )


def write_gz_csv(path: Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    path.write_bytes(gzip.compress(buffer.getvalue().encode(), compresslevel=6))


def silver_bars(frame: pd.DataFrame, day: date, ingest_id: str) -> pa.Table:
    n = len(frame)
    return pa.table(
        {
            "ts_event": pa.array(frame["window_start"].to_numpy(), pa.int64()).cast(BARS[0].type),
            "session_date": pa.array([day] * n, pa.date32()),
            "interval": ["1m"] * n,
            "symbol": frame["ticker"].tolist(),
            "open": frame["open"],
            "high": frame["high"],
            "low": frame["low"],
            "close": frame["close"],
            "volume": frame["volume"],
            "vwap": frame["close"],
            "trade_count": frame["transactions"],
            "adj_close": pa.nulls(n, pa.float64()),
            "dividend": pa.nulls(n, pa.float64()),
            "split_factor": pa.nulls(n, pa.float64()),
            "source": ["polygon"] * n,
            "ingest_id": [ingest_id] * n,
            "quality_flags": pa.nulls(n, pa.string()),
        }
    ).cast(BARS)


def publish(settings: Settings, dataset: str, ingest_id: str, table: pa.Table) -> None:
    publish_ingest(
        open_lake(settings),
        dataset=dataset,
        source="polygon",
        ingest_id=ingest_id,
        rows=table,
        quarantined=QUARANTINE.empty_table(),
        rows_in=table.num_rows,
        flagged_by_rule={},
    )


def make_bars(root: Path, settings: Settings, args: argparse.Namespace) -> list[Path]:
    rng = np.random.default_rng(5)
    files = []
    for i, day in enumerate(trading_days(args.days)):
        tickers = [SYMBOL] + [f"T{j:04d}" for j in range(args.other_tickers)]
        frame = pd.concat([minute_frame(day, t, args.minutes, rng) for t in tickers])
        path = root / "minute_aggs_v1" / f"{day:%Y/%m}" / f"{day}.csv.gz"
        write_gz_csv(path, frame)
        files.append(path)
        publish(settings, "bars", f"bars{i:06d}", silver_bars(frame, day, f"bars{i:06d}"))
    return files


def make_trades(root: Path, settings: Settings, args: argparse.Namespace) -> Path:
    rng = np.random.default_rng(6)
    n = args.trade_tickers * args.trades_per_ticker
    start = int(datetime(YEAR, 3, 1, 14, 30, tzinfo=UTC).timestamp()) * 10**9
    ts = start + np.sort(rng.integers(0, 6 * 3600 * 10**9, n))
    tickers = np.array([f"T{j:04d}" for j in range(args.trade_tickers)])[
        rng.integers(0, args.trade_tickers, n)
    ]
    price = 50 + rng.random(n) * 100
    size = rng.integers(1, 500, n).astype(float)
    csv = pd.DataFrame(
        {
            "ticker": tickers,
            "conditions": "12,37",
            "correction": 0,
            "exchange": rng.integers(1, 20, n),
            "id": np.arange(n),
            "participant_timestamp": ts - 1000,
            "price": price,
            "sequence_number": np.arange(n),
            "sip_timestamp": ts,
            "size": size,
            "tape": 1,
            "trf_id": "",
            "trf_timestamp": "",
        }
    )
    path = root / "trades_v1" / f"{YEAR}/03/{YEAR}-03-01.csv.gz"
    write_gz_csv(path, csv)
    table = pa.table(
        {
            "ts_event": pa.array(ts, pa.int64()).cast(TRADES[0].type),
            "symbol": tickers,
            "price": price,
            "size": size,
            "exchange": csv["exchange"].astype(str),
            "conditions": pa.array([["12", "37"]] * n, pa.list_(pa.string())),
            "trade_id": csv["id"].astype(str),
            "sequence": csv["sequence_number"],
            "source": ["polygon"] * n,
            "ingest_id": ["trades0"] * n,
            "quality_flags": pa.nulls(n, pa.string()),
        }
    ).cast(TRADES)
    publish(settings, "trades", "trades0", table)
    return path


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=252)
    parser.add_argument("--minutes", type=int, default=390)
    parser.add_argument("--other-tickers", type=int, default=0)
    parser.add_argument("--trade-tickers", type=int, default=200)
    parser.add_argument("--trades-per-ticker", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--compact",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Run `marketlake compact` first (one served file per partition); --no-compact "
        "reads the one-file-per-day silver as ingest left it.",
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="marketlake-bench-loader-"))
    try:
        settings = load_settings(data_dir=root / "data")
        bar_files = make_bars(root / "polygon", settings, args)
        trade_file = make_trades(root / "polygon", settings, args)
        if args.compact:
            from marketlake.lake.compact import compact

            report = compact(open_lake(settings))
            print(f"compact: {report.served} served copies written")
        days = trading_days(args.days)

        def baseline_bars() -> pd.DataFrame:
            frames = [pd.read_csv(f) for f in bar_files]
            frame = pd.concat(frames, ignore_index=True)
            return frame[frame["ticker"] == SYMBOL]

        def cold_bars() -> object:
            marketlake.cache_clear()
            return marketlake.read_bars(SYMBOL, days[0], days[-1], settings=settings)

        def warm_bars() -> object:
            return marketlake.read_bars(SYMBOL, days[0], days[-1], settings=settings)

        def baseline_trades() -> pd.DataFrame:
            return pd.read_csv(trade_file)

        def cold_trades() -> object:
            marketlake.cache_clear()
            return marketlake.read_trades(None, "2024-03-01", "2024-03-01", settings=settings)

        b_s, base = timed(baseline_bars, max(1, args.repeat // 2))
        c_s, cold = timed(cold_bars, args.repeat)
        cold_bars()
        w_s, warm = timed(warm_bars, args.repeat * 20)
        assert len(base) == len(cold) == len(warm), (len(base), len(cold), len(warm))  # type: ignore[arg-type]
        rows = len(base)  # type: ignore[arg-type]
        print(f"bars: {rows:,} rows of {SYMBOL} in {len(bar_files)} day files")
        print(f"baseline pandas read_csv of the day files: {b_s * 1e3:.1f} ms")
        print(
            f"marketlake read_bars cold: {c_s * 1e3:.2f} ms, warm (cache hit): {w_s * 1e3:.3f} ms"
        )
        print(
            f"RESULT loader bars {args.days}d x {args.minutes}m"
            f"{'' if args.compact else ' (not compacted)'}: cold {b_s / c_s:.1f}x, "
            f"warm {b_s / w_s:.0f}x baseline pandas.read_csv ({b_s * 1e3:.1f} ms)"
        )

        tb_s, tbase = timed(baseline_trades, max(1, args.repeat // 2))
        tc_s, tcold = timed(cold_trades, args.repeat)
        assert len(tbase) == len(tcold)  # type: ignore[arg-type]
        print(
            f"RESULT loader trades 1 day x {args.trade_tickers} tickers ({len(tbase):,} rows): "  # type: ignore[arg-type]
            f"cold {tc_s * 1e3:.1f} ms = {tb_s / tc_s:.1f}x baseline pandas.read_csv "
            f"({tb_s * 1e3:.1f} ms)"
        )
        print(f"cache: {marketlake.cache_info()}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
