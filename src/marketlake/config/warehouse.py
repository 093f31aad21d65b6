"""The warehouse: DuckDB (default), PostgreSQL, Snowflake, and the gold layer's thresholds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class DuckDBSettings(BaseModel):
    """The embedded default warehouse."""

    path: str = Field("", description="DuckDB file; empty means <data_dir>/warehouse.duckdb.")
    threads: int = Field(2, ge=1)
    memory_limit: str = "4GB"


class GoldSettings(BaseModel):
    """Gold analytics: the trading calendar and the thresholds of the anomaly rules (dbt vars)."""

    calendar: str = Field(
        "XNYS", description="exchange-calendars code of the trading calendar in dim_date."
    )
    anomaly_return_z: float = Field(
        4.0, gt=0, description="|z-score| of a daily return (against its 20-day window) flagged."
    )
    anomaly_volume_ratio: float = Field(
        5.0, gt=1, description="Volume at least this many times its 20-day average is a spike."
    )
    anomaly_gap: float = Field(
        0.10, gt=0, description="|open / previous close - 1| at least this is a gap."
    )
    anomaly_stale_days: int = Field(
        5, ge=2, description="This many consecutive unchanged closes is a stale price."
    )


class PostgresSettings(BaseModel):
    """The PostgreSQL warehouse (``warehouse.target: postgres``); the password is a secret."""

    host: str = Field("127.0.0.1", description="Server host name or address.")
    port: int = Field(5432, ge=1, le=65535)
    user: str = Field("postgres", description="Role marketlake connects as.")
    password: SecretStr | None = Field(
        None, description="Password of the role (never printed; passed to dbt by env var)."
    )
    dbname: str = Field("marketlake", description="Database holding the warehouse schemas.")
    schema_prefix: str = Field(
        "",
        pattern=r"^[a-z_][a-z0-9_]*$|^$",
        description="Prefix of the warehouse's schemas (silver, staging, marts...): several "
        "warehouses can share one database, e.g. `dev_` gives dev_silver, dev_marts.",
    )
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "prefer"
    connect_timeout_s: int = Field(
        10, ge=1, description="Seconds to wait for the server to accept a connection."
    )
    load_chunk_rows: int = Field(
        500_000, ge=1_000, description="Silver rows read and COPYed into PostgreSQL at a time."
    )
    load_ticks: bool = Field(
        False, description="Load silver trades and quotes too (no model reads them; large)."
    )
    threads: int = Field(2, ge=1, description="Models dbt builds at once on the server.")


class SnowflakeSettings(BaseModel):
    """The Snowflake warehouse (``warehouse.target: snowflake``); secrets never printed.

    Silver reaches Snowflake through an external stage on the lake's S3 bucket: a storage
    integration (preferred) or an AWS key pair in the stage's CREDENTIALS.
    """

    account: str = Field("", description="Account identifier (orgname-account); empty: none.")
    user: str = Field("", description="User marketlake connects as.")
    password: SecretStr | None = Field(
        None, description="Password (never printed; passed to dbt by env var)."
    )
    private_key_path: str | None = Field(
        None, description="PEM private key for key-pair authentication (instead of a password)."
    )
    private_key_passphrase: SecretStr | None = Field(
        None, description="Passphrase of an encrypted private key."
    )
    role: str | None = Field(None, description="Role to use; None: the user's default role.")
    warehouse: str = Field("", description="Virtual warehouse running the loads and models.")
    database: str = Field("MARKETLAKE", description="Database holding silver, staging, marts.")
    schema_name: str = Field(
        "PUBLIC", description="dbt's target schema (models set their own: staging, marts)."
    )
    threads: int = Field(4, ge=1, description="dbt threads (models built at once).")
    stage_name: str = Field(
        "marketlake_lake", pattern=r"^[A-Za-z_][A-Za-z0-9_$]*$", description="External stage."
    )
    stage_url: str = Field(
        "", description="s3:// URL of the lake root the stage points at; empty: lake.uri."
    )
    storage_integration: str | None = Field(
        None, description="Storage integration of the stage (else the AWS key pair below)."
    )
    aws_key_id: str | None = Field(
        None, description="AWS key id of the stage; None: lake.access_key_id."
    )
    aws_secret_key: SecretStr | None = Field(
        None, description="AWS secret key of the stage; None: lake.secret_access_key."
    )
    file_format: str = Field(
        "marketlake_parquet",
        pattern=r"^[A-Za-z_][A-Za-z0-9_$]*$",
        description="Named Parquet file format the COPY INTO statements use.",
    )
    host: str | None = Field(None, description="Host override (private link); None: default.")
    port: int | None = Field(None, ge=1, le=65535, description="Port override; None: 443.")
    connect_timeout_s: int = Field(
        30, ge=1, description="Seconds to wait for Snowflake to accept a connection."
    )


class WarehouseSettings(BaseModel):
    """The dbt-built warehouse (gold)."""

    target: Literal["duckdb", "postgres", "snowflake"] = "duckdb"
    duckdb: DuckDBSettings = DuckDBSettings()
    postgres: PostgresSettings = PostgresSettings()
    snowflake: SnowflakeSettings = SnowflakeSettings()
    gold: GoldSettings = GoldSettings()
    gold_uri: str = Field(
        "", description="Parquet exports of gold marts; empty means <data_dir>/gold."
    )
