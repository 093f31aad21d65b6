"""Benchmark: loading silver trades into PostgreSQL, our COPY path against row INSERTs.

marketlake: ``load_silver`` with ``warehouse.postgres.load_ticks`` (Arrow record batches written
as CSV and streamed through ``COPY ... FROM STDIN``, one transaction, the bookkeeping and the
table's indexes included) from the silver Parquet files into a new database.
Baseline: what a script without a bulk path does: the same Parquet files read with pyarrow,
turned into Python rows and sent with psycopg ``executemany`` INSERTs (pandas ``to_sql`` needs
SQLAlchemy, which marketlake does not install; ``to_sql(method=None)`` issues the same
row-by-row INSERTs) into a plain table of the same columns, without indexes. The baseline runs
on the first ``--baseline-rows`` rows only (its rate does not depend on the count) unless that
is 0 (all rows).

    uv run python bench/bench_load_postgres.py [--rows 10000000] [--per-ingest 1000000]
        [--baseline-rows 1000000] [--host 127.0.0.1] [--port 5432] [--user postgres]

Prints rows/s of both and the ratio; append the RESULT line to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from marketlake.config import PostgresSettings, load_settings
from marketlake.lake import open_lake
from marketlake.lake.compact import live_keys
from marketlake.lake.silver import publish_ingest
from marketlake.schemas import QUARANTINE, TRADES
from marketlake.warehouse.postgres_load import load_silver, pg_type

SYMBOLS = ("AAPL", "MSFT", "NVDA", "SPY")
CONDITIONS = (["@"], ["@", "T"], ["F", "I"], None)


def trades(rows: int, ingest: str, seed: int) -> pa.Table:
    """Seeded trades of one day (2024-03-01 + seed days), every TRADES column filled."""
    rng = np.random.default_rng(seed)
    start = int(datetime(2024, 3, 1, 14, 30, tzinfo=UTC).timestamp() * 1e9) + seed * 86_400 * 10**9
    ts = start + np.sort(rng.integers(0, 6 * 3600 * 10**9, rows))
    conditions = [CONDITIONS[i] for i in rng.integers(0, len(CONDITIONS), rows)]
    return pa.table(
        {
            "ts_event": pa.array(ts, pa.int64()).cast(TRADES.field("ts_event").type),
            "symbol": pa.array(rng.choice(SYMBOLS, rows)),
            "price": 100 + rng.normal(0, 1, rows).cumsum() * 0.01,
            "size": rng.integers(1, 500, rows).astype(float),
            "exchange": pa.array(rng.choice(["4", "11", "12"], rows)),
            "conditions": pa.array(conditions, pa.list_(pa.string())),
            "trade_id": pa.array([str(i) for i in range(rows)]),
            "sequence": pa.array(np.arange(rows), pa.int64()),
            "source": ["polygon"] * rows,
            "ingest_id": [ingest] * rows,
            "quality_flags": pa.nulls(rows, pa.string()),
        },
        schema=TRADES,
    )


def write_silver(data_dir: Path, rows: int, per_ingest: int) -> int:
    lake = open_lake(load_settings(data_dir=data_dir))
    written, seed = 0, 0
    while written < rows:
        n = min(per_ingest, rows - written)
        ingest = f"{seed:016x}"
        publish_ingest(
            lake,
            dataset="trades",
            source="polygon",
            ingest_id=ingest,
            rows=trades(n, ingest, seed),
            quarantined=QUARANTINE.empty_table(),
            rows_in=n,
            flagged_by_rule={},
        )
        written += n
        seed += 1
    return written


def admin(args: argparse.Namespace) -> psycopg.Connection:
    return psycopg.connect(
        host=args.host, port=args.port, user=args.user, dbname="postgres", autocommit=True
    )


def bulk(args: argparse.Namespace, data_dir: Path, dbname: str) -> tuple[float, int]:
    settings = load_settings(
        data_dir=data_dir,
        warehouse={
            "target": "postgres",
            "postgres": {"host": args.host, "port": args.port, "user": args.user,
                         "dbname": dbname, "load_ticks": True},
        },
    )  # fmt: skip
    start = time.perf_counter()
    result = load_silver(settings.warehouse.postgres, open_lake(settings))
    seconds = time.perf_counter() - start
    return seconds, result.datasets["trades"].rows_loaded


def baseline(
    args: argparse.Namespace, data_dir: Path, dbname: str, limit: int
) -> tuple[float, int]:
    lake = open_lake(load_settings(data_dir=data_dir))
    columns = ", ".join(f'"{f.name}" {pg_type(f.type)}' for f in TRADES)
    names = ", ".join(f'"{f.name}"' for f in TRADES)
    marks = ", ".join(["%s"] * len(TRADES))
    con = psycopg.connect(host=args.host, port=args.port, user=args.user, dbname=dbname)
    con.execute(f"create table trades_baseline ({columns})")
    con.commit()
    loaded = 0
    start = time.perf_counter()
    with con.cursor() as cur:
        for key in live_keys(lake, "trades"):
            if limit and loaded >= limit:
                break
            table = pq.read_table(lake.full(key))
            if limit:
                table = table.slice(0, limit - loaded)
            rows = list(zip(*(table.column(f.name).to_pylist() for f in TRADES), strict=True))
            cur.executemany(f"insert into trades_baseline ({names}) values ({marks})", rows)
            loaded += len(rows)
    con.commit()
    seconds = time.perf_counter() - start
    con.close()
    return seconds, loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--per-ingest", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=1_000_000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    args = parser.parse_args()
    PostgresSettings(host=args.host, port=args.port, user=args.user)  # validates early
    dbname = f"ml_bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="bench_pg_") as folder:
        data_dir = Path(folder)
        t0 = time.perf_counter()
        rows = write_silver(data_dir, args.rows, args.per_ingest)
        print(f"silver: {rows:,} trades written in {time.perf_counter() - t0:.1f}s")
        with admin(args) as con:
            con.execute(f'create database "{dbname}"')
        try:
            ours_s, ours_rows = bulk(args, data_dir, dbname)
            ours = ours_rows / ours_s
            print(f"marketlake COPY: {ours_rows:,} rows in {ours_s:.2f}s = {ours:,.0f} rows/s")
            base_s, base_rows = baseline(args, data_dir, dbname, args.baseline_rows)
            base = base_rows / base_s
            print(f"baseline INSERT: {base_rows:,} rows in {base_s:.2f}s = {base:,.0f} rows/s")
            print(
                f"RESULT rows={ours_rows} copy={ours:,.0f} rows/s insert={base:,.0f} rows/s "
                f"(on {base_rows:,}) ratio={ours / base:.1f}x"
            )
        finally:
            with admin(args) as con:
                con.execute(f'drop database if exists "{dbname}" with (force)')


if __name__ == "__main__":
    main()
