"""Small silver trades written straight into a test lake, as the HDF5 ingest lays them out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from marketlake.lake import Lake
from marketlake.lake.silver import partition_dir, record_key
from marketlake.schemas import TRADES

SOURCE = "hdf5:tick/trades"


def ns(text: str) -> int:
    """ns since the epoch of an ISO time in UTC."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) * 1_000_000_000


def make_trades(n: int, *, start: str, step_s: float, seed: int = 1) -> tuple[Any, Any, Any]:
    """n trades from ``start``, ``step_s`` seconds apart, prices on a 0.25 grid, whole sizes."""
    rng = np.random.default_rng(seed)
    ts = ns(start) + (np.arange(n) * step_s * 1e9).astype(np.int64)
    price = 4000.0 + 0.25 * np.cumsum(rng.choice([-1, 0, 0, 1], n))
    size = rng.integers(0, 6, n).astype(np.float64)
    return ts, price, size


def write_trades(
    lake: Lake,
    symbol: str,
    ts: Any,
    price: Any,
    size: Any,
    *,
    source: str = SOURCE,
    ingest_id: str = "a1b2c3d4e5f6a7b8",
    file_rows: int = 1_000,
    published: bool = True,
) -> list[str]:
    """Write trades as silver files ``symbol=/year=/<ingest_id>-<chunk:06d>.parquet``."""
    years = ts.astype("datetime64[ns]").astype("datetime64[Y]").astype(np.int64) + 1970
    keys: list[str] = []
    chunk = 0
    for year in np.unique(years):
        rows = np.flatnonzero(years == year)
        for lo in range(0, len(rows), file_rows):
            part = rows[lo : lo + file_rows]
            n = len(part)
            table = pa.table(
                {
                    "ts_event": pa.array(ts[part], pa.timestamp("ns", tz="UTC")),
                    "symbol": [symbol] * n,
                    "price": price[part],
                    "size": size[part],
                    "exchange": pa.nulls(n, pa.string()),
                    "conditions": pa.nulls(n, pa.list_(pa.string())),
                    "trade_id": pa.nulls(n, pa.string()),
                    "sequence": pa.array(part, pa.int64()),
                    "source": [source] * n,
                    "ingest_id": [ingest_id] * n,
                    "quality_flags": pa.nulls(n, pa.string()),
                },
                schema=TRADES,
            )
            key = f"{partition_dir('trades', symbol, int(year))}/{ingest_id}-{chunk:06d}.parquet"
            lake.write_parquet(key, table)
            keys.append(key)
            chunk += 1
    if published:  # ingest writes its record last: the delivery is complete
        lake.write_json(record_key(ingest_id), {"ingest_id": ingest_id, "partitions": keys})
    return keys
