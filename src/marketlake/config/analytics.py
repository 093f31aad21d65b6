"""Bars, continuous futures and the report's statistics."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


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
