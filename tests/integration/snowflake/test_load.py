"""The SQL that loads silver into Snowflake: it parses as Snowflake SQL, it is incremental by
file (named by ingest id), a dry run masks every secret, and a real build without an account
fails clearly before connecting anywhere."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from pydantic import SecretStr

from marketlake import schemas
from marketlake.config import Settings, load_settings
from marketlake.errors import ConfigError, WarehouseError
from marketlake.lake.silver import publish_ingest, retract_ingest
from marketlake.lake.store import Lake, open_lake
from marketlake.warehouse.snowflake_dbt import profile_yaml
from marketlake.warehouse.snowflake_target import build_snowflake, list_silver, plan_load
from tests.integration.warehouse.support import refuse_network
from tests.s3server import S3Server

from .sqlcheck import snowflake_problems

pytestmark = pytest.mark.integration

AWS_SECRET = "stage-secret-9f3a"
PASSWORD = "login-password-77c1"


def bars(symbol: str, ingest_id: str, *, first: date, n: int, price: float) -> pa.Table:
    """``n`` daily bars of one delivery."""
    days = [first + timedelta(days=i) for i in range(n)]
    closes = [price + i for i in range(n)]
    return pa.table(
        {
            "ts_event": pa.array([datetime(d.year, d.month, d.day, tzinfo=UTC) for d in days]),
            "session_date": pa.array(days, pa.date32()),
            "interval": ["1d"] * n,
            "symbol": [symbol] * n,
            "open": closes,
            "high": closes,
            "low": closes,
            "close": closes,
            "volume": [10.0] * n,
            "vwap": closes,
            "trade_count": pa.array([None] * n, pa.int64()),
            "adj_close": pa.array([None] * n, pa.float64()),
            "dividend": pa.array([None] * n, pa.float64()),
            "split_factor": pa.array([None] * n, pa.float64()),
            "source": ["test"] * n,
            "ingest_id": [ingest_id] * n,
            "quality_flags": pa.array([None] * n, pa.string()),
        }
    ).cast(schemas.BARS)


def publish(lake: Lake, rows: pa.Table) -> None:
    publish_ingest(
        lake,
        dataset="bars",
        source="test",
        ingest_id=rows["ingest_id"][0].as_py(),
        rows=rows,
        quarantined=schemas.QUARANTINE.empty_table(),
        rows_in=rows.num_rows,
        flagged_by_rule={},
    )


def with_snowflake(settings: Settings, **values: object) -> Settings:
    sf = settings.warehouse.snowflake.model_copy(update=values)
    warehouse = settings.warehouse.model_copy(update={"snowflake": sf})
    return settings.model_copy(update={"warehouse": warehouse})


@pytest.fixture
def staged(settings: Settings) -> Settings:
    """Local-lake settings whose stage points at an S3 copy, read with a key pair."""
    return with_snowflake(
        settings,
        stage_url="s3://bucket/lake",
        aws_key_id="AKIAEXAMPLE",
        aws_secret_key=SecretStr(AWS_SECRET),
        password=SecretStr(PASSWORD),
    )


def test_every_load_statement_parses_as_snowflake_sql(staged: Settings, lake: Lake) -> None:
    publish(lake, bars("AAPL", "a" * 16, first=date(2024, 1, 1), n=400, price=100.0))
    publish(lake, bars("X:BTCUSD", "b" * 16, first=date(2024, 1, 1), n=3, price=9.0))
    integration = with_snowflake(staged, storage_integration="lake_s3")

    for settings in (staged, integration):
        plan = plan_load(settings, list_silver(lake), loaded={})
        problems = {s[:70]: p for s in plan.statements if (p := snowflake_problems(s))}
        assert problems == {}
        assert any(s.startswith("copy into MARKETLAKE.silver.bars\n") for s in plan.statements)
    assert "storage_integration = lake_s3" in plan_load(integration, {}, loaded={}).script()


def test_the_load_copies_every_live_file_of_each_ingest_once(staged: Settings, lake: Lake) -> None:
    # 2024 and 2025 rows of one delivery: two partitions, two files of the same ingest.
    publish(lake, bars("AAPL", "a" * 16, first=date(2024, 12, 1), n=60, price=100.0))
    plan = plan_load(staged, list_silver(lake), loaded={})

    copies = [s for s in plan.statements if s.startswith("copy into MARKETLAKE.silver.bars\n")]
    assert len(copies) == 1
    assert "'symbol=AAPL/year=2024/aaaaaaaaaaaaaaaa.parquet'" in copies[0]
    assert "'symbol=AAPL/year=2025/aaaaaaaaaaaaaaaa.parquet'" in copies[0]
    assert "match_by_column_name = case_insensitive" in copies[0]
    assert "include_metadata = (_source_file = metadata$filename)" in copies[0]
    assert (plan.files_new, plan.ingests) == (2, {"bars": ["a" * 16]})


def test_a_second_load_touches_only_new_reprocessed_and_retracted_ingests(
    staged: Settings, lake: Lake
) -> None:
    a, b, c, d = ("a" * 16, "b" * 16, "c" * 16, "d" * 16)
    publish(lake, bars("AAPL", a, first=date(2024, 1, 1), n=5, price=100.0))
    publish(lake, bars("MSFT", b, first=date(2024, 1, 1), n=5, price=200.0))
    publish(lake, bars("IBM", d, first=date(2024, 1, 1), n=5, price=50.0))
    first = list_silver(lake)
    loaded = {("bars", f.key): f.fingerprint for f in first["bars"]}
    assert plan_load(staged, first, loaded=loaded).silver == []  # nothing to do

    publish(lake, bars("AAPL", a, first=date(2024, 1, 1), n=6, price=101.0))  # re-processed
    retract_ingest(lake, dataset="bars", ingest_id=b)  # superseded
    publish(lake, bars("NVDA", c, first=date(2024, 1, 1), n=5, price=300.0))  # new
    plan = plan_load(staged, list_silver(lake), loaded=loaded)

    script = plan.script()
    assert (plan.files_new, plan.files_reloaded, plan.files_removed) == (1, 1, 1)
    assert plan.ingests == {"bars": sorted([a, b, c])}
    assert d not in script  # unchanged ingest: neither deleted nor copied
    delete = next(s for s in plan.silver if s.startswith("delete from MARKETLAKE.silver.bars "))
    assert f"symbol=AAPL/year=2024/{a}.parquet" in delete
    assert f"symbol=MSFT/year=2024/{b}.parquet" in delete
    copy = next(s for s in plan.silver if s.startswith("copy into"))
    assert f"'symbol=AAPL/year=2024/{a}.parquet'" in copy
    assert f"'symbol=NVDA/year=2024/{c}.parquet'" in copy
    assert b not in copy
    # one transaction, rows deleted before the re-processed file is copied again
    assert plan.silver[0] == "begin transaction"
    assert plan.silver[-1] == "commit"
    assert plan.silver.index(delete) < plan.silver.index(copy)


def test_dry_run_shows_sql_and_profile_with_every_secret_masked(
    staged: Settings, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse_network(monkeypatch)
    publish(lake, bars("AAPL", "a" * 16, first=date(2024, 1, 1), n=5, price=100.0))

    result = build_snowflake(staged, dry_run=True)

    text = result.dry_run_text()
    assert AWS_SECRET not in text
    assert PASSWORD not in text
    assert "aws_secret_key = '**********'" in result.sql
    assert "AKIAEXAMPLE" in result.sql
    assert 'env_var("DBT_ENV_SECRET_SNOWFLAKE_PASSWORD")' in result.profile
    assert "<unset: warehouse.snowflake.account>" in result.profile
    assert result.dbt_command[:3] == ["build", "--exclude-resource-type", "unit_test"]
    assert result.files_new == 1


def test_profile_uses_key_pair_authentication_when_a_key_is_set(staged: Settings) -> None:
    keyed = with_snowflake(
        staged,
        password=None,
        private_key_path="/keys/rsa_key.p8",
        private_key_passphrase=SecretStr("key-phrase-1"),
        role="LOADER",
    )
    text = profile_yaml(keyed)
    assert "private_key_path: /keys/rsa_key.p8" in text
    assert "DBT_ENV_SECRET_SNOWFLAKE_KEY_PASSPHRASE" in text
    assert "key-phrase-1" not in text
    assert "password" not in text
    assert "role: LOADER" in text


def test_build_without_an_account_fails_clearly_and_connects_nowhere(
    staged: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse_network(monkeypatch)
    with pytest.raises(ConfigError, match=r"no Snowflake account.*account, user, warehouse"):
        build_snowflake(staged, dry_run=False)


def test_a_local_lake_needs_a_stage_url(settings: Settings) -> None:
    with pytest.raises(ConfigError, match=r"external stage on S3.*lake is /") as info:
        build_snowflake(settings, dry_run=True)
    assert "stage_url" in str(info.value)


def test_dry_run_on_an_s3_lake_stages_it_where_it_is(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3_server: S3Server, s3_lake_uri: str
) -> None:
    monkeypatch.setenv("MARKETLAKE_LAKE__URI", s3_lake_uri)
    monkeypatch.setenv("MARKETLAKE_LAKE__ENDPOINT_URL", s3_server.endpoint_url)
    monkeypatch.setenv("MARKETLAKE_LAKE__ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("MARKETLAKE_LAKE__SECRET_ACCESS_KEY", s3_server.secret_key)
    settings = load_settings(data_dir=tmp_path / "data")
    publish(open_lake(settings), bars("AAPL", "a" * 16, first=date(2024, 1, 1), n=5, price=1.0))

    result = build_snowflake(settings, dry_run=True)

    bucket_path = s3_lake_uri.removeprefix("s3://")
    endpoint = s3_server.endpoint_url.split("://", 1)[1]
    assert f"url = 's3compat://{bucket_path}/' endpoint = '{endpoint}'" in result.sql
    assert s3_server.secret_key not in result.dry_run_text()
    assert "'symbol=AAPL/year=2024/aaaaaaaaaaaaaaaa.parquet'" in result.sql
    problems = [p for s in result.sql.split(";\n\n") if s.strip() for p in snowflake_problems(s)]
    assert problems == []


def test_dbt_accepts_the_build_command_line(staged: Settings) -> None:
    from dbt.cli.main import cli

    from marketlake.warehouse.snowflake_dbt import dbt_command, dbt_paths_root

    Path(dbt_paths_root(staged)).mkdir(parents=True)
    command = dbt_command(staged)

    context = cli.commands[command[0]].make_context(command[0], command[1:])

    assert context.params["target"] == "snowflake"
    assert "unit_test" in str(context.params["exclude_resource_types"])


def test_an_unreachable_account_is_one_clear_error_without_its_secrets(
    staged: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    real_connect = socket.socket.connect

    def loopback_only(sock: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if host not in {"127.0.0.1", "::1"}:
            raise AssertionError(f"connection attempted beyond this machine: {address!r}")
        real_connect(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    account = with_snowflake(
        staged, account="offline-check", user="u", warehouse="w", host="127.0.0.1", port=9
    )
    account = with_snowflake(account, connect_timeout_s=2)

    with pytest.raises(WarehouseError, match="cannot connect to Snowflake account") as info:
        build_snowflake(account, dry_run=False)

    message = str(info.value)
    assert "\n" not in message
    assert PASSWORD not in message
    assert AWS_SECRET not in message
