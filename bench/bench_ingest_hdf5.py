"""Benchmark: an ES-like HDF5 tick file into silver trades, against the way people do it today.

marketlake: ``ingest_hdf5`` of key ``tick/trades`` (layout detection, sha256 + bronze landing
by hard link, chunked read, every check, per-symbol time order, silver Parquet zstd per
``symbol=/year=`` partition, quarantine, progress, record, ledger), rows/s over the whole run
and over the publish alone (without the sha256 of the file).
Baseline: pandas ``read_hdf(path, key, chunksize=...)`` + ``DataFrame.to_parquet`` per chunk
(pandas defaults: pyarrow, snappy) -- no checks, no partitions: the loop users write.

The input is generated once and cached in ``bench/.data/``: ``write_es_h5`` (pandas HDFStore
table format written with ``index=False``, a ``symbol`` contract column H/M/U/Z rolling before
expiry, Globex sessions, ~3% zero-volume trades, 100 NaN prices and 100 times going back).
Each side runs in its own subprocess, so the peak RSS (psutil, sampled every 20 ms) is its own.

    .venv/bin/python bench/bench_ingest_hdf5.py --trades 200_000_000      # the benchmark
    .venv/bin/python bench/bench_ingest_hdf5.py --trades 2_000_000        # a quick check

Prints both rates, the ratio, both peak RSS, and an extrapolation to 856M rows (per-chunk work
is constant and memory does not grow with the file, so time scales with rows; the sha256 with
bytes). Append the RESULT line to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

from marketlake.config import Hdf5Settings

HERE = Path(__file__).parent
TARGET_ROWS = 856_000_000


def _watch_rss() -> list[int]:
    import psutil

    peak = [0]
    process = psutil.Process()

    def sample() -> None:
        while True:
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.02)

    threading.Thread(target=sample, daemon=True).start()
    return peak


def run_marketlake(path: Path, out: Path, chunk_rows: int) -> dict[str, float]:
    from marketlake.config import load_settings
    from marketlake.ingest_hdf5 import ingest_hdf5
    from marketlake.lake import open_lake
    from marketlake.ops.ledger import read_ledger

    peak = _watch_rss()
    settings = load_settings(data_dir=out, sources={"hdf5": {"chunk_rows": chunk_rows}})
    start = time.perf_counter()
    report = ingest_hdf5(path, settings=settings, keys=["tick/trades"])
    seconds = time.perf_counter() - start
    [key] = report.keys
    assert key.record is not None, key.error
    land = sum(r.seconds for r in read_ledger(open_lake(settings)) if r.step.startswith("land."))
    silver = sum(f.stat().st_size for f in (out / "lake" / "silver").rglob("*.parquet"))
    return {
        "seconds": seconds,
        "land_seconds": land,
        "publish_seconds": key.seconds,
        "rows": key.record.rows_in,
        "rows_out": key.record.rows_out,
        "quarantined": key.record.rows_quarantined,
        "files": len(key.record.partitions),
        "silver_bytes": silver,
        "peak_rss": peak[0],
    }


def run_baseline(path: Path, out: Path, chunk_rows: int) -> dict[str, float]:
    import pandas as pd

    peak = _watch_rss()
    out.mkdir(parents=True, exist_ok=True)
    rows = 0
    start = time.perf_counter()
    for i, chunk in enumerate(pd.read_hdf(path, "tick/trades", chunksize=chunk_rows)):
        chunk.to_parquet(out / f"part-{i:05d}.parquet")
        rows += len(chunk)
    seconds = time.perf_counter() - start
    silver = sum(f.stat().st_size for f in out.glob("*.parquet"))
    return {"seconds": seconds, "rows": rows, "silver_bytes": silver, "peak_rss": peak[0]}


def make_file(trades: int) -> Path:
    from marketlake.sources.hdf5_ticks.sample import write_es_h5

    path = HERE / ".data" / f"ES_{trades}.h5"
    if not path.exists():
        print(f"generating {trades:,} ES-like trades into {path} ...", flush=True)
        start = time.perf_counter()
        sample = write_es_h5(
            path.with_suffix(".tmp"),
            trades=trades,
            start=date(2019, 1, 2),
            faults=100,
            filtered_key=None,
            seed=7,
        )
        sample.path.rename(path)
        print(
            f"  {time.perf_counter() - start:.0f}s, contracts {', '.join(sample.contracts)}, "
            f"{sample.zero_size:,} zero-volume trades",
            flush=True,
        )
    return path


def child(side: str, path: Path, chunk_rows: int) -> dict[str, float]:
    out = Path(tempfile.mkdtemp(prefix=f"bench-hdf5-{side}-", dir=HERE / ".data"))
    try:
        command = [sys.executable, __file__, "--child", side, "--file", str(path)]
        command += ["--out", str(out), "--chunk-rows", str(chunk_rows)]
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"{side} failed:\n{proc.stderr}")
        result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
        return result
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trades", type=int, default=200_000_000)
    parser.add_argument("--chunk-rows", type=int, default=Hdf5Settings().chunk_rows)
    parser.add_argument("--child", choices=["marketlake", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run = run_marketlake if args.child == "marketlake" else run_baseline
        print(json.dumps(run(args.file, args.out, args.chunk_rows)))
        return

    path = make_file(args.trades)
    size = path.stat().st_size
    print(f"input: {path.name}, {args.trades:,} trades, {size / 2**30:.2f} GiB", flush=True)
    ml = child("marketlake", path, args.chunk_rows)
    base = child("baseline", path, args.chunk_rows)
    ml_rate, publish_rate = ml["rows"] / ml["seconds"], ml["rows"] / ml["publish_seconds"]
    base_rate = base["rows"] / base["seconds"]
    gib = 2**30
    print(
        f"marketlake ingest hdf5: {ml['rows']:,.0f} rows in {ml['seconds']:.1f}s = "
        f"{ml_rate / 1e6:.2f} Mrows/s (sha256 + landing {ml['land_seconds']:.1f}s; publish "
        f"{ml['publish_seconds']:.1f}s = {publish_rate / 1e6:.2f} Mrows/s); "
        f"{ml['rows_out']:,.0f} to silver, {ml['quarantined']:,.0f} quarantined, "
        f"{ml['files']:.0f} files, {ml['silver_bytes'] / gib:.2f} GiB; "
        f"peak RSS {ml['peak_rss'] / gib:.2f} GiB"
    )
    print(
        f"baseline pandas read_hdf(chunksize) + to_parquet: {base['rows']:,.0f} rows in "
        f"{base['seconds']:.1f}s = {base_rate / 1e6:.2f} Mrows/s, "
        f"{base['silver_bytes'] / gib:.2f} GiB; peak RSS {base['peak_rss'] / gib:.2f} GiB"
    )
    # Extrapolation: publish time scales with rows, the sha256 with the file's bytes.
    scale = TARGET_ROWS / ml["rows"]
    hash_856 = ml["land_seconds"] * scale
    total_856 = TARGET_ROWS / publish_rate + hash_856
    print(
        f"856M rows (x{scale:.1f}, {size * scale / 2**30:.0f} GiB): marketlake ~{total_856:.0f}s "
        f"(sha256 ~{hash_856:.0f}s + publish ~{TARGET_ROWS / publish_rate:.0f}s; a re-run "
        f"reuses the cached hash); baseline ~{TARGET_ROWS / base_rate:.0f}s"
    )
    print(
        f"RESULT ingest_hdf5 {args.trades:,} trades: {ml_rate / 1e6:.2f} Mrows/s "
        f"(publish {publish_rate / 1e6:.2f}) = {ml_rate / base_rate:.1f}x baseline "
        f"({base_rate / 1e6:.2f} Mrows/s); peak RSS {ml['peak_rss'] / gib:.2f} vs "
        f"{base['peak_rss'] / gib:.2f} GiB"
    )


if __name__ == "__main__":
    main()
