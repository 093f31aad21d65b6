"""Response models: what each route returns, as published in the OpenAPI schema (/docs)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """Every error: what went wrong, and where or what to do."""

    error: str = Field(description="What went wrong, in one sentence.")
    detail: str | None = Field(None, description="Where, and what the client can do.")


class Health(BaseModel):
    """Liveness and what the API can serve."""

    status: Literal["ok"]
    gold: bool = Field(description="Gold exports are present (a build has run).")
    version: str


class Symbol(BaseModel):
    """A symbol's current reference row and its daily-bar coverage (``dim_symbol``)."""

    symbol: str
    symbol_name: str | None = None
    asset_class: str | None = None
    exchange: str | None = None
    currency: str | None = None
    sector: str | None = None
    industry: str | None = None
    first_session_date: date | None = None
    last_session_date: date | None = None
    trading_days: int | None = None
    sources: str | None = None


class Bar(BaseModel):
    """One silver bar (``ts_event``: bar open time, UTC)."""

    ts_event: datetime
    session_date: date
    interval: str
    symbol: str
    open: float
    high: float
    low: float
    close: float
    volume: float | None = None
    vwap: float | None = None
    trade_count: int | None = None
    adj_close: float | None = None
    dividend: float | None = None
    split_factor: float | None = None
    source: str
    ingest_id: str
    quality_flags: str | None = None


class BarsPage(BaseModel):
    """One page of bars; pass ``next_cursor`` back as ``cursor`` for the next page."""

    symbol: str
    interval: str
    count: int
    next_cursor: str | None = Field(None, description="Opaque; null on the last page.")
    rows: list[Bar]


class Aggregate(BaseModel):
    """One period of daily bars rolled up (``agg_bars_<period>``)."""

    symbol: str
    period_start: date
    period_label: str
    first_session_date: date
    last_session_date: date
    trading_days: int
    open: float | None = None
    high: float | None = None
    low: float | None = None
    close: float | None = None
    volume: float | None = None
    avg_open: float | None = None
    avg_high: float | None = None
    avg_low: float | None = None
    avg_close: float | None = None
    avg_volume: float | None = None


class Indicator(BaseModel):
    """One session's indicators (``fct_indicators_daily``); null until a window fills."""

    symbol: str
    session_date: date
    day_index: int
    open: float | None = None
    close: float | None = None
    prev_close: float | None = None
    volume: float | None = None
    simple_return: float | None = None
    log_return: float | None = None
    volatility_20d: float | None = None
    volatility_252d: float | None = None
    close_zscore_20d: float | None = None
    volume_zscore_20d: float | None = None
    return_zscore_20d: float | None = None
    volume_ratio_20d: float | None = None
    sma_20: float | None = None
    sma_30: float | None = None
    sma_50: float | None = None
    sma_200: float | None = None
    ema_12: float | None = None
    ema_20: float | None = None
    ema_26: float | None = None
    rsi_14: float | None = None
    macd: float | None = None
    macd_signal: float | None = None
    macd_histogram: float | None = None


class Anomaly(BaseModel):
    """One flagged session (``fct_anomalies``)."""

    symbol: str
    session_date: date
    rule_id: str
    measured_value: float | None = None
    threshold: float | None = None
    explanation: str | None = None


class BarInfo(BaseModel):
    """One information-driven bar (tick/volume/dollar; ``fct_bars_info``)."""

    series_key: str
    symbol: str
    kind: str
    threshold: float | None = None
    bar_number: int
    ts_start: datetime
    ts_end: datetime
    bar_date: date
    open: float
    high: float
    low: float
    close: float
    volume: float | None = None
    dollar_value: float | None = None
    vwap: float | None = None
    tick_count: int | None = None
    is_complete: bool | None = None
    source: str | None = None
    log_return: float | None = None


class BarsInfoPage(BaseModel):
    """One page of information-driven bars."""

    symbol: str
    count: int
    next_cursor: str | None = None
    rows: list[BarInfo]


class QuarantineExample(BaseModel):
    """One quarantined row, as delivered."""

    ingest_id: str
    source_row: int | None = None
    symbol: str | None = None
    message: str
    raw: str


class QualityRule(BaseModel):
    """Rows of one dataset quarantined by one rule."""

    dataset: str
    rule_id: str
    rows: int
    examples: list[QuarantineExample]


class Quality(BaseModel):
    """What was quarantined and why."""

    total: int
    rules: list[QualityRule]


class RunStep(BaseModel):
    """One ledger row: a step of a run."""

    seq: int
    step: str
    target: str
    started_at: str
    seconds: float
    status: str
    rows_in: int
    rows_out: int
    rows_quarantined: int
    bytes: int
    error: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class RunSummary(BaseModel):
    """A run and its steps, from the ledger."""

    run_id: str
    status: Literal["ok", "failed", "running"]
    started_at: str
    steps: list[RunStep]


class RunAccepted(BaseModel):
    """A build was started in the background; follow it in ``GET /runs``."""

    run_id: str
    status: Literal["started"]
