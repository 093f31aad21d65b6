"""Benchmark: parse + check of one Polygon trades flat file (gzip CSV), against pandas.

marketlake: ``read_flat_file`` + ``check_flat_file`` (text read, typed, every rule, canonical Arrow
rows and quarantine), rows/s.
Baseline: ``pandas.read_csv`` with dtypes (floats for price/size) + the same rules as pandas
boolean masks + ``conditions`` split per row -- what a careful hand-written loader does.
Both start from the same ``.csv.gz`` bytes in memory (no network, no lake).

    uv run python bench/bench_ingest_polygon.py [--trades 20000000] [--repeat 3]

Prints rows/s of both and the ratio; append the printed line to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import gzip
import io
import time

import numpy as np
import pandas as pd

from marketlake.sources.polygon import check_flat_file, read_flat_file

HEADER = (
    "ticker,conditions,correction,exchange,id,participant_timestamp,price,sequence_number,"
    "sip_timestamp,size,tape,trf_id,trf_timestamp"
)
T0 = 1_704_205_800_000_000_000


def make_file(trades: int, seed: int = 7) -> bytes:
    """A trades_v1 day in the vendor's format: 50 tickers, a few bad sizes."""
    rng = np.random.default_rng(seed)
    tickers = np.array([f"T{i:02d}" for i in range(49)] + ["X:BTCUSD"])[rng.integers(0, 50, trades)]
    price = np.round(100 + rng.normal(0, 1, trades).cumsum() * 0.01, 4)
    size = rng.integers(1, 500, trades).astype(float)
    size[rng.random(trades) < 0.001] = -1
    ts = T0 + np.sort(rng.integers(0, 6_5 * 3600 * 10**9 // 10, trades))
    frame = pd.DataFrame(
        {
            "ticker": tickers,
            "conditions": np.where(rng.random(trades) < 0.5, "12,37", "14"),
            "correction": 0,
            "exchange": rng.integers(1, 20, trades),
            "id": np.arange(trades),
            "participant_timestamp": ts - 100,
            "price": price,
            "sequence_number": np.arange(trades),
            "sip_timestamp": ts,
            "size": size,
            "tape": 3,
            "trf_id": "",
            "trf_timestamp": "",
        }
    )
    buf = io.StringIO()
    frame.to_csv(buf, index=False, header=HEADER.split(","))
    return gzip.compress(buf.getvalue().encode(), compresslevel=1)


def run_marketlake(data: bytes) -> int:
    parsed = read_flat_file(data, kind="trades_v1", path="bench.csv.gz")
    out = check_flat_file(
        parsed, kind="trades_v1", dataset="trades", source="polygon", ingest_id="b", price_max=1e6
    )
    return out.rows_in


def run_pandas(data: bytes) -> int:
    frame = pd.read_csv(
        io.BytesIO(data),
        compression="gzip",
        dtype={"price": "float64", "size": "float64", "ticker": "string", "conditions": "string"},
    )
    bad = (frame["price"] <= 0) | (frame["size"] < 0) | frame["price"].isna()
    good = frame[~bad].copy()
    good["conditions"] = good["conditions"].map(
        lambda c: c.split(",") if isinstance(c, str) else None
    )
    good["ts_event"] = pd.to_datetime(good["sip_timestamp"], utc=True)
    return len(good) + int(bad.sum())


def best(fn: object, data: bytes, repeat: int) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        rows = fn(data)  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=20_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = make_file(args.trades)
    ours, rows = best(run_marketlake, data, args.repeat)
    theirs, base_rows = best(run_pandas, data, args.repeat)
    assert rows == base_rows == args.trades
    print(
        f"polygon trades parse+check, {args.trades:,} rows ({len(data) / 2**20:,.1f} MiB gz): "
        f"marketlake {rows / ours / 1e6:,.2f} Mrows/s, pandas read_csv+masks "
        f"{rows / theirs / 1e6:,.2f} Mrows/s, ratio {theirs / ours:,.1f}x"
    )


if __name__ == "__main__":
    main()
