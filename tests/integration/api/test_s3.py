"""The API over a lake and gold on a real S3-compatible server (SeaweedFS)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest

from marketlake.config import Settings, load_settings
from marketlake.lake.store import Lake, open_lake
from marketlake.serve.loader import read_bars
from tests.integration.warehouse.sample_silver import publish_sample

from .support import client, publish_quarantined, serve

if TYPE_CHECKING:
    from tests.s3server import S3Server

pytestmark = pytest.mark.integration


def test_reads_come_from_s3_and_a_replaced_mart_is_picked_up(
    tmp_path: Path, s3_server: S3Server, s3_lake_uri: str, api_settings: Settings
) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        lake={
            "uri": s3_lake_uri,
            "endpoint_url": s3_server.endpoint_url,
            "access_key_id": s3_server.access_key,
            "secret_access_key": s3_server.secret_key,
            "region": "us-east-1",
        },
        warehouse={"gold_uri": f"{s3_lake_uri}/gold"},
    )
    lake = open_lake(settings)
    publish_sample(lake)
    publish_quarantined(lake)
    # Gold as `marketlake build` would publish it (same silver, built locally once).
    gold = Lake(settings.gold_uri, settings.storage_options())
    for mart in Path(api_settings.gold_uri).glob("*.parquet"):
        gold.write_bytes(mart.name, mart.read_bytes())

    with serve(settings) as served, client(served) as http:
        symbols = [s["symbol"] for s in http.get("/symbols").json()]
        assert {"AAA", "BBB", "BRK.B", "X:BTCUSD"} <= set(symbols)
        page = http.get("/bars/BRK.B", params={"from": "2021-03-01", "to": "2021-03-31"}).json()
        expected = read_bars("BRK.B", "2021-03-01", "2021-03-31", interval="1d", settings=settings)
        assert [r["ingest_id"] for r in page["rows"]] == expected["ingest_id"].to_list()
        assert http.get("/quality").json()["total"] == 3

        dim = pl.read_parquet(io.BytesIO(gold.read_bytes("dim_symbol.parquet")))
        sink = io.BytesIO()
        dim.filter(pl.col("symbol") != "BBB").write_parquet(sink)
        gold.write_bytes("dim_symbol.parquet", sink.getvalue())
        after = [s["symbol"] for s in http.get("/symbols").json()]
        assert after == [s for s in symbols if s != "BBB"]
    assert s3_server.secret_key not in repr(settings)
