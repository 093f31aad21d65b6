"""Benchmark: ``GET /bars/{symbol}`` for one year of daily bars over loopback HTTP.

The API (``marketlake.serve.api``) runs under uvicorn in its own process; an async httpx
client keeps ``--concurrency`` requests in flight until ``--requests`` are done or
``--seconds`` pass (both bounded). Prints requests/s and p50/p99 latency per format, and the
baseline: the same read through the loader in-process (``read_bars``, no HTTP), as calls/s.

    uv run python bench/bench_api.py [--requests 2000] [--concurrency 8] [--seconds 20]

Loopback only (127.0.0.1); the data is 252 seeded daily bars written to a temporary lake.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pyarrow as pa

from marketlake import schemas
from marketlake.config import load_settings
from marketlake.lake import open_lake
from marketlake.lake.silver import publish_ingest
from marketlake.serve.loader import cache_clear, read_bars

SYMBOL = "BENCH"


def one_year(symbol: str) -> pa.Table:
    """252 weekday daily bars of 2023 (seeded random walk) in the silver ``BARS`` schema."""
    rng = random.Random(7)
    days = [date(2023, 1, 2) + timedelta(days=i) for i in range(366)]
    days = [d for d in days if d.weekday() < 5][:252]
    price, rows = 100.0, []
    for day in days:
        close = price * math.exp(rng.gauss(0, 0.02))
        rows.append((day, price, max(price, close) * 1.01, min(price, close) * 0.99, close))
        price = close
    n = len(rows)
    return pa.table(
        {
            "ts_event": [datetime(d.year, d.month, d.day, 14, 30, tzinfo=UTC) for d, *_ in rows],
            "session_date": [r[0] for r in rows],
            "interval": ["1d"] * n,
            "symbol": [symbol] * n,
            "open": [r[1] for r in rows],
            "high": [r[2] for r in rows],
            "low": [r[3] for r in rows],
            "close": [r[4] for r in rows],
            "volume": [float(rng.randrange(10**5, 10**7)) for _ in rows],
            "vwap": [None] * n,
            "trade_count": [None] * n,
            "adj_close": [None] * n,
            "dividend": [None] * n,
            "split_factor": [None] * n,
            "source": ["csv_daily"] * n,
            "ingest_id": ["bench0000000000a"] * n,
            "quality_flags": [None] * n,
        },
        schema=schemas.BARS,
    )


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def hammer(
    url: str, params: dict[str, str], *, requests: int, concurrency: int, seconds: float
) -> tuple[int, float, list[float]]:
    """(requests done, wall seconds, latencies in ms) of a bounded closed-loop load."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    remaining = [requests]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:

        async def worker() -> None:
            while remaining[0] > 0 and time.perf_counter() < deadline:
                remaining[0] -= 1
                start = time.perf_counter()
                reply = await http.get(f"/bars/{SYMBOL}", params=params)
                latencies.append((time.perf_counter() - start) * 1000)
                if reply.status_code != 200:
                    raise RuntimeError(f"{reply.status_code}: {reply.text[:200]}")

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(latencies), time.perf_counter() - start, latencies


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="Requests per format.")
    parser.add_argument("--concurrency", type=int, default=8, help="Requests in flight.")
    parser.add_argument("--seconds", type=float, default=20.0, help="Time bound per format.")
    parser.add_argument("--formats", default="json,csv,arrow,parquet")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-api-"))
    server = None
    try:
        settings = load_settings(data_dir=root, api={"page_size": 1000})
        rows = one_year(SYMBOL)
        publish_ingest(
            open_lake(settings),
            dataset="bars",
            source="csv_daily",
            ingest_id="bench0000000000a",
            rows=rows,
            quarantined=schemas.QUARANTINE.empty_table(),
            rows_in=rows.num_rows,
            flagged_by_rule={},
        )
        port = free_port()
        env = {**os.environ, "MARKETLAKE_DATA_DIR": str(root)}
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "marketlake.serve.api:create_app",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=env,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):  # bounded start-up wait
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise RuntimeError("the API did not start")

        cache_clear()
        read_bars(SYMBOL, "2023-01-01", "2023-12-31", interval="1d", settings=settings)
        calls, start = 0, time.perf_counter()
        while calls < 500 and time.perf_counter() - start < 5:
            read_bars(SYMBOL, "2023-01-01", "2023-12-31", interval="1d", settings=settings)
            calls += 1
        baseline = calls / (time.perf_counter() - start)

        print(f"GET /bars/{SYMBOL}?from=2023-01-01&to=2023-12-31 ({rows.num_rows} daily bars), "
              f"concurrency {args.concurrency}, loopback")  # fmt: skip
        print(f"{'format':8} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'vs loader':>10}")  # fmt: skip
        for fmt in args.formats.split(","):
            params = {"from": "2023-01-01", "to": "2023-12-31", "format": fmt}
            asyncio.run(hammer(url, params, requests=20, concurrency=2, seconds=5))  # warm-up
            done, wall, lat = asyncio.run(
                hammer(
                    url,
                    params,
                    requests=args.requests,
                    concurrency=args.concurrency,
                    seconds=args.seconds,
                )
            )
            rate = done / wall
            print(
                f"{fmt:8} {done:8d} {rate:8.0f} {statistics.median(lat):8.1f} "
                f"{percentile(lat, 99):8.1f} {rate / baseline:9.2f}x"
            )
        print(f"baseline: read_bars in-process (no HTTP), {baseline:.0f} calls/s")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
