"""Small silver datasets published the way ingest publishes them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa

from marketlake.lake import Lake
from marketlake.lake.silver import publish_ingest
from marketlake.schemas import BARS, QUARANTINE, TRADES


def minute_bars(
    symbol: str, days: list[date], *, minutes: int = 4, base: float = 100.0
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for d, day in enumerate(days):
        open_ = datetime(day.year, day.month, day.day, 14, 30, tzinfo=UTC)
        for m in range(minutes):
            price = base + d + m / 10
            rows.append(
                {
                    "ts_event": open_ + timedelta(minutes=m),
                    "session_date": day,
                    "interval": "1m",
                    "symbol": symbol,
                    "open": price,
                    "high": price + 0.5,
                    "low": price - 0.5,
                    "close": price + 0.1,
                    "volume": 1000.0 + m,
                    "vwap": price,
                    "trade_count": 10,
                    "adj_close": None,
                    "dividend": None,
                    "split_factor": None,
                    "source": "test",
                    "ingest_id": "",
                    "quality_flags": None,
                }
            )
    return rows


def publish(lake: Lake, dataset: str, ingest_id: str, rows: list[dict[str, object]]) -> None:
    schema = {"bars": BARS, "trades": TRADES}[dataset]
    for row in rows:
        row["ingest_id"] = ingest_id
    table = pa.Table.from_pylist(rows, schema=schema)
    publish_ingest(
        lake,
        dataset=dataset,
        source="test",
        ingest_id=ingest_id,
        rows=table,
        quarantined=QUARANTINE.empty_table(),
        rows_in=table.num_rows,
        flagged_by_rule={},
    )


def trades(symbol: str, start: datetime, n: int, *, ingest_id: str) -> list[dict[str, object]]:
    return [
        {
            "ts_event": start + timedelta(seconds=i),
            "symbol": symbol,
            "price": 10.0 + i / 100,
            "size": float(i % 7 + 1),
            "exchange": "X",
            "conditions": ["@"],
            "trade_id": str(i),
            "sequence": i,
            "source": "test",
            "ingest_id": ingest_id,
            "quality_flags": None,
        }
        for i in range(n)
    ]
