"""Benchmark: ingest of one Polygon day file (gzip CSV) into silver, against pandas.

marketlake: ``ingest_polygon`` from a local folder (``sources.polygon.uri``) into a fresh lake:
land in bronze, parse, every rule, canonical rows partitioned by symbol/year as Parquet, quarantine,
record. Files above ``--stream-mib`` are streamed (temporary file, chunks of ``--chunk-rows``).
Baseline: ``pandas.read_csv`` of the same file (floats for price/size) + ``to_parquet`` of the
whole frame -- what a hand-written loader does, with no checks and no partitioning.
Each side runs in its own process, so its peak RSS (``VmHWM``) is its own.

    uv run python bench/bench_ingest_polygon.py --rows 20000000 [--kind trades|quotes|minute_aggs]

Prints rows/s of both, the ratio and both peak RSS; append the printed line to bench/RESULTS.md.
The day file is generated once per row count (in blocks, bounded memory) under ``--work``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

HEADERS = {
    "trades": "ticker,conditions,correction,exchange,id,participant_timestamp,price,"
    "sequence_number,sip_timestamp,size,tape,trf_id,trf_timestamp",
    "quotes": "ticker,ask_exchange,ask_price,ask_size,bid_exchange,bid_price,bid_size,"
    "conditions,indicators,participant_timestamp,sequence_number,sip_timestamp,tape,"
    "trf_timestamp",
    "minute_aggs": "ticker,volume,open,close,high,low,window_start,transactions",
}
# pandas dtypes of the baseline: sizes and volumes as float (FORMATS.md), text as string
PANDAS_DTYPES = {
    "trades": {"price": "float64", "size": "float64", "ticker": "string", "conditions": "string"},
    "quotes": {"ask_price": "float64", "ask_size": "float64", "bid_price": "float64",
               "bid_size": "float64", "ticker": "string", "conditions": "string"},
    "minute_aggs": {"volume": "float64", "open": "float64", "close": "float64",
                    "high": "float64", "low": "float64", "ticker": "string"},
}  # fmt: skip
T0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30 UTC
DAY = date(2024, 1, 2)
BLOCK = 1_000_000


def key_of(kind: str) -> str:
    """The day file's key in the vendor's layout."""
    return f"us_stocks_sip/{kind}_v1/2024/01/2024-01-02.csv.gz"


def _columns(kind: str, rng: np.random.Generator, *, done: int, n: int, ticker: np.ndarray,
             names: np.ndarray, ts: np.ndarray) -> list[np.ndarray]:  # fmt: skip
    seq = (done + np.arange(n)).astype(str)
    price = np.round(100 + rng.normal(0, 1, n), 2)
    if kind == "quotes":
        ask = price + 0.01
        ask_size = rng.integers(1, 50, n).astype(float)
        ask_size[rng.random(n) < 0.0001] = -1
        return [
            names[ticker], rng.integers(1, 20, n).astype(str), ask.round(2).astype(str),
            ask_size.astype(str), rng.integers(1, 20, n).astype(str), price.astype(str),
            rng.integers(1, 50, n).astype(float).astype(str),
            np.array(["1", "", "1"])[rng.integers(0, 3, n)], np.full(n, ""),
            (ts - 100).astype(str), seq, ts.astype(str), np.full(n, "3"), np.full(n, ""),
        ]  # fmt: skip
    if kind == "minute_aggs":
        close = np.round(price + rng.normal(0, 0.1, n), 2)
        high = np.maximum(price, close) + 0.01
        low = np.minimum(price, close) - 0.01
        low[rng.random(n) < 0.0001] = 1e9  # ohlc.inconsistent
        return [
            names[ticker], rng.integers(0, 10_000, n).astype(float).astype(str),
            price.astype(str), close.astype(str), high.round(2).astype(str),
            low.round(2).astype(str), ts.astype(str), rng.integers(1, 100, n).astype(str),
        ]  # fmt: skip
    conds = np.array(['"12,37"', "14", "", '"14,41"'])
    size = rng.integers(1, 500, n).astype(float)
    size[rng.random(n) < 0.0001] = -1
    return [
        names[ticker], conds[rng.integers(0, len(conds), n)], np.full(n, "0"),
        rng.integers(1, 20, n).astype(str), seq, (ts - 100).astype(str), price.astype(str), seq,
        ts.astype(str), size.astype(str), np.full(n, "3"), np.full(n, ""), np.full(n, ""),
    ]  # fmt: skip


def make_file(path: Path, rows: int, kind: str = "trades", seed: int = 7) -> None:
    """A day in the vendor's format and order: 500 tickers + BTC, a few bad rows."""
    rng = np.random.default_rng(seed)
    names = np.array([f"T{i:03d}" for i in range(500)] + ["X:BTCUSD"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt", compresslevel=6, newline="") as out:
        out.write(HEADERS[kind] + "\n")
        done = 0
        while done < rows:
            n = min(BLOCK, rows - done)
            # Sorted by ticker, then time, as the vendor writes a day.
            row = done + np.arange(n)
            ticker = row * len(names) // rows
            first = -(-ticker * rows // len(names))  # the first row of each row's ticker
            per_ticker = rows // len(names) + 1
            step = 60 * 10**9 if kind == "minute_aggs" else 23_400 * 10**9 // per_ticker
            ts = T0 + (row - first) * step
            cols = _columns(kind, rng, done=done, n=n, ticker=ticker, names=names, ts=ts)
            lines = cols[0].astype(object)
            for col in cols[1:]:
                lines = lines + "," + col.astype(object)
            out.write("\n".join(lines.tolist()) + "\n")
            done += n
    tmp.replace(path)


def run_marketlake(
    folder: Path, work: Path, stream_mib: int, chunk_rows: int, *, kind: str = "trades",
    compression: str = "zstd",
) -> int:  # fmt: skip
    from marketlake.config import load_settings
    from marketlake.ingest_polygon import ingest_polygon, with_source_dir

    polygon = {"stream_threshold_mib": stream_mib, "chunk_rows": chunk_rows}
    settings = load_settings(
        data_dir=work, sources={"polygon": {**polygon, "compression": compression}}
    )
    report = ingest_polygon(
        f"us_stocks_sip/{kind}_v1", DAY, DAY, settings=with_source_dir(settings, folder)
    )
    (result,) = report.files
    if result.record is None:
        raise SystemExit(f"ingest failed: {result.error}")
    return result.record.rows_in


def run_pandas(folder: Path, work: Path, kind: str = "trades") -> int:
    import pandas as pd

    frame = pd.read_csv(folder / key_of(kind), compression="gzip", dtype=PANDAS_DTYPES[kind])
    work.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(work / "trades.parquet", index=False)
    return len(frame)


def worker(args: argparse.Namespace) -> None:
    """One timed run in this process; prints JSON with seconds, rows and peak RSS."""
    folder, work = Path(args.folder), Path(args.out)
    import pandas  # noqa: F401  -- imports are not part of the timing
    import pyarrow.parquet  # noqa: F401

    import marketlake.ingest_polygon  # noqa: F401

    start = time.perf_counter()
    if args.worker == "marketlake":
        rows = run_marketlake(
            folder, work, args.stream_mib, args.chunk_rows, kind=args.kind,
            compression=args.compression,
        )  # fmt: skip
    else:
        rows = run_pandas(folder, work, args.kind)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "rows": rows, "peak_mib": peak_rss_mib()}))


def peak_rss_mib() -> float:
    """This process's peak RSS: ``VmHWM`` (``ru_maxrss`` would include a forked parent's)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(side: str, folder: Path, scratch: Path, args: argparse.Namespace) -> dict[str, float]:
    best: dict[str, float] = {}
    for i in range(args.repeat):
        out = scratch / f"{side}-{i}"
        cmd = [sys.executable, __file__, "--worker", side, "--folder", str(folder)]
        cmd += ["--out", str(out), "--stream-mib", str(args.stream_mib)]
        cmd += ["--chunk-rows", str(args.chunk_rows), "--kind", args.kind]
        cmd += ["--compression", args.compression]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"{side} failed:\n{proc.stderr}")
        got = json.loads(proc.stdout.strip().splitlines()[-1])
        shutil.rmtree(out, ignore_errors=True)
        if not best or got["seconds"] < best["seconds"]:
            best = got
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="trades in the day file")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--kind", choices=sorted(HEADERS), default="trades")
    from marketlake.config import PolygonSettings

    defaults = PolygonSettings()
    parser.add_argument("--stream-mib", type=int, default=defaults.stream_threshold_mib)
    parser.add_argument("--chunk-rows", type=int, default=defaults.chunk_rows)
    parser.add_argument(
        "--compression", choices=("zstd", "snappy", "lz4", "none"), default=defaults.compression
    )
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "bench_polygon"))
    parser.add_argument("--worker", choices=("marketlake", "pandas"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    folder = Path(args.work) / f"flat-{args.rows}"
    key = key_of(args.kind)
    if not (folder / key).exists():
        start = time.perf_counter()
        make_file(folder / key, args.rows, args.kind)
        print(f"generated {folder / key} in {time.perf_counter() - start:.0f}s", file=sys.stderr)
    size_mib = (folder / key).stat().st_size / 2**20
    scratch = Path(args.work) / "runs"
    ours = timed("marketlake", folder, scratch, args)
    theirs = timed("pandas", folder, scratch, args)
    if ours["rows"] != theirs["rows"] or ours["rows"] != args.rows:
        raise SystemExit(f"row counts differ: {ours['rows']} vs {theirs['rows']} ({args.rows})")
    ours_rate, theirs_rate = args.rows / ours["seconds"], args.rows / theirs["seconds"]
    print(
        f"polygon {args.kind} day ingest, {args.rows:,} rows ({size_mib:,.0f} MiB gz, "
        f"chunk_rows {args.chunk_rows:,}, {args.compression}): "
        f"marketlake {ours_rate / 1e6:,.2f} Mrows/s "
        f"(peak RSS {ours['peak_mib']:,.0f} MiB), pandas read_csv+to_parquet "
        f"{theirs_rate / 1e6:,.2f} Mrows/s (peak RSS {theirs['peak_mib']:,.0f} MiB), "
        f"ratio {ours_rate / theirs_rate:,.2f}x"
    )


if __name__ == "__main__":
    main()
