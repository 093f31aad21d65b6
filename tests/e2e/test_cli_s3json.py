"""`marketlake ingest s3-json` as a user runs it, against a real S3 server."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest
import s3fs

from tests.e2e.conftest import CLI
from tests.s3server import S3Server

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _drop(server: S3Server) -> str:
    root = f"flatfiles/cli-{uuid.uuid4().hex[:10]}/prices"
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **server.storage_options())
    bar = {"symbol": "MSFT", "timestamp": "2024-01-02T14:00:00Z", "open": 370, "high": 372,
           "low": 369, "close": 371, "volume": 1200}  # fmt: skip
    lines = [json.dumps(bar), "{broken", json.dumps(bar | {"symbol": "BRK.B", "open": 360})]
    fs.pipe_file(f"{root}/2024/01/02/14/a.ndjson.gz", gzip.compress("\n".join(lines).encode()))
    fs.pipe_file(f"{root}/2024/01/03/09/b.json", json.dumps([bar | {"symbol": "ESZ4"}]).encode())
    return f"s3://{root}"


def test_ingest_into_an_s3_lake_using_the_lakes_endpoint(
    cli: CLI, s3_server: S3Server, s3_lake_uri: str
) -> None:
    url = _drop(s3_server)
    env = {
        "MARKETLAKE_LAKE__URI": s3_lake_uri,
        "MARKETLAKE_LAKE__ENDPOINT_URL": s3_server.endpoint_url,
        "MARKETLAKE_LAKE__ACCESS_KEY_ID": s3_server.access_key,
        "MARKETLAKE_LAKE__SECRET_ACCESS_KEY": s3_server.secret_key,
        "MARKETLAKE_LAKE__REGION": "us-east-1",
    }
    args = ("ingest", "s3-json", url, "--kind", "prices", "--from", "2024-01-02")

    first = cli(*args, "--interval", "1h", env=env)
    again = cli(*args, env=env)
    wider = cli(*args, "--to", "2024-01-03T10:00", env=env)
    quality = cli("quality", env=env)

    assert first.returncode == 0, first.stderr
    assert "2024/01/02/14/a.ndjson.gz" in first.stdout
    assert "published" in first.stdout
    assert "2024/01/03" not in first.stdout  # outside the window: not listed
    assert "1 of 1 objects read" in first.stdout
    assert "0 of 1 objects read" in again.stdout
    assert "unchanged (cursor)" in again.stdout
    assert "1 of 2 objects read" in wider.stdout
    assert "record.malformed" in quality.stdout
    everything = first.stdout + first.stderr + again.stdout + wider.stdout + quality.stdout
    assert s3_server.secret_key not in everything


def test_wrong_credentials_are_one_clear_line(cli: CLI, s3_server: S3Server) -> None:
    url = _drop(s3_server)
    wrong = "wrong-secret-abcdef0123456789"
    env = {
        "MARKETLAKE_SOURCES__S3_JSON__ENDPOINT_URL": s3_server.endpoint_url,
        "MARKETLAKE_SOURCES__S3_JSON__ACCESS_KEY_ID": s3_server.access_key,
        "MARKETLAKE_SOURCES__S3_JSON__SECRET_ACCESS_KEY": wrong,
        "MARKETLAKE_SOURCES__S3_JSON__REGION": "us-east-1",
    }

    result = cli("ingest", "s3-json", url, "--kind", "prices", "--from", "2024-01-02", env=env)

    assert result.returncode == 1
    assert "refused access" in result.stderr
    assert "MARKETLAKE_SOURCES__S3_JSON" in result.stderr
    assert "Traceback" not in result.stderr
    assert wrong not in result.stdout + result.stderr


def test_a_bad_kind_or_window_is_refused(cli: CLI, tmp_path: object) -> None:
    bad_kind = cli("ingest", "s3-json", "s3://b/p", "--kind", "quotes", "--from", "2024-01-02")
    bad_time = cli("ingest", "s3-json", "s3://b/p", "--kind", "prices", "--from", "soon")

    assert bad_kind.returncode == 1
    assert "unknown kind 'quotes'" in bad_kind.stderr
    assert bad_time.returncode == 1
    assert "not a date or time" in bad_time.stderr
