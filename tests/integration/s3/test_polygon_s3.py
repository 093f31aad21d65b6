"""Polygon/Massive flat files served by a real S3-compatible server, ingested into the lake."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest
import s3fs

from marketlake.config import Settings, load_settings
from marketlake.errors import SourceError
from marketlake.ingest_polygon import Progress, ingest_polygon
from marketlake.lake import open_lake
from marketlake.lake.silver import read_dataset, read_quarantine
from marketlake.sources.polygon.keys import day_key, symbol_key
from tests.s3server import S3Server
from tests.unit.sources.polygon.vendor import T0, agg, gz, trade

pytestmark = pytest.mark.integration

TRADES = "us_stocks_sip/trades_v1"
DAY1, DAY2, DAY3 = date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)
NS_DAY = 86_400 * 10**9


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    """A fresh bucket of flat files for one test."""
    name = f"flat-{uuid.uuid4().hex[:10]}"
    _fs(s3_server).mkdir(name)
    return name


def _fs(server: S3Server) -> s3fs.S3FileSystem:
    return s3fs.S3FileSystem(skip_instance_cache=True, **server.storage_options())


def _put(server: S3Server, bucket: str, key: str, data: bytes) -> None:
    _fs(server).pipe_file(f"{bucket}/{key}", data)


def _settings(tmp_path: Path, server: S3Server, bucket: str, secret: str | None = None) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        sources={
            "polygon": {
                "endpoint_url": server.endpoint_url,
                "bucket": bucket,
                "access_key_id": server.access_key,
                "secret_access_key": secret or server.secret_key,
                "backoff_s": 0,
                "retries": 1,
            }
        },
    )


def _day(day: date, lines: int = 2, price: float = 100.0) -> bytes:
    ts = T0 + (day - DAY1).days * NS_DAY
    return gz(
        "trades_v1",
        [trade("AAPL", f"{price + i}", "10", ts=ts + i) for i in range(lines)]
        + [trade("X:BTCUSD", "42000", "0.25", ts=ts)],
    )


def test_lists_downloads_lands_once_and_reports_a_missing_day(
    tmp_path: Path, s3_server: S3Server, bucket: str
) -> None:
    _put(s3_server, bucket, day_key(TRADES, DAY1), _day(DAY1))
    _put(s3_server, bucket, day_key(TRADES, DAY3), _day(DAY3))
    settings = _settings(tmp_path, s3_server, bucket)

    seen: list[Progress] = []
    report = ingest_polygon(TRADES, DAY1, DAY3, settings=settings, on_progress=seen.append)

    assert [(f.day, f.outcome) for f in report.files] == [
        (DAY1, "published"),
        (DAY2, "missing"),
        (DAY3, "published"),
    ]
    assert (seen[-1].files_done, seen[-1].rows) == (2, 6)
    assert seen[-1].bytes_done > 0
    trades = read_dataset(open_lake(settings), "trades")
    assert sorted(set(trades["symbol"].to_pylist())) == ["AAPL", "X:BTCUSD"]
    assert trades.num_rows == 6

    again = ingest_polygon(TRADES, DAY1, DAY3, settings=settings)
    assert [f.outcome for f in again.files] == ["unchanged", "missing", "unchanged"]
    assert read_dataset(open_lake(settings), "trades").num_rows == 6
    assert len(open_lake(settings).glob("bronze/polygon/*/*.csv.gz")) == 2


def test_a_republished_day_replaces_its_rows(
    tmp_path: Path, s3_server: S3Server, bucket: str
) -> None:
    settings = _settings(tmp_path, s3_server, bucket)
    _put(s3_server, bucket, day_key(TRADES, DAY1), _day(DAY1, lines=1))
    ingest_polygon(TRADES, DAY1, DAY1, settings=settings)
    _put(s3_server, bucket, day_key(TRADES, DAY1), _day(DAY1, lines=3, price=200.0))

    report = ingest_polygon(TRADES, DAY1, DAY1, settings=settings)

    assert [f.outcome for f in report.files] == ["published"]
    prices = sorted(read_dataset(open_lake(settings), "trades")["price"].to_pylist())
    assert prices == [200.0, 201.0, 202.0, 42000.0]


def test_per_symbol_layout_and_symbol_filter(
    tmp_path: Path, s3_server: S3Server, bucket: str
) -> None:
    minute = "us_stocks_sip/minute_aggs_v1"
    for sym in ("AAPL", "MSFT"):
        _put(
            s3_server,
            bucket,
            symbol_key(minute, DAY1, sym),
            gz("minute_aggs_v1", [agg(sym, 1, 2, 0.5, 1.5)]),
        )
    settings = _settings(tmp_path, s3_server, bucket)

    report = ingest_polygon(minute, DAY1, DAY1, settings=settings, symbols=["msft"])

    assert [f.key for f in report.files] == [symbol_key(minute, DAY1, "MSFT")]
    bars = read_dataset(open_lake(settings), "bars")
    assert bars["symbol"].to_pylist() == ["MSFT"]
    assert bars["interval"].to_pylist() == ["1m"]


def test_truncated_file_fails_alone_with_a_clear_error(
    tmp_path: Path, s3_server: S3Server, bucket: str
) -> None:
    broken = _day(DAY2, lines=200)
    _put(s3_server, bucket, day_key(TRADES, DAY1), _day(DAY1))
    _put(s3_server, bucket, day_key(TRADES, DAY2), broken[: len(broken) // 2])
    settings = _settings(tmp_path, s3_server, bucket)

    report = ingest_polygon(TRADES, DAY1, DAY2, settings=settings)

    assert [f.outcome for f in report.files] == ["published", "failed"]
    assert "not a complete gzip" in str(report.failed[0].error)
    assert "2024-01-03.csv.gz" in str(report.failed[0].error)
    assert read_dataset(open_lake(settings), "trades").num_rows == 3


def test_resumes_after_a_crash(tmp_path: Path, s3_server: S3Server, bucket: str) -> None:
    for day in (DAY1, DAY2, DAY3):
        _put(s3_server, bucket, day_key(TRADES, day), _day(day))
    settings = _settings(tmp_path, s3_server, bucket)

    class CrashError(Exception):
        pass

    def crash(p: Progress) -> None:
        raise CrashError

    with pytest.raises(CrashError):
        ingest_polygon(TRADES, DAY1, DAY3, settings=settings, on_progress=crash)
    report = ingest_polygon(TRADES, DAY1, DAY3, settings=settings)

    assert sorted(f.outcome for f in report.files).count("unchanged") == 1
    assert read_dataset(open_lake(settings), "trades").num_rows == 9


def test_bad_rows_are_quarantined_with_reasons(
    tmp_path: Path, s3_server: S3Server, bucket: str
) -> None:
    lines = [trade("AAPL", "100", "10"), trade("AAPL", "100", "-5"), trade("AAPL", "x", "1")]
    _put(s3_server, bucket, day_key(TRADES, DAY1), gz("trades_v1", lines))
    settings = _settings(tmp_path, s3_server, bucket)
    ingest_polygon(TRADES, DAY1, DAY1, settings=settings)
    q = read_quarantine(open_lake(settings), "trades")
    assert q["rule_id"].to_pylist() == ["size.invalid", "value.unparseable"]


def test_wrong_credentials_are_a_clear_error(
    tmp_path: Path, s3_server: S3Server, bucket: str
) -> None:
    settings = _settings(tmp_path, s3_server, bucket, secret="wrong-secret-123")
    with pytest.raises(SourceError, match=r"refused access.*secret_access_key") as info:
        ingest_polygon(TRADES, DAY1, DAY1, settings=settings)
    assert "wrong-secret-123" not in str(info.value)


def test_symbol_subsets_then_all_keep_each_row_once(
    tmp_path: Path, s3_server: S3Server, bucket: str
) -> None:
    _put(s3_server, bucket, day_key(TRADES, DAY1), _day(DAY1, lines=3))
    settings = _settings(tmp_path, s3_server, bucket)

    ingest_polygon(TRADES, DAY1, DAY1, settings=settings, symbols=["AAPL"])
    ingest_polygon(TRADES, DAY1, DAY1, settings=settings, symbols=["AAPL", "MSFT"])
    last = ingest_polygon(TRADES, DAY1, DAY1, settings=settings)

    assert [f.outcome for f in last.files] == ["published"]
    trades = read_dataset(open_lake(settings), "trades")
    rows = list(zip(trades["symbol"].to_pylist(), trades["price"].to_pylist(), strict=True))
    assert sorted(rows) == [
        ("AAPL", 100.0),
        ("AAPL", 101.0),
        ("AAPL", 102.0),
        ("X:BTCUSD", 42000.0),
    ]


def test_a_streamed_day_lands_and_publishes_in_chunks_on_an_s3_lake(
    tmp_path: Path, s3_server: S3Server, bucket: str, s3_lake_uri: str
) -> None:
    lines = [trade("AAPL", f"{100 + i % 10}", "5", ts=T0 + i) for i in range(2_500)]
    lines[1_234] = trade("AAPL", "100", "-1", ts=T0 + 1_234)
    _put(s3_server, bucket, day_key(TRADES, DAY1), gz("trades_v1", lines))
    base = _settings(tmp_path, s3_server, bucket)
    polygon = base.sources.polygon.model_copy(
        update={"stream_threshold_mib": 0, "chunk_rows": 1_000}
    )
    settings = load_settings(
        data_dir=tmp_path / "data",
        lake={
            "uri": s3_lake_uri,
            "endpoint_url": s3_server.endpoint_url,
            "access_key_id": s3_server.access_key,
            "secret_access_key": s3_server.secret_key,
        },
        sources={"polygon": polygon.model_dump() | {"secret_access_key": s3_server.secret_key}},
    )

    first = ingest_polygon(TRADES, DAY1, DAY1, settings=settings, symbols=["MSFT"])
    second = ingest_polygon(TRADES, DAY1, DAY1, settings=settings)  # from bronze on S3

    assert [f.outcome for f in (*first.files, *second.files)] == ["published", "published"]
    lake = open_lake(settings)
    assert len(lake.glob("bronze/polygon/*/*.csv.gz")) == 1
    assert read_dataset(lake, "trades").num_rows == 2_499
    assert len(lake.glob("silver/trades/symbol=AAPL/year=2024/*.parquet")) == 3
    assert read_quarantine(lake, "trades")["source_row"].to_pylist() == [1_236]
