"""Alpha Vantage into a lake on a real S3-compatible server: bronze, silver and the call budget."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from marketlake.config import load_settings
from marketlake.ingest_alphavantage import CallBudget, ingest_alphavantage, rebuild_alphavantage
from marketlake.lake import open_lake
from marketlake.lake.silver import read_dataset
from marketlake.sources.alphavantage.sample import NOTE_RATE_LIMIT, daily_bars, daily_payload
from tests.integration.alphavantage.vendor import KEY, reply, serve_vendor, with_vendor
from tests.s3server import S3Server

pytestmark = pytest.mark.integration


def test_ingest_rebuild_and_budget_on_an_s3_lake(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3_server: S3Server, s3_lake_uri: str
) -> None:
    monkeypatch.setenv("MARKETLAKE_LAKE__URI", s3_lake_uri)
    monkeypatch.setenv("MARKETLAKE_LAKE__ENDPOINT_URL", s3_server.endpoint_url)
    monkeypatch.setenv("MARKETLAKE_LAKE__ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("MARKETLAKE_LAKE__SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.setenv("MARKETLAKE_LAKE__REGION", "us-east-1")
    payload = daily_payload("IBM", daily_bars("IBM", date(2024, 1, 2), date(2024, 2, 29)))
    with serve_vendor() as vendor:
        vendor.on("TIME_SERIES_DAILY", "IBM", reply(NOTE_RATE_LIMIT), reply(payload))
        settings = with_vendor(load_settings(data_dir=tmp_path / "data"), vendor, calls_per_day=3)

        first = ingest_alphavantage(["IBM"], function="TIME_SERIES_DAILY", settings=settings)
        rebuilt = rebuild_alphavantage(settings=settings, symbols=["ibm"])
        calls = vendor.calls()

    lake = open_lake(settings)
    assert lake.uri == s3_lake_uri
    assert first.files[0].outcome == "published"
    assert rebuilt.files[0].outcome == "published"
    assert calls == 2
    assert CallBudget(lake, 3).used() == 2
    assert first.calls_left == 1
    assert read_dataset(lake, "bars").num_rows == len(payload["Time Series (Daily)"])
    patterns = (
        "_ledger/*/*.json",
        "_state/*/*.json",
        "bronze/alphavantage/*/*",
        "bronze/*/*/*/*.json",
    )
    keys = [key for pattern in patterns for key in lake.glob(pattern)]
    assert any(k.startswith("_state/") for k in keys)
    for key in keys:
        assert KEY.encode() not in lake.read_bytes(key), key
    assert not (tmp_path / "data" / "lake").exists()  # nothing went to local disk
