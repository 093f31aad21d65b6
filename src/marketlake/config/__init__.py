"""Settings: defaults < ``marketlake.yaml`` < ``MARKETLAKE_*`` environment variables < arguments.

Nested settings use ``__`` in environment names: ``MARKETLAKE_LAKE__URI=s3://bucket/prefix``.
The YAML file is ``./marketlake.yaml`` unless ``MARKETLAKE_CONFIG`` names another one.
Secrets are ``SecretStr``: they print as ``**********`` and are never logged.

One module per area holds its sections (``lake``, ``warehouse``, ``sources``, ``analytics``,
``serve``, ``stream``, ``ops``); this module assembles them into :class:`Settings`, and every
section is importable from here (``from marketlake.config import PolygonSettings``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from marketlake.config.analytics import (
    AnalyticsSettings as AnalyticsSettings,
)
from marketlake.config.analytics import (
    BarsSettings as BarsSettings,
)
from marketlake.config.analytics import (
    FuturesSettings as FuturesSettings,
)
from marketlake.config.lake import (
    IngestSettings as IngestSettings,
)
from marketlake.config.lake import (
    LakeSettings as LakeSettings,
)
from marketlake.config.lake import (
    LoaderSettings as LoaderSettings,
)
from marketlake.config.lake import (
    QualitySettings as QualitySettings,
)
from marketlake.config.lake import (
    s3fs_options as s3fs_options,
)
from marketlake.config.ops import (
    AlertSettings as AlertSettings,
)
from marketlake.config.ops import (
    DagsterSettings as DagsterSettings,
)
from marketlake.config.ops import (
    OpsSettings as OpsSettings,
)
from marketlake.config.ops import (
    ReferenceFile as ReferenceFile,
)
from marketlake.config.ops import (
    RetrySettings as RetrySettings,
)
from marketlake.config.ops import (
    RunAlphaVantageSettings as RunAlphaVantageSettings,
)
from marketlake.config.ops import (
    RunBarsRequest as RunBarsRequest,
)
from marketlake.config.ops import (
    RunContinuousRequest as RunContinuousRequest,
)
from marketlake.config.ops import (
    RunCsvDailySettings as RunCsvDailySettings,
)
from marketlake.config.ops import (
    RunHdf5Settings as RunHdf5Settings,
)
from marketlake.config.ops import (
    RunPolygonSettings as RunPolygonSettings,
)
from marketlake.config.ops import (
    RunReferenceSettings as RunReferenceSettings,
)
from marketlake.config.ops import (
    RunS3JsonSettings as RunS3JsonSettings,
)
from marketlake.config.ops import (
    RunSettings as RunSettings,
)
from marketlake.config.ops import (
    RunSourcesSettings as RunSourcesSettings,
)
from marketlake.config.ops import (
    S3JsonFeed as S3JsonFeed,
)
from marketlake.config.serve import (
    ApiSettings as ApiSettings,
)
from marketlake.config.serve import (
    DashboardSettings as DashboardSettings,
)
from marketlake.config.sources import (
    AlphaVantageSettings as AlphaVantageSettings,
)
from marketlake.config.sources import (
    CsvDailySettings as CsvDailySettings,
)
from marketlake.config.sources import (
    Hdf5Settings as Hdf5Settings,
)
from marketlake.config.sources import (
    PolygonSettings as PolygonSettings,
)
from marketlake.config.sources import (
    S3JsonSettings as S3JsonSettings,
)
from marketlake.config.sources import (
    SourcesSettings as SourcesSettings,
)
from marketlake.config.stream import (
    StreamSettings as StreamSettings,
)
from marketlake.config.warehouse import (
    DuckDBSettings as DuckDBSettings,
)
from marketlake.config.warehouse import (
    GoldSettings as GoldSettings,
)
from marketlake.config.warehouse import (
    PostgresSettings as PostgresSettings,
)
from marketlake.config.warehouse import (
    SnowflakeSettings as SnowflakeSettings,
)
from marketlake.config.warehouse import (
    WarehouseSettings as WarehouseSettings,
)
from marketlake.errors import ConfigError

CONFIG_ENV = "MARKETLAKE_CONFIG"
DEFAULT_CONFIG_FILE = "marketlake.yaml"


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
