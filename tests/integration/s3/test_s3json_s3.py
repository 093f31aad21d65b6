"""JSON records in a real S3-compatible server (SeaweedFS), ingested into the lake."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import s3fs

from marketlake.config import Settings, load_settings
from marketlake.errors import SourceError
from marketlake.ingest_s3json import ingest_s3json
from marketlake.lake import open_lake
from marketlake.lake.bronze import read_manifest
from marketlake.lake.silver import read_dataset, read_quarantine
from marketlake.sources.s3_json import S3JsonClient, parse_moment
from marketlake.sources.s3_json.listing import S3JsonUnavailableError
from tests.s3server import S3Server

pytestmark = pytest.mark.integration

START, END = parse_moment("2024-01-02T13:00"), parse_moment("2024-01-02T15:30")


@pytest.fixture
def root(s3_server: S3Server) -> str:
    """A fresh prefix of JSON drops in the server's flatfiles bucket."""
    return f"s3://flatfiles/drops-{uuid.uuid4().hex[:10]}/prices"


def _fs(server: S3Server) -> s3fs.S3FileSystem:
    return s3fs.S3FileSystem(skip_instance_cache=True, **server.storage_options())


def _put(server: S3Server, root: str, key: str, data: bytes) -> None:
    _fs(server).pipe_file(f"{root[5:]}/{key}", data)


def _settings(tmp_path: Path, server: S3Server, secret: str | None = None) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        sources={
            "s3_json": {
                "endpoint_url": server.endpoint_url,
                "access_key_id": server.access_key,
                "secret_access_key": secret or server.secret_key,
                "region": "us-east-1",
                "interval": "1h",
                "retries": 1,
                "backoff_s": 0,
            }
        },
    )


def _bar(symbol: str, hour: int, close: float = 101.0, **extra: Any) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "timestamp": f"2024-01-02T{hour:02d}:00:00Z",
        "open": 100.0,
        "high": 102.0,
        "low": 99.0,
        "close": close,
        "volume": 1000,
    } | extra


def _ndjson(rows: list[dict[str, Any]], *, zipped: bool = False) -> bytes:
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    return gzip.compress(data) if zipped else data


def _array(rows: list[dict[str, Any]], *, zipped: bool = False) -> bytes:
    data = json.dumps(rows, indent=1).encode()
    return gzip.compress(data) if zipped else data


def test_window_formats_faults_and_incremental_runs(
    tmp_path: Path, s3_server: S3Server, root: str
) -> None:
    _put(s3_server, root, "2024/01/02/12/a.json", _ndjson([_bar("MSFT", 12)]))  # before
    _put(s3_server, root, "2024/01/02/13/a.ndjson.gz", _ndjson([_bar("MSFT", 13)], zipped=True))
    _put(s3_server, root, "2024/01/02/13/b.json", _array([_bar("BRK.B", 13), _bar("ESZ4", 13)]))
    bad_line = b'{"symbol": "AAPL", "timestamp": \n'
    _put(s3_server, root, "2024/01/02/14/c.json", _ndjson([_bar("AAPL", 14)]) + bad_line
         + _ndjson([_bar("X:BTCUSD", 14, close=101.5)]))  # fmt: skip
    _put(s3_server, root, "2024/01/02/15/d.json.gz", _array([_bar("AAPL", 15)], zipped=True))
    _put(s3_server, root, "2024/01/02/15/e.json.gz", gzip.compress(b'{"a": 1}\n' * 50)[:-12])
    _put(s3_server, root, "2024/01/02/16/f.json", _ndjson([_bar("MSFT", 16)]))  # after
    settings = _settings(tmp_path, s3_server)

    report = ingest_s3json(root, "prices", START, END, settings=settings)

    assert report.prefixes == ["2024/01/02/13/", "2024/01/02/14/", "2024/01/02/15/"]
    outcomes = {o.key: o.outcome for o in report.objects}
    assert outcomes == {
        "2024/01/02/13/a.ndjson.gz": "published",
        "2024/01/02/13/b.json": "published",
        "2024/01/02/14/c.json": "published",
        "2024/01/02/15/d.json.gz": "published",
        "2024/01/02/15/e.json.gz": "failed",
    }
    [failed] = report.failed
    assert "not a complete gzip stream" in str(failed.error)
    assert failed.url in str(failed.error)
    lake = open_lake(settings)
    landed = {e.original_name for e in read_manifest(lake, "s3_json")}
    assert landed == set(outcomes)  # raw as received, the broken one too; nothing outside
    bars = read_dataset(lake, "bars")
    assert sorted(bars["symbol"].to_pylist()) == [
        "AAPL",
        "AAPL",
        "BRK.B",
        "ESZ4",
        "MSFT",
        "X:BTCUSD",
    ]
    assert set(bars["interval"].to_pylist()) == {"1h"}
    quarantine = read_quarantine(lake, "bars")
    assert quarantine["rule_id"].to_pylist() == ["record.malformed"]
    assert quarantine["source_row"].to_pylist() == [2]
    assert quarantine["raw"].to_pylist() == [bad_line.decode().strip()]

    again = ingest_s3json(root, "prices", START, END, settings=settings)
    assert [o.key for o in again.read] == ["2024/01/02/15/e.json.gz"]  # only the failed one
    assert read_dataset(lake, "bars").num_rows == 6

    _put(s3_server, root, "2024/01/02/15/g.ndjson", _ndjson([_bar("IBM", 15)]))
    later = ingest_s3json(root, "prices", START, END, settings=settings)
    assert {o.key: o.outcome for o in later.read} == {
        "2024/01/02/15/e.json.gz": "failed",
        "2024/01/02/15/g.ndjson": "published",
    }
    assert read_dataset(lake, "bars").num_rows == 7


def test_a_rewritten_object_supersedes_its_earlier_rows(
    tmp_path: Path, s3_server: S3Server, root: str
) -> None:
    settings = _settings(tmp_path, s3_server)
    _put(s3_server, root, "2024/01/02/14/a.json", _ndjson([_bar("MSFT", 14, close=101.0)]))
    ingest_s3json(root, "prices", START, END, settings=settings)
    rewritten = [_bar("MSFT", 14, close=100.5), _bar("MSFT", 14, close=100.0, volume=5)]
    _put(s3_server, root, "2024/01/02/14/a.json", _array(rewritten, zipped=True))

    report = ingest_s3json(root, "prices", START, END, settings=settings)

    assert [(o.outcome, o.landed_new) for o in report.read] == [("published", True)]
    lake = open_lake(settings)
    bars = read_dataset(lake, "bars")
    assert bars["close"].to_pylist() == [100.0]  # the last record of a duplicate pair wins
    assert read_quarantine(lake, "bars")["rule_id"].to_pylist() == ["date.duplicate"]
    assert len(read_manifest(lake, "s3_json")) == 2
    assert ingest_s3json(root, "prices", START, END, settings=settings).read == []


def test_indicators_and_anomalies_from_s3(tmp_path: Path, s3_server: S3Server, root: str) -> None:
    settings = _settings(tmp_path, s3_server)
    indicators = root.replace("/prices", "/indicators")
    _put(s3_server, indicators, "2024/01/02/14/i.json.gz", _ndjson([
        {"symbol": "MSFT", "timestamp": 1704204000, "rsi": 55.5, "sma_20": 370.2, "macd": -0.4},
        {"symbol": "MSFT", "timestamp": 1704207600000, "rsi": 101, "ema_12": 371.0},
    ], zipped=True))  # fmt: skip
    anomalies = root.replace("/prices", "/anomalies")
    _put(s3_server, anomalies, "2024/01/02/14/x.json", _array([
        {"symbol": "ESZ4", "timestamp": "2024-01-02T09:30:00-05:00", "rule": "gap",
         "value": 0.12, "severity": "high", "prev_close": 4700},
    ]))  # fmt: skip

    ind = ingest_s3json(indicators, "indicators", START, END, settings=settings)
    ano = ingest_s3json(anomalies, "anomalies", START, END, settings=settings)

    assert [o.outcome for o in ind.objects + ano.objects] == ["published", "published"]
    lake = open_lake(settings)
    rows = read_dataset(lake, "indicators").to_pylist()
    assert sorted((r["name"], r["value"]) for r in rows) == [
        ("ema_12", 371.0), ("macd", -0.4), ("rsi", 55.5), ("sma_20", 370.2)
    ]  # fmt: skip
    assert {r["interval"] for r in rows} == {"1h"}
    assert read_quarantine(lake, "indicators")["rule_id"].to_pylist() == ["indicator.range"]
    [anomaly] = read_dataset(lake, "anomalies").to_pylist()
    assert (anomaly["kind"], anomaly["score"], anomaly["severity"]) == ("gap", 0.12, "high")
    assert json.loads(anomaly["details"]) == {"prev_close": 4700}
    assert anomaly["ts_event"] == datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


def test_wrong_credentials_fail_clearly_without_the_secret(
    tmp_path: Path, s3_server: S3Server, root: str
) -> None:
    _put(s3_server, root, "2024/01/02/14/a.json", _ndjson([_bar("MSFT", 14)]))
    wrong = "not-the-secret-0123456789abcdef"
    settings = _settings(tmp_path, s3_server, secret=wrong)

    with pytest.raises(SourceError) as caught:
        ingest_s3json(root, "prices", START, END, settings=settings)

    text = str(caught.value)
    assert "refused access" in text
    assert "sources.s3_json.access_key_id" in text
    assert wrong not in text
    assert s3_server.secret_key not in text


def test_unreachable_endpoint_is_a_clear_transient_error(tmp_path: Path, root: str) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data",
        sources={"s3_json": {"endpoint_url": "http://127.0.0.1:9", "retries": 1, "backoff_s": 0,
                             "connect_timeout_s": 1, "access_key_id": "k",
                             "secret_access_key": "s"}},
    )  # fmt: skip
    client = S3JsonClient(root, settings.sources.s3_json, sleep=lambda _: None)

    with pytest.raises(S3JsonUnavailableError, match="after 2 attempts") as caught:
        ingest_s3json(root, "prices", START, END, settings=settings, client=client)

    assert caught.value.transient
    assert "sources.s3_json.endpoint_url" in str(caught.value)


def test_a_missing_bucket_is_named(tmp_path: Path, s3_server: S3Server) -> None:
    settings = _settings(tmp_path, s3_server)

    with pytest.raises(SourceError, match="does not exist"):
        ingest_s3json("s3://no-such-bucket-x1/p", "prices", START, END, settings=settings)
