"""One section per source: daily CSV, HDF5 ticks, Polygon flat files, Alpha Vantage, S3 JSON."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator

from marketlake.config.lake import s3fs_options


class CsvDailySettings(BaseModel):
    """Yahoo-style daily CSV exports."""

    timezone: str = Field("America/New_York", description="Exchange time zone of the dates.")
    null_tokens: list[str] = ["null", "NULL", "", "NaN", "nan", "N/A", "-"]


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
