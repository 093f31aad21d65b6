"""Settings: defaults < ``marketlake.yaml`` < ``MARKETLAKE_*`` environment variables < arguments.

Nested settings use ``__`` in environment names: ``MARKETLAKE_LAKE__URI=s3://bucket/prefix``.
The YAML file is ``./marketlake.yaml`` unless ``MARKETLAKE_CONFIG`` names another one.
Secrets are ``SecretStr``: they print as ``**********`` and are never logged.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from marketlake.errors import ConfigError

CONFIG_ENV = "MARKETLAKE_CONFIG"
DEFAULT_CONFIG_FILE = "marketlake.yaml"


def s3fs_options(
    *,
    endpoint_url: str | None,
    region: str | None,
    key: str | None,
    secret: SecretStr | None,
    connect_timeout_s: float,
    retries: dict[str, Any],
) -> dict[str, Any]:
    """s3fs options for one S3-compatible store (the secret revealed only here, never logged).

    Listings are never cached: other processes write the same prefixes. ``retries`` is
    botocore's retry config (``{"max_attempts": 1}`` where marketlake retries itself).
    """
    client: dict[str, Any] = {}
    if endpoint_url:
        client["endpoint_url"] = endpoint_url
    if region:
        client["region_name"] = region
    options: dict[str, Any] = {
        "client_kwargs": client,
        "use_listings_cache": False,
        "config_kwargs": {"connect_timeout": connect_timeout_s, "retries": retries},
    }
    if key:
        options["key"] = key
    if secret:
        options["secret"] = secret.get_secret_value()
    return options


class LakeSettings(BaseModel):
    """Where bronze and silver live: a local folder or an ``s3://`` URI."""

    uri: str = Field("", description="Lake root; empty means <data_dir>/lake.")
    endpoint_url: str | None = Field(
        None, description="S3-compatible endpoint, e.g. http://127.0.0.1:8333"
    )
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    region: str | None = None
    connect_timeout_s: float = Field(
        5.0, gt=0, description="Seconds to wait for the S3 endpoint to accept a connection."
    )
    max_attempts: int = Field(
        3, ge=1, description="Attempts per S3 request (botocore retries transient errors)."
    )


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


class QualitySettings(BaseModel):
    """Thresholds of the validation rules (see ``marketlake quality --rules``)."""

    price_min: float = Field(0.01, gt=0, description="Prices must be > price_min (exclusive).")
    price_max: float = Field(
        1_000_000.0, gt=0, description="Prices must be < price_max (exclusive)."
    )
    jump_factor: float = Field(
        20.0,
        gt=1,
        description="A close this many times above/below its neighbours' median is flagged.",
    )
    jump_window: int = Field(5, ge=3, description="Centred window (rows) of that median; odd.")
    max_examples: int = Field(
        5, ge=1, description="Examples per rule shown by `marketlake quality`."
    )

    @model_validator(mode="after")
    def _check(self) -> QualitySettings:
        if self.price_min >= self.price_max:
            raise ValueError("quality.price_min must be below quality.price_max")
        if self.jump_window % 2 == 0:
            raise ValueError("quality.jump_window must be odd (a centred window)")
        return self


class CsvDailySettings(BaseModel):
    """Yahoo-style daily CSV exports."""

    timezone: str = Field("America/New_York", description="Exchange time zone of the dates.")
    null_tokens: list[str] = ["null", "NULL", "", "NaN", "nan", "N/A", "-"]


class IngestSettings(BaseModel):
    """How ingest runs."""

    workers: int = Field(
        2, ge=1, description="Files processed at once (parsing and Parquet work release the GIL)."
    )


class Hdf5Settings(BaseModel):
    """HDF5 tick files (pandas HDFStore / PyTables / h5py)."""

    chunk_rows: int = Field(
        2_000_000,
        ge=100,
        description="Rows read, checked and written per chunk (one silver file per chunk and "
        "partition); memory grows ~0.2 GB per million, speed hardly changes above 1M.",
    )
    queue_chunks: int = Field(
        2, ge=1, description="Chunks buffered between the reader and the writer (bounds memory)."
    )
    writer_threads: int = Field(
        2, ge=1, description="Chunks encoded to Parquet at once (pyarrow releases the GIL)."
    )
    compression: Literal["zstd", "snappy", "lz4", "none"] = Field(
        "zstd", description="Parquet compression of silver trades (snappy: faster, ~20% larger)."
    )
    timezone: str = Field(
        "UTC",
        description="Zone of timestamps stored without one (e.g. America/Chicago); times pandas "
        "stored with a zone are UTC already.",
    )
    earliest_year: int = Field(
        1980, ge=1970, description="Trades before this year are quarantined (ts.invalid)."
    )
    future_days: int = Field(
        1, ge=0, description="Trades this many days after the ingest started: ts.invalid."
    )
    bronze: Literal["link", "copy"] = Field(
        "link",
        description="Land the raw file by hard link when the lake is local and on the same "
        "filesystem (no second copy of a 20 GB file; the file is made read-only so it cannot "
        "change under bronze), else by a streamed copy; `copy` always copies.",
    )
    max_object_mib: int = Field(
        256, ge=1, description="Largest pickled string block (fixed format) read whole."
    )

    @model_validator(mode="after")
    def _check(self) -> Hdf5Settings:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"sources.hdf5.timezone {self.timezone!r} is not a time zone (e.g. America/Chicago)"
            ) from exc
        return self


class PolygonSettings(BaseModel):
    """Polygon.io / Massive flat files on their S3-compatible endpoint."""

    endpoint_url: str = Field(
        "https://files.massive.com", description="Flat-files S3 endpoint (was files.polygon.io)."
    )
    bucket: str = "flatfiles"
    access_key_id: str | None = Field(None, description="Flat-files S3 access key id.")
    secret_access_key: SecretStr | None = Field(None, description="Flat-files S3 secret key.")
    region: str = "us-east-1"
    concurrency: int = Field(4, ge=1, le=64, description="Files downloaded at once.")
    retries: int = Field(
        4, ge=0, description="Retries of a download after a transient error (5xx, timeout)."
    )
    backoff_s: float = Field(
        0.5, ge=0, description="First retry delay; doubled per retry, with jitter."
    )
    backoff_max_s: float = Field(30.0, ge=0, description="Longest delay between retries.")
    connect_timeout_s: float = Field(10.0, gt=0)
    uri: str = Field(
        "",
        description="A local folder (or fsspec URL) holding the vendor's key layout, read instead "
        "of the S3 endpoint: files already downloaded, and the demo. Empty means the endpoint.",
    )
    stream_threshold_mib: int = Field(
        256,
        ge=0,
        description="Day files larger than this are streamed to a temporary file (bounded "
        "memory) instead of held in memory while they land (multi-GB SIP trades/quotes days); "
        "0 streams every file. Every file is parsed and published in chunks either way.",
    )
    chunk_rows: int = Field(
        500_000,
        ge=1_000,
        description="Rows parsed, checked and published at a time; a chunk is written while the "
        "next is checked and the one after parsed (peak memory ~0.85 GB at 500k trades, "
        "~1.15 GB at 1M, ~0.6 GB at 250k).",
    )
    compression: Literal["zstd", "snappy", "lz4", "none"] = Field(
        "zstd",
        description="Parquet compression of silver files from flat files (snappy: ~15% faster "
        "ingest, files ~2x larger).",
    )

    def storage_options(self) -> dict[str, Any]:
        """s3fs options (the secret revealed only here, never logged)."""
        # Retries are ours (with back-off and a report); botocore's would hide them.
        return s3fs_options(
            endpoint_url=self.endpoint_url, region=self.region, key=self.access_key_id,
            secret=self.secret_access_key, connect_timeout_s=self.connect_timeout_s,
            retries={"max_attempts": 1},
        )  # fmt: skip


class AlphaVantageSettings(BaseModel):
    """Alpha Vantage REST API (JSON)."""

    base_url: str = Field("https://www.alphavantage.co/query", description="The query endpoint.")
    api_key: SecretStr | None = Field(None, description="API key; never printed or logged.")
    calls_per_minute: int = Field(5, ge=1, description="Rate limit of the plan (free: 5/min).")
    calls_per_day: int = Field(25, ge=1, description="Daily budget of the plan (free: 25/day).")
    max_wait_s: float = Field(
        90.0,
        ge=0,
        description="Longest total time one run waits on rate limits before giving up on a symbol.",
    )
    timeout_s: float = Field(30.0, gt=0, description="HTTP timeout of one call.")
    retries: int = Field(3, ge=0, description="Retries after a transient error (5xx, timeout).")
    backoff_s: float = Field(1.0, ge=0, description="First retry delay; doubled per retry.")
    outputsize: Literal["compact", "full"] = Field(
        "full", description="compact = latest 100 points; full = the whole history."
    )


class S3JsonSettings(BaseModel):
    """JSON records dropped into an S3 bucket by another system."""

    endpoint_url: str | None = Field(
        None, description="S3-compatible endpoint; None means AWS (or the lake's endpoint)."
    )
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    region: str | None = None
    interval: str = Field(
        "1d", description="Bar interval of price records (1m, 1h, 1d, ...) in silver `bars`."
    )
    symbol_pattern: str = Field(
        r"^(?:[A-Z]{1,5}(?:[.\-/][A-Z]{1,2})?|[A-Z]{1,3}[FGHJKMNQUVXZ]\d{1,2}|[A-Z]:[A-Z0-9]{2,12})$",
        description="Valid symbols: 1-5 letters with an optional share class (BRK.B, BF-B), "
        "futures contracts (ESZ4, ESH24) and prefixed crypto/forex tickers (X:BTCUSD, C:EURUSD).",
    )
    concurrency: int = Field(4, ge=1, le=64, description="Objects downloaded at once.")
    retries: int = Field(
        3, ge=0, description="Retries of a listing or read after a transient error (5xx, timeout)."
    )
    backoff_s: float = Field(
        0.5, ge=0, description="First retry delay; doubled per retry, with jitter."
    )
    backoff_max_s: float = Field(30.0, ge=0, description="Longest delay between retries.")
    connect_timeout_s: float = Field(
        10.0, gt=0, description="Seconds to wait for the S3 endpoint to accept a connection."
    )

    def storage_options(self) -> dict[str, Any]:
        """s3fs options (the secret revealed only here, never logged)."""
        # Retries are ours (with back-off and a report); botocore's would hide them.
        return s3fs_options(
            endpoint_url=self.endpoint_url, region=self.region, key=self.access_key_id,
            secret=self.secret_access_key, connect_timeout_s=self.connect_timeout_s,
            retries={"max_attempts": 1},
        )  # fmt: skip


class SourcesSettings(BaseModel):
    """Per-source settings."""

    csv_daily: CsvDailySettings = CsvDailySettings()
    hdf5: Hdf5Settings = Hdf5Settings()
    polygon: PolygonSettings = PolygonSettings()
    alphavantage: AlphaVantageSettings = AlphaVantageSettings()
    s3_json: S3JsonSettings = S3JsonSettings()


class BarsSettings(BaseModel):
    """Information-driven bars (tick, volume, dollar, imbalance) and time bars.

    See ``marketlake.bars`` for the exact rules these numbers feed.
    """

    chunk_rows: int = Field(
        5_000_000, ge=1, description="Trades read from silver and fed to the kernels per chunk."
    )
    threshold_digits: int = Field(
        3,
        ge=1,
        le=15,
        description="Significant digits a threshold derived from --bars-per-day is rounded to.",
    )
    imbalance_ewma_ticks: int = Field(
        10_000, ge=1, description="Span (ticks) of the EWMA of the signed imbalance E[b*v]."
    )
    imbalance_ewma_bars: int = Field(
        3, ge=1, description="Span (bars) of the EWMA of the bar length E[T]."
    )
    imbalance_warmup_ticks: int = Field(
        10_000, ge=1, description="Ticks before the first imbalance bar may close."
    )
    imbalance_min_ratio: float = Field(
        0.1,
        gt=0,
        le=1,
        description="E[T] is clamped to at least this times the initial E0[T] (the threshold).",
    )
    imbalance_max_ratio: float = Field(
        10.0,
        ge=1,
        description="E[T] is clamped to at most this times the initial E0[T] (the threshold).",
    )


class FuturesSettings(BaseModel):
    """Continuous futures contracts (``marketlake continuous``)."""

    calendar: str = Field(
        "CMES",
        description="exchange-calendars name of the sessions used (CMES: CME Globex, sessions "
        "17:00 Chicago the evening before to 17:00 Chicago, named by the closing date).",
    )
    roll: str = Field(
        "volume", pattern=r"^(volume|days(:\d+)?)$", description="Default `--roll`: volume|days:N."
    )
    roll_days: int = Field(8, ge=0, le=40, description="Default N of `--roll days:N`.")
    adjust: Literal["difference", "ratio", "none"] = Field(
        "none",
        description="Default `--adjust`: none splices raw prices (like Databento's default); "
        "difference/ratio back-adjust earlier prices by the roll gaps.",
    )


class AnalyticsSettings(BaseModel):
    """Bar statistics and the HTML report (``marketlake report``)."""

    acf_lags: int = Field(
        10, ge=1, description="Lags 1..k of the autocorrelation of bar returns and of Ljung-Box."
    )
    min_returns: int = Field(
        30,
        ge=8,
        description="A series with fewer returns gets counts and variances but no ACF/normality.",
    )
    histogram_bins: int = Field(60, ge=5, description="Bins of the report's return histograms.")
    indicator_days: int = Field(
        365,
        ge=30,
        description="Calendar days the report's indicator charts cover, ending at each "
        "symbol's last session.",
    )
    max_symbols: int = Field(
        8,
        ge=1,
        description="Symbols the report charts indicators for when --symbols is not given: "
        "those with the most sessions; the others are named as left out.",
    )
    max_anomalies: int = Field(
        10, ge=1, description="Rows in each of the report's lists of anomalies (recent, extreme)."
    )
    ledger_runs: int = Field(
        50,
        ge=1,
        description="Newest runs of the ledger the report searches for each source's last run.",
    )


class LoaderSettings(BaseModel):
    """The backtest loader (``marketlake.read_bars`` ...) and its in-memory cache."""

    cache_bytes: int = Field(
        1 << 30,
        ge=0,
        description="Bytes of loaded frames kept in memory (LRU); 0 turns the cache off.",
    )


class ApiSettings(BaseModel):
    """The HTTP API (``marketlake serve``): where it listens, who may read and write."""

    host: str = Field("127.0.0.1", description="Address uvicorn binds (0.0.0.0: every interface).")
    port: int = Field(8000, ge=1, le=65535, description="TCP port uvicorn listens on.")
    token: SecretStr | None = Field(
        None,
        description="Bearer token of write/admin routes (POST /runs) and of closed read routes; "
        "None: those routes are refused. Never printed.",
    )
    open_reads: bool = Field(
        True, description="Read routes answer without a token; False: they need api.token too."
    )
    page_size: int = Field(1_000, ge=1, description="Rows per page of /bars when not asked.")
    max_page_size: int = Field(
        50_000, ge=1, description="Largest page a client may ask for (limit=)."
    )

    @model_validator(mode="after")
    def _check(self) -> ApiSettings:
        if self.page_size > self.max_page_size:
            raise ValueError("api.page_size must not exceed api.max_page_size")
        return self


class DashboardSettings(BaseModel):
    """The Streamlit dashboard (``marketlake dashboard``)."""

    host: str = Field("127.0.0.1", description="Address Streamlit binds.")
    port: int = Field(8501, ge=1, le=65535, description="TCP port Streamlit listens on.")
    cache_ttl_s: float = Field(
        600.0,
        gt=0,
        description="Seconds a cached read is kept at most; a file that changed (a build, an "
        "ingest, a run) is read again at once regardless.",
    )
    cache_entries: int = Field(
        64, ge=1, description="Cached results kept per kind of read (bounds the memory used)."
    )
    window_days: int = Field(
        365, ge=1, description="Calendar days of daily bars charted at first (the last year)."
    )
    intraday_days: int = Field(
        5, ge=1, description="Calendar days of intraday bars charted at first."
    )
    runs: int = Field(50, ge=1, le=500, description="Newest runs of the ledger on the runs page.")
    live_refresh_s: float = Field(
        2.0,
        ge=0.5,
        description="Seconds between refreshes of the live page while it is open (it reads "
        "the stream's PostgreSQL tables again; stream.history_rows ticks and sessions).",
    )


class StreamSettings(BaseModel):
    """Streaming moving averages: the NATS JetStream broker and the PostgreSQL sink."""

    nats_url: str = Field("nats://127.0.0.1:4222", description="The NATS server (JetStream on).")
    connect_timeout_s: float = Field(
        5.0, gt=0, description="Seconds to wait for NATS to accept a connection."
    )
    stream_name: str = Field(
        "MARKETLAKE_TICKS",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="JetStream stream holding the ticks (file storage, created when missing).",
    )
    subject_prefix: str = Field(
        "marketlake.ticks",
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="Ticks of symbol S are published on `<prefix>.<S>` (S's dots escaped).",
    )
    durable: str = Field(
        "marketlake-indicators",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Durable pull consumer of `marketlake stream consume`.",
    )
    dead_stream: str = Field(
        "MARKETLAKE_DEAD",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="JetStream stream keeping dead-lettered and late ticks, with the reason.",
    )
    dead_subject: str = Field(
        "marketlake.dead.ticks", description="Malformed messages go here (header Reason)."
    )
    late_subject: str = Field(
        "marketlake.late.ticks",
        description="Ticks older than their symbol's last applied tick go here (late_ticks).",
    )
    late_ticks: Literal["dead-letter", "count"] = Field(
        "dead-letter",
        description="A tick older than its symbol's last applied one is never applied; it is "
        "counted, and with `dead-letter` also published to late_subject with the reason.",
    )
    unit: Literal["day", "bar"] = Field(
        "day",
        description="Period of the averages: `day` (daily closes: a session's latest price is its "
        "close, final at its last tick) or `bar` (every tick is a period: bar closes, trades).",
    )
    windows: list[int] = Field(
        [20, 30, 200], min_length=1, description="SMA windows, in periods of `unit`."
    )
    ema_spans: list[int] = Field(
        [12, 20, 26], description="EMA spans n (k = 2/(n+1), seeded with the SMA of n periods)."
    )
    session_timezone: str = Field(
        "America/New_York",
        description="Zone of the session date of ticks that carry none (trades): VWAP resets "
        "and `day` periods follow it.",
    )
    session_rollover: str = Field(
        "00:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Local time from which ticks belong to the next day's session "
        "(00:00: the calendar date; 17:00 for CME Globex).",
    )
    batch_max: int = Field(
        5_000, ge=1, description="Most messages applied and committed in one transaction."
    )
    flush_interval_ms: float = Field(
        0.0,
        ge=0,
        description="Longest wait for more messages before committing a smaller batch; 0 "
        "commits what has arrived at once (lowest latency; batches grow under load anyway).",
    )
    fetch_expires_s: float = Field(
        5.0, gt=0, description="Lifetime of one pull request while the stream is idle."
    )
    ack_wait_s: float = Field(
        60.0, gt=0, description="Seconds before JetStream redelivers an unacknowledged message."
    )
    idle_s: float = Field(
        2.0, gt=0, description="`consume --until-idle` stops after this long without messages."
    )
    publish_window: int = Field(
        10_000, ge=1, description="Producer: publishes in flight before waiting for stream acks."
    )
    duplicate_window_s: float = Field(
        120.0,
        gt=0,
        description="JetStream's duplicate window: a dead letter published again (a consumer "
        "killed before its commit) within it is stored once.",
    )
    max_age_hours: float = Field(
        168.0, ge=0, description="Ticks older than this leave the stream; 0 keeps them all."
    )
    pg_schema: str = Field(
        "stream",
        pattern=r"^[a-z_][a-z0-9_]*$",
        description="PostgreSQL schema (in warehouse.postgres's database) of the live tables.",
    )
    values_table: str = Field(
        "indicator_ticks",
        pattern=r"^[a-z_][a-z0-9_]*$",
        description="One row per applied tick: price, SMA/EMA per window, VWAP.",
    )
    sessions_table: str = Field(
        "indicator_sessions",
        pattern=r"^[a-z_][a-z0-9_]*$",
        description="One row per symbol and session: its latest (or final) values.",
    )
    history_rows: int = Field(
        500, ge=1, le=100_000, description="Rows of recent history /live and the dashboard get."
    )
    sse_max_s: float = Field(
        3600.0, gt=0, description="An event stream (/live/{symbol}/events) ends after this long."
    )

    @model_validator(mode="after")
    def _check(self) -> StreamSettings:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if min(self.windows) < 1 or (self.ema_spans and min(self.ema_spans) < 1):
            raise ValueError("stream.windows and stream.ema_spans must be positive")
        if len(set(self.windows)) != len(self.windows) or len(set(self.ema_spans)) != len(
            self.ema_spans
        ):
            raise ValueError("stream.windows and stream.ema_spans must not repeat a value")
        try:
            ZoneInfo(self.session_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"stream.session_timezone {self.session_timezone!r} is not a time zone"
            ) from exc
        if self.values_table == self.sessions_table:
            raise ValueError("stream.values_table and stream.sessions_table must differ")
        return self


class RunCsvDailySettings(BaseModel):
    """``marketlake run``: Yahoo-style daily CSV exports (whole files: ``--from/--to`` ignored)."""

    paths: list[str] = Field(
        [], description="Files, folders (every *.csv inside) or globs; empty: the source is off."
    )
    cron: str = Field("0 7 * * 1-5", description="Dagster schedule of this source (cron, UTC).")
    freshness_hours: float | None = Field(
        96.0, gt=0, description="A new delivery is expected at least this often; None: unchecked."
    )


class RunHdf5Settings(BaseModel):
    """``marketlake run``: HDF5 tick files (whole files: ``--from/--to`` ignored)."""

    files: list[str] = Field([], description="HDF5 files; empty: the source is off.")
    keys: list[str] | None = Field(
        None, description="Keys to ingest (tick/trades); None: the only key holding trades."
    )
    cron: str = Field("0 8 * * 1-5", description="Dagster schedule of this source (cron, UTC).")
    freshness_hours: float | None = Field(
        None, gt=0, description="A new delivery is expected at least this often; None: unchecked."
    )


class RunPolygonSettings(BaseModel):
    """``marketlake run``: Polygon/Massive flat files, one delivery per day (``--from/--to``)."""

    datasets: list[str] = Field(
        [], description="Datasets, e.g. us_stocks_sip/trades_v1; empty: the source is off."
    )
    symbols: list[str] | None = Field(None, description="Only these symbols; None: every row.")
    uri: str = Field(
        "", description="A folder in the vendor's key layout read instead of sources.polygon."
    )
    lookback_days: int = Field(
        3, ge=1, description="Without --from/--to: the days up to yesterday (UTC) ingested."
    )
    cron: str = Field(
        "0 17 * * 1-5", description="Dagster schedule (cron, UTC): yesterday's partition."
    )
    freshness_hours: float | None = Field(
        96.0, gt=0, description="A new delivery is expected at least this often; None: unchecked."
    )


class RunAlphaVantageSettings(BaseModel):
    """``marketlake run``: Alpha Vantage series (whole series: ``--from/--to`` ignored)."""

    symbols: list[str] = Field([], description="Symbols downloaded from the API.")
    functions: list[Literal["TIME_SERIES_DAILY", "TIME_SERIES_WEEKLY_ADJUSTED"]] = Field(
        ["TIME_SERIES_DAILY"], description="Series downloaded per symbol."
    )
    files: list[str] = Field(
        [], description="Saved replies (files or folders of *.json) ingested without a call."
    )
    cron: str = Field("30 22 * * 1-5", description="Dagster schedule of this source (cron, UTC).")
    freshness_hours: float | None = Field(
        96.0, gt=0, description="A new delivery is expected at least this often; None: unchecked."
    )


class S3JsonFeed(BaseModel):
    """One prefix of JSON records (``<url>/YYYY/MM/DD/HH/...``) and what its records are."""

    url: str = Field(description="s3://bucket/prefix or a local folder.")
    kind: Literal["prices", "indicators", "anomalies"] = "prices"
    interval: str | None = Field(None, description="Bar interval of price records.")


class RunS3JsonSettings(BaseModel):
    """``marketlake run``: JSON records in S3, by hour prefix (``--from/--to``: whole days)."""

    feeds: list[S3JsonFeed] = Field([], description="Prefixes read; empty: the source is off.")
    lookback_hours: int = Field(
        24, ge=1, description="Without --from/--to: the hours up to now read (cursor-skipped)."
    )
    cron: str = Field("5 * * * *", description="Dagster schedule (cron, UTC): today's partition.")
    freshness_hours: float | None = Field(
        3.0, gt=0, description="A new delivery is expected at least this often; None: unchecked."
    )


class ReferenceFile(BaseModel):
    """One reference file of symbols and, optionally, the date its description is true."""

    path: str
    as_of: datetime | None = None


class RunReferenceSettings(BaseModel):
    """``marketlake run``: reference files of symbols (whole files: ``--from/--to`` ignored)."""

    files: list[ReferenceFile] = Field([], description="Files; empty: the source is off.")
    cron: str = Field("0 6 * * 1", description="Dagster schedule of this source (cron, UTC).")
    freshness_hours: float | None = Field(
        None, gt=0, description="A new delivery is expected at least this often; None: unchecked."
    )

    @model_validator(mode="before")
    @classmethod
    def _plain_paths(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("files"), list):
            files = [{"path": f} if isinstance(f, str) else f for f in data["files"]]
            data = {**data, "files": files}
        return data


class RunSourcesSettings(BaseModel):
    """What ``marketlake run`` ingests, per source; a source with nothing configured is off."""

    csv_daily: RunCsvDailySettings = RunCsvDailySettings()
    hdf5: RunHdf5Settings = RunHdf5Settings()
    polygon: RunPolygonSettings = RunPolygonSettings()
    alphavantage: RunAlphaVantageSettings = RunAlphaVantageSettings()
    s3_json: RunS3JsonSettings = RunS3JsonSettings()
    reference: RunReferenceSettings = RunReferenceSettings()

    def configured(self) -> list[str]:
        """The sources with something to read, in the order ``marketlake run`` ingests them."""
        has = {
            "csv_daily": bool(self.csv_daily.paths),
            "reference": bool(self.reference.files),
            "alphavantage": bool(self.alphavantage.symbols or self.alphavantage.files),
            "s3_json": bool(self.s3_json.feeds),
            "polygon": bool(self.polygon.datasets),
            "hdf5": bool(self.hdf5.files),
        }
        return [name for name, on in has.items() if on]

    def freshness_hours(self, source: str) -> float | None:
        """The freshness window of a source (``<source>.freshness_hours``)."""
        window: float | None = getattr(self, source).freshness_hours
        return window


class RunBarsRequest(BaseModel):
    """One bars series built after the tick sources (see ``marketlake bars``)."""

    kind: Literal["time", "tick", "volume", "dollar", "imbalance"]
    threshold: float | None = None
    bars_per_day: float | None = None
    interval: str | None = None


class RunContinuousRequest(BaseModel):
    """One continuous contract built after the tick sources (see ``marketlake continuous``)."""

    root: str
    roll: str | None = Field(None, description="volume | days:N; None: futures.roll.")
    adjust: Literal["difference", "ratio", "none"] | None = None


class RunSettings(BaseModel):
    """The steps of ``marketlake run`` (and of the Dagster assets): sources, derived, build."""

    sources: RunSourcesSettings = RunSourcesSettings()
    bars: list[RunBarsRequest] = Field([], description="Bars built when a tick source runs.")
    continuous: list[RunContinuousRequest] = Field(
        [], description="Continuous contracts built when a tick source runs."
    )
    build: bool = Field(True, description="Build the warehouse (dbt) and export gold.")
    target: Literal["duckdb", "postgres"] | None = Field(
        None, description="Warehouse built; None: warehouse.target."
    )
    report: bool = Field(True, description="Write the HTML report after the build.")


class RetrySettings(BaseModel):
    """Retries of a step after a transient error (terminal errors are never retried)."""

    attempts: int = Field(3, ge=1, description="Attempts per step, the first one included.")
    first_delay_s: float = Field(2.0, ge=0, description="Delay before the first retry.")
    max_delay_s: float = Field(60.0, ge=0, description="Longest delay (it doubles per retry).")
    jitter: float = Field(
        0.5, ge=0, le=1, description="Each delay is multiplied by a random factor in [1-j, 1]."
    )


class AlertSettings(BaseModel):
    """Alerts: a JSON POST to a webhook on a failed step or too much quarantine."""

    webhook_url: SecretStr | None = Field(
        None, description="Where alerts are POSTed (Slack-style URLs hold a secret); None: off."
    )
    quarantine_rate: float = Field(
        0.05, gt=0, le=1, description="Alert when a source's quarantined / rows in exceeds this."
    )
    attempts: int = Field(3, ge=1, description="Tries per alert (never fails the run).")
    timeout_s: float = Field(5.0, gt=0, description="HTTP timeout of one try.")
    backoff_s: float = Field(0.5, ge=0, description="Delay before the second try; doubled.")

    @model_validator(mode="after")
    def _check(self) -> AlertSettings:
        url = self.webhook_url.get_secret_value() if self.webhook_url else ""
        if url and not url.startswith(("http://", "https://")):
            raise ValueError("ops.alerts.webhook_url must be an http:// or https:// URL")
        return self


class DagsterSettings(BaseModel):
    """The Dagster definitions (``marketlake orchestrate``)."""

    partitions_start: date = Field(
        date(2020, 1, 1), description="First day of the daily partitions (Polygon, S3 JSON)."
    )
    sensor_interval_s: int = Field(60, ge=5, description="Seconds between sensor evaluations.")
    schedules_running: bool = Field(
        False, description="Schedules start running with `dagster dev` (else turn them on)."
    )


class OpsSettings(BaseModel):
    """Operations: retries of ``marketlake run``, logs, metrics, freshness checks and alerts."""

    run: RunSettings = RunSettings()
    retry: RetrySettings = RetrySettings()
    alerts: AlertSettings = AlertSettings()
    dagster: DagsterSettings = DagsterSettings()
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or one JSON object per event (for log shippers)."
    )


class Settings(BaseSettings):
    """All marketlake settings. Build with :func:`get_settings`, not at import time."""

    model_config = SettingsConfigDict(
        env_prefix="MARKETLAKE_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    data_dir: Path = Field(
        Path("marketlake-data"), description="Root of everything marketlake writes."
    )
    lake: LakeSettings = LakeSettings()
    warehouse: WarehouseSettings = WarehouseSettings()
    quality: QualitySettings = QualitySettings()
    ingest: IngestSettings = IngestSettings()
    sources: SourcesSettings = SourcesSettings()
    bars: BarsSettings = BarsSettings()
    futures: FuturesSettings = FuturesSettings()
    analytics: AnalyticsSettings = AnalyticsSettings()
    loader: LoaderSettings = LoaderSettings()
    api: ApiSettings = ApiSettings()
    dashboard: DashboardSettings = DashboardSettings()
    stream: StreamSettings = StreamSettings()
    ops: OpsSettings = OpsSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_file = Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG_FILE))
        return (
            init_settings,
            env_settings,
            YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file),
        )

    @property
    def lake_uri(self) -> str:
        """The lake root, resolved against ``data_dir`` when not set."""
        return self.lake.uri or str((self.data_dir / "lake").absolute())

    @property
    def gold_uri(self) -> str:
        """Where gold marts are exported as Parquet."""
        return self.warehouse.gold_uri or str((self.data_dir / "gold").absolute())

    @property
    def duckdb_path(self) -> Path:
        """The DuckDB warehouse file."""
        path = self.warehouse.duckdb.path
        return Path(path).absolute() if path else (self.data_dir / "warehouse.duckdb").absolute()

    @property
    def state_dir(self) -> Path:
        """Local scratch space: dbt target/logs, generated profiles."""
        return (self.data_dir / ".state").absolute()

    def storage_options(self) -> dict[str, Any]:
        """fsspec options for the lake (S3 credentials revealed only here, never logged)."""
        if not self.lake_uri.startswith("s3://"):
            return {}
        lake = self.lake
        return s3fs_options(
            endpoint_url=lake.endpoint_url, region=lake.region, key=lake.access_key_id,
            secret=lake.secret_access_key, connect_timeout_s=lake.connect_timeout_s,
            retries={"max_attempts": lake.max_attempts, "mode": "standard"},
        )  # fmt: skip


def load_settings(**overrides: Any) -> Settings:
    """Build settings from file, environment and ``overrides``.

    Raises:
        ConfigError: the YAML file or an environment variable holds an invalid value.
    """
    yaml_file = os.environ.get(CONFIG_ENV)
    if yaml_file and not Path(yaml_file).is_file():
        raise ConfigError(
            f"settings file {yaml_file} does not exist",
            hint=f"create it or unset {CONFIG_ENV}",
        )
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"invalid setting {where}: {first['msg']}",
            hint=f"fix it in {yaml_file or DEFAULT_CONFIG_FILE} or the MARKETLAKE_* environment",
        ) from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built once on first use."""
    return load_settings()
