"""Replies saved as files (``--from-files``) and the demo's Alpha Vantage part."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from marketlake.config import Settings
from marketlake.ingest_alphavantage import ingest_alphavantage_files
from marketlake.lake import open_lake
from marketlake.lake.bronze import read_manifest
from marketlake.lake.silver import read_dataset, read_quarantine, read_records
from marketlake.ops.ledger import Run
from marketlake.orchestrate.demo_alphavantage import demo_alphavantage
from marketlake.sources.alphavantage.sample import (
    ERROR_MESSAGE,
    daily_bars,
    daily_payload,
    payload_bytes,
    weekly_adjusted_payload,
)

pytestmark = pytest.mark.integration


def _silver(settings: Settings) -> pl.DataFrame:
    frame = pl.from_arrow(read_dataset(open_lake(settings), "bars"))
    assert isinstance(frame, pl.DataFrame)
    return frame.sort("symbol", "interval", "session_date")


def test_demo_ingests_every_entry_once_and_is_idempotent(
    settings: Settings, tmp_path: Path
) -> None:
    lake = open_lake(settings)

    first = demo_alphavantage(settings, tmp_path / "samples", Run(lake))
    before = _silver(settings)
    landed = len(read_manifest(lake, "alphavantage"))
    second = demo_alphavantage(settings, tmp_path / "samples", Run(lake))

    assert [f.outcome for f in first.ingest.files] == ["published"] * 4
    assert sorted(p.name for p in first.samples.files) == [
        "IBM.TIME_SERIES_DAILY.json",
        "IBM.TIME_SERIES_WEEKLY_ADJUSTED.json",
        "MSFT.TIME_SERIES_DAILY.json",
        "MSFT.TIME_SERIES_WEEKLY_ADJUSTED.json",
    ]
    records = read_records(lake)
    assert sum(r.rows_in for r in records) == first.samples.entries  # every entry accounted for
    quarantined = read_quarantine(lake).to_pylist()
    expected = [f for f in first.samples.faults if f.kind == "quarantine"]
    assert [(q["symbol"], q["rule_id"]) for q in quarantined] == [
        (f.symbol, f.rule_id) for f in expected
    ]
    assert list(json.loads(quarantined[0]["raw"])) == [expected[0].day.isoformat()]
    flagged = before.filter(pl.col("quality_flags") == "week.partial")
    partial = {(f.symbol, f.day) for f in first.samples.faults if f.rule_id == "week.partial"}
    assert set(zip(flagged["symbol"], flagged["session_date"], strict=True)) == partial
    assert [f.outcome for f in second.ingest.files] == ["unchanged"] * 4
    assert not any(f.landed_new for f in second.ingest.files)
    assert len(read_manifest(lake, "alphavantage")) == landed
    assert _silver(settings).equals(before)


def test_a_file_and_a_download_of_one_series_share_a_logical_key(
    settings: Settings, tmp_path: Path
) -> None:
    old = daily_payload("IBM", daily_bars("IBM", date(2024, 1, 2), date(2024, 2, 1)))
    new = daily_payload("IBM", daily_bars("IBM", date(2024, 1, 2), date(2024, 2, 5)))
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "old" / "ibm-jan.json").write_bytes(payload_bytes(old))
    (tmp_path / "new" / "ibm-feb.json").write_bytes(payload_bytes(new))

    ingest_alphavantage_files([tmp_path / "old"], settings=settings)
    report = ingest_alphavantage_files([tmp_path / "new"], settings=settings)

    assert report.files[0].outcome == "published"
    silver = _silver(settings)
    assert silver.height == len(new["Time Series (Daily)"])  # the older delivery was replaced
    assert silver["session_date"].max() == date(2024, 2, 5)


def test_an_error_body_saved_as_a_file_fails_alone(settings: Settings, tmp_path: Path) -> None:
    bars = daily_bars("MSFT", date(2024, 1, 2), date(2024, 1, 31))
    (tmp_path / "a-error.json").write_text(json.dumps(ERROR_MESSAGE))
    (tmp_path / "b-msft.json").write_bytes(payload_bytes(weekly_adjusted_payload("MSFT", bars)))

    report = ingest_alphavantage_files([tmp_path], settings=settings)

    assert [f.outcome for f in report.files] == ["failed", "published"]
    assert "not an Alpha Vantage daily or weekly adjusted series" in str(report.files[0].error)
    assert set(_silver(settings)["interval"]) == {"1w"}
    assert [e.symbol for e in read_manifest(open_lake(settings), "alphavantage")] == ["MSFT"]


def test_a_duplicated_date_keeps_the_last_entry(settings: Settings, tmp_path: Path) -> None:
    first = (
        '{"1. open": "10", "2. high": "11", "3. low": "9", "4. close": "10.1", "5. volume": "5"}'
    )
    last = '{"1. open": "10", "2. high": "11", "3. low": "9", "4. close": "10.2", "5. volume": "6"}'
    meta = '{"2. Symbol": "IBM", "3. Last Refreshed": "2024-01-03", "5. Time Zone": "US/Eastern"}'
    body = (
        f'{{"Meta Data": {meta}, "Time Series (Daily)": {{"2024-01-03": {first}, '
        f'"2024-01-02": {first}, "2024-01-03": {last}}}}}'
    )
    (tmp_path / "dup.json").write_text(body)

    report = ingest_alphavantage_files([tmp_path / "dup.json"], settings=settings)

    record = report.files[0].record
    assert record is not None
    assert (record.rows_in, record.rows_out) == (3, 2)
    assert record.quarantined_by_rule == {"date.duplicate": 1}
    day = _silver(settings).filter(pl.col("session_date") == date(2024, 1, 3))
    assert day["close"].to_list() == [10.2]
