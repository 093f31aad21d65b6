"""Benchmark: ingest of a 20-year x 500-symbol daily CSV set, against the way people do it today.

marketlake: ``ingest_csv`` on the whole folder (bronze landing + parse + validation + silver
Parquet + quarantine + ledger), rows/s over every file.
Baseline: pandas ``read_csv`` + one ``INSERT`` per row into PostgreSQL (psycopg 3, one commit per
file) -- the row-by-row load users replace. It is measured on the first ``--baseline-files`` files
(it would take many minutes on all of them) and reported as rows/s, so the two rates compare.

    uv run python bench/bench_ingest_csv.py [--symbols 500] [--years 20] [--baseline-files 20]

Needs PostgreSQL for the baseline (``--pg-dsn``, default the local server, trust auth).
Prints rows/s of both and the ratio; append the printed line to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import pandas as pd
import psycopg

from marketlake.config import load_settings
from marketlake.ingest import ingest_csv
from marketlake.sources.csv_daily.sample import write_daily_csvs

HERE = Path(__file__).parent


def make_files(symbols: int, years: int) -> tuple[list[Path], int]:
    # Clean files: the baseline (like most hand-made loaders) stops at the first bad value.
    folder = HERE / ".data" / f"csv_clean_{symbols}x{years}"
    names = tuple(f"S{i:04d}" for i in range(symbols))
    if not (folder / f"{names[-1]}.csv").exists():
        print(f"generating {symbols} symbols x {years} years into {folder} ...", flush=True)
        write_daily_csvs(
            folder,
            symbols=names,
            start=date(2024 - years, 1, 1),
            end=date(2023, 12, 31),
            faults=False,
        )
    files = sorted(folder.glob("*.csv"))
    rows = sum(f.read_bytes().count(b"\n") - 1 for f in files)
    return files, rows


def run_marketlake(files: list[Path]) -> tuple[float, int]:
    data_dir = Path(tempfile.mkdtemp(prefix="marketlake-bench-"))
    try:
        settings = load_settings(data_dir=data_dir)
        start = time.perf_counter()
        report = ingest_csv([str(files[0].parent)], settings=settings)
        seconds = time.perf_counter() - start
        assert not report.failed, report.failed
        rows = sum(f.record.rows_in for f in report.files if f.record)
        return seconds, rows
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def run_baseline(files: list[Path], dsn: str) -> tuple[float, int]:
    with psycopg.connect(dsn) as conn:
        conn.execute("drop table if exists bench_daily_bars")
        conn.execute(
            "create table bench_daily_bars (symbol text, date date, open float8, high float8, "
            "low float8, close float8, adj_close float8, volume float8)"
        )
        conn.commit()
        rows = 0
        start = time.perf_counter()
        for path in files:
            frame = pd.read_csv(path, on_bad_lines="skip")
            with conn.cursor() as cur:
                for rec in frame.itertuples(index=False):
                    cur.execute(
                        "insert into bench_daily_bars values (%s, %s, %s, %s, %s, %s, %s, %s)",
                        (path.stem, *(None if pd.isna(v) else v for v in rec)),
                    )
                    rows += 1
            conn.commit()
        seconds = time.perf_counter() - start
        conn.execute("drop table bench_daily_bars")
        return seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--baseline-files", type=int, default=20)
    parser.add_argument("--pg-dsn", default="host=127.0.0.1 dbname=test user=postgres")
    args = parser.parse_args()

    files, lines = make_files(args.symbols, args.years)
    megabytes = sum(f.stat().st_size for f in files) / 1e6
    print(f"input: {len(files)} files, {lines:,} data lines, {megabytes:.0f} MB")
    ml_seconds, ml_rows = run_marketlake(files)
    ml_rate = ml_rows / ml_seconds
    print(f"marketlake ingest csv: {ml_rows:,} rows in {ml_seconds:.1f}s = {ml_rate:,.0f} rows/s")
    base_files = files[: args.baseline_files]
    b_seconds, b_rows = run_baseline(base_files, args.pg_dsn)
    b_rate = b_rows / b_seconds
    print(
        f"baseline pandas read_csv + row-by-row INSERT (PostgreSQL), {len(base_files)} files: "
        f"{b_rows:,} rows in {b_seconds:.1f}s = {b_rate:,.0f} rows/s"
    )
    print(
        f"RESULT ingest_csv {args.symbols}x{args.years}: {ml_rate:,.0f} rows/s = "
        f"{ml_rate / b_rate:.1f}x baseline ({b_rate:,.0f} rows/s)"
    )


if __name__ == "__main__":
    main()
