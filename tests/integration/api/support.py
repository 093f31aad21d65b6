"""The real API over HTTP: uvicorn on a free loopback port in a thread, and sample data."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pyarrow as pa
import uvicorn

from marketlake import schemas
from marketlake.config import Settings
from marketlake.lake.silver import publish_ingest
from marketlake.lake.store import Lake
from marketlake.serve.api import create_app
from tests.integration.warehouse.sample_silver import daily_bars, land_delivery
from tests.support import free_port
from tests.unit.analytics.sample import sample_bars_info, write_bars_info

TOKEN = "test-token-4f1c"


@dataclass(frozen=True)
class Served:
    """A running API: its base URL and settings."""

    url: str
    settings: Settings


@contextmanager
def serve(settings: Settings) -> Iterator[Served]:
    """Run the app of ``settings`` under uvicorn until the block ends."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):  # bounded start-up wait
        if server.started:
            break
        if not thread.is_alive():
            raise RuntimeError("uvicorn exited at start-up")
        time.sleep(0.02)
    else:
        raise RuntimeError("uvicorn did not start")
    try:
        yield Served(f"http://127.0.0.1:{port}", settings)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def client(served: Served, *, token: str | None = None) -> httpx.Client:
    """An HTTP client of ``served`` (with a bearer token when given)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=served.url, headers=headers, timeout=60)


def publish_quarantined(lake: Lake) -> int:
    """One delivery of CCC with two good bars and three quarantined rows; returns the count."""
    ingest_id = land_delivery(lake, source="csv_daily", logical_key="CCC.csv", content=b"CCC")
    from datetime import date

    rows = daily_bars(
        "CCC", [date(2022, 3, 1), date(2022, 3, 2)], seed=7, source="csv_daily", ingest_id=ingest_id
    )
    bad = pa.table(
        {
            "dataset": ["bars"] * 3,
            "ingest_id": [ingest_id] * 3,
            "source_row": [4, 5, 6],
            "symbol": ["CCC", "CCC", None],
            "rule_id": ["price.range", "price.range", "record.malformed"],
            "severity": ["ERROR"] * 3,
            "message": ["close -1 is below 0.01"] * 2 + ["7 fields, expected 8"],
            "raw": ['{"close": "-1"}', '{"close": "-2"}', '{"line": "x,y"}'],
        },
        schema=schemas.QUARANTINE,
    )
    publish_ingest(
        lake,
        dataset="bars",
        source="csv_daily",
        ingest_id=ingest_id,
        rows=rows,
        quarantined=bad,
        rows_in=rows.num_rows + bad.num_rows,
        flagged_by_rule={},
    )
    return bad.num_rows


def publish_info_bars(lake: Lake) -> None:
    """Tick, volume and dollar bars (and time bars) of ES in silver ``bars_info``."""
    write_bars_info(lake, sample_bars_info("ES", weeks=3))
