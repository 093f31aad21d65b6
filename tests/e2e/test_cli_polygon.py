"""`marketlake ingest polygon` and a whole lake on S3, as a user runs them (real S3 server)."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest
import s3fs

from marketlake.sources.csv_daily.sample import write_daily_csvs
from marketlake.sources.polygon.keys import day_key
from marketlake.sources.polygon.sample import write_flat_files
from tests.e2e.conftest import CLI
from tests.s3server import S3Server
from tests.unit.sources.polygon.vendor import gz, quote

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _lake_env(server: S3Server, uri: str) -> dict[str, str]:
    return {
        "MARKETLAKE_LAKE__URI": uri,
        "MARKETLAKE_LAKE__ENDPOINT_URL": server.endpoint_url,
        "MARKETLAKE_LAKE__ACCESS_KEY_ID": server.access_key,
        "MARKETLAKE_LAKE__SECRET_ACCESS_KEY": server.secret_key,
        "MARKETLAKE_LAKE__REGION": "us-east-1",
    }


def test_ingest_polygon_quotes_into_an_s3_lake(
    cli: CLI, s3_server: S3Server, s3_lake_uri: str
) -> None:
    bucket = f"flat-{uuid.uuid4().hex[:10]}"
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **s3_server.storage_options())
    lines = [quote("MSFT", "10", "10.2"), quote("MSFT", "10.5", "10.1"), quote("MSFT", "1", "-1")]
    fs.pipe_file(
        f"{bucket}/{day_key('us_stocks_sip/quotes_v1', date(2024, 1, 2))}", gz("quotes_v1", lines)
    )
    env = _lake_env(s3_server, s3_lake_uri) | {
        "MARKETLAKE_SOURCES__POLYGON__ENDPOINT_URL": s3_server.endpoint_url,
        "MARKETLAKE_SOURCES__POLYGON__BUCKET": bucket,
        "MARKETLAKE_SOURCES__POLYGON__ACCESS_KEY_ID": s3_server.access_key,
        "MARKETLAKE_SOURCES__POLYGON__SECRET_ACCESS_KEY": s3_server.secret_key,
    }
    args = ("ingest", "polygon", "--dataset", "us_stocks_sip/quotes_v1", "--from", "2024-01-02")

    first = cli(*args, "--to", "2024-01-03", env=env)
    again = cli(*args, env=env)

    assert first.returncode == 0, first.stderr
    assert "published" in first.stdout
    assert "2024-01-03: no file on the server" in first.stdout
    assert "unchanged" in again.stdout
    quality = cli("quality", env=env)
    assert "price.range" in quality.stdout
    assert s3_server.secret_key not in first.stdout + first.stderr + quality.stdout


def test_every_command_works_unchanged_on_an_s3_lake(
    cli: CLI, tmp_path: Path, s3_server: S3Server, s3_lake_uri: str
) -> None:
    write_daily_csvs(
        tmp_path / "csv", symbols=("MSFT",), start=date(2024, 1, 1), end=date(2024, 3, 31)
    )
    env = _lake_env(s3_server, s3_lake_uri)

    ingest = cli("ingest", "csv", str(tmp_path / "csv"), env=env)
    build = cli("build", env=env)
    status = cli("status", env=env)
    quality = cli("quality", env=env)

    assert ingest.returncode == 0, ingest.stderr
    assert build.returncode == 0, build.stdout + build.stderr
    assert status.returncode == 0
    assert "ingest.csv_daily" in status.stdout
    assert quality.returncode == 0
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **s3_server.storage_options())
    assert fs.glob(f"{s3_lake_uri[5:]}/silver/bars/*/*/*.parquet")
    assert not (tmp_path / "data" / "lake").exists()


def test_wrong_lake_secret_is_one_red_line(cli: CLI, s3_server: S3Server, s3_lake_uri: str) -> None:
    env = _lake_env(s3_server, s3_lake_uri) | {"MARKETLAKE_LAKE__SECRET_ACCESS_KEY": "nope-42"}
    proc = cli("status", env=env)
    assert proc.returncode == 1
    assert "no permission" in proc.stderr
    assert "credentials" in proc.stderr
    assert "nope-42" not in proc.stderr + proc.stdout


def test_ingest_polygon_from_a_local_folder_needs_no_credentials(cli: CLI, tmp_path: Path) -> None:
    sample = write_flat_files(
        tmp_path / "flat", days=2, trades_per_symbol_day=200, quotes_per_symbol_day=10
    )
    args = ("ingest", "polygon", "--dataset", "us_stocks_sip/trades_v1")
    days = ("--from", "2024-01-02", "--to", "2024-01-03", "--source-dir", str(sample.root))

    subset = cli(*args, *days, "--symbols", "AAPL")
    everything = cli(*args, *days)
    again = cli(*args, *days)
    wrong = cli(*args, *days[:4], "--source-dir", str(tmp_path / "nope"))

    assert subset.returncode == 0, subset.stderr
    assert everything.returncode == 0, everything.stderr
    assert everything.stdout.count("published") >= 2
    assert again.stdout.count("unchanged") >= 2
    assert "published" not in again.stdout
    assert wrong.returncode == 1
    assert "is not a folder" in wrong.stderr
    status = cli("quality")
    assert "size.invalid" in status.stdout
