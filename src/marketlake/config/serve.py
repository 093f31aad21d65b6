"""Serving: the HTTP API and the dashboard."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, model_validator


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
