"""The lake: where it is and how it is reached (S3 options), validation, ingest, the loader."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, SecretStr, model_validator


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


class IngestSettings(BaseModel):
    """How ingest runs."""

    workers: int = Field(
        2, ge=1, description="Files processed at once (parsing and Parquet work release the GIL)."
    )


class LoaderSettings(BaseModel):
    """The backtest loader (``marketlake.read_bars`` ...) and its in-memory cache."""

    cache_bytes: int = Field(
        1 << 30,
        ge=0,
        description="Bytes of loaded frames kept in memory (LRU); 0 turns the cache off.",
    )
