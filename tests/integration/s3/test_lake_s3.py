"""The lake on a real S3-compatible server: settings, ingest, silver, and clear failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketlake.config import load_settings
from marketlake.errors import LakeError, LakeUnavailableError
from marketlake.lake import open_lake
from marketlake.lake.silver import read_dataset, read_quarantine
from tests.s3server import S3Server

pytestmark = pytest.mark.integration

CSV = b"""Date,Open,High,Low,Close,Adj Close,Volume
2024-01-02,10,11,9,10.5,10.4,1000
2024-01-03,10.5,12,10,11,10.9,1200
2024-01-04,null,null,null,null,null,null
"""


def _env(monkeypatch: pytest.MonkeyPatch, server: S3Server, uri: str, *, secret: str) -> None:
    monkeypatch.setenv("MARKETLAKE_LAKE__URI", uri)
    monkeypatch.setenv("MARKETLAKE_LAKE__ENDPOINT_URL", server.endpoint_url)
    monkeypatch.setenv("MARKETLAKE_LAKE__ACCESS_KEY_ID", server.access_key)
    monkeypatch.setenv("MARKETLAKE_LAKE__SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("MARKETLAKE_LAKE__REGION", "us-east-1")


def test_csv_ingest_lands_and_publishes_on_s3(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3_server: S3Server, s3_lake_uri: str
) -> None:
    from marketlake.ingest import ingest_csv

    _env(monkeypatch, s3_server, s3_lake_uri, secret=s3_server.secret_key)
    settings = load_settings(data_dir=tmp_path / "data")
    assert s3_server.secret_key not in repr(settings)
    (tmp_path / "MSFT.csv").write_bytes(CSV)

    first = ingest_csv([str(tmp_path / "MSFT.csv")], settings=settings)
    again = ingest_csv([str(tmp_path / "MSFT.csv")], settings=settings)

    assert [f.outcome for f in first.files] == ["published"]
    assert [f.outcome for f in again.files] == ["unchanged"]
    lake = open_lake(settings)
    assert lake.uri == s3_lake_uri
    bars = read_dataset(lake, "bars")
    assert bars["close"].to_pylist() == [10.5, 11.0]
    assert read_quarantine(lake, "bars")["rule_id"].to_pylist() == ["row.null"]
    assert lake.glob("bronze/csv_daily/*/*.csv")
    assert not (tmp_path / "data" / "lake").exists()  # nothing went to local disk


def test_wrong_secret_is_a_clear_error_without_the_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3_server: S3Server, s3_lake_uri: str
) -> None:
    _env(monkeypatch, s3_server, s3_lake_uri, secret="not-the-secret-xyz")
    lake = open_lake(load_settings(data_dir=tmp_path))
    with pytest.raises(LakeError, match=r"no permission.*credentials") as info:
        lake.write_json("x/a.json", {"a": 1})
    assert "not-the-secret-xyz" not in str(info.value)


def test_unreachable_endpoint_is_transient_and_says_which_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3_server: S3Server, s3_lake_uri: str
) -> None:
    _env(monkeypatch, s3_server, s3_lake_uri, secret=s3_server.secret_key)
    monkeypatch.setenv("MARKETLAKE_LAKE__ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("MARKETLAKE_LAKE__MAX_ATTEMPTS", "1")
    lake = open_lake(load_settings(data_dir=tmp_path))
    with pytest.raises(LakeUnavailableError, match="ENDPOINT_URL") as info:
        lake.exists("x/a.json")
    assert info.value.transient
