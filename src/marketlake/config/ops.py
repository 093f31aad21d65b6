"""Operations: what `marketlake run` runs, retries, alerts, Dagster, logs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator


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
    shutdown_s: float = Field(
        60.0,
        gt=0,
        description="Seconds `marketlake orchestrate` gives dagster dev to stop once asked "
        "(Ctrl-C, TERM) before it kills what is left (a run in progress is cut short).",
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
