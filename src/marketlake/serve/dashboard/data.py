"""Every read of the dashboard, through :mod:`marketlake.serve.queries` (and
:mod:`marketlake.serve.live` for the stream's live values), cached per process.

Each cached function takes the *version* of what it reads (the gold exports' modification time
and size, the silver files' listing, the ledger's keys), computed on each rerun for the cost of
a ``stat`` or a listing: a build, an ingest or a run shows at once, an unchanged file is never
read twice. Entries also expire after ``dashboard.cache_ttl_s`` and at most
``dashboard.cache_entries`` are kept per function, so memory stays bounded on a small machine.
A mart not built yet comes back as None; the pages say what to run. Live values are keyed on
the consumer's last committed stream sequence, read on each refresh.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl
import streamlit as st

from marketlake.config import get_settings
from marketlake.serve import bar_types as types_of_bars
from marketlake.serve import live, queries
from marketlake.serve.gold import MartMissingError

_dashboard = get_settings().dashboard  # the Streamlit process: its settings are set at start
_cached = st.cache_data(
    ttl=_dashboard.cache_ttl_s, max_entries=_dashboard.cache_entries, show_spinner=False
)


@st.cache_resource(show_spinner=False)
def reader() -> queries.Reader:
    """The one reader of this process (settings, lake, gold exports)."""
    return queries.open_reader(get_settings())


def has_gold() -> bool:
    """Whether a build has exported gold."""
    return reader().gold.has("dim_symbol")


def _gold(*models: str) -> queries.Version:
    return queries.gold_version(reader().gold, *models)


# --- symbols -----------------------------------------------------------------------------------


def chart_symbols() -> list[str]:
    """Symbols with daily bars in gold or bars in silver (gold's symbols are held in memory by
    the reader until a build replaces them; silver's are one listing)."""
    return queries.chart_symbols(reader())


@_cached
def _coverage(version: queries.Version) -> pl.DataFrame | None:
    try:
        return queries.current_symbols(reader().gold)
    except MartMissingError:
        return None


def coverage() -> pl.DataFrame | None:
    """Current ``dim_symbol`` rows (None before a build)."""
    return _coverage(_gold("dim_symbol"))


def symbol_row(symbol: str) -> dict[str, Any] | None:
    """The reference row and coverage of ``symbol`` (None: unknown or no build yet)."""
    frame = coverage()
    if frame is None:
        return None
    rows = frame.filter(pl.col("symbol") == symbol)
    return rows.row(0, named=True) if rows.height else None


# --- bars --------------------------------------------------------------------------------------


@_cached
def _intervals(symbol: str, version: queries.Version) -> list[str]:
    return queries.bar_intervals(reader(), symbol)


def intervals(symbol: str) -> list[str]:
    """Intervals of ``symbol``'s bars in silver, shortest first."""
    return _intervals(symbol, queries.silver_version(reader().lake, "bars", symbol))


@_cached
def _daily(symbol: str, version: queries.Version) -> tuple[pl.DataFrame, str]:
    return queries.daily_candles(reader(), symbol)


def daily(symbol: str) -> tuple[pl.DataFrame, str]:
    """Every daily bar of ``symbol`` with SMA 20/50/200, and ``gold`` or ``silver``."""
    version = _gold("dim_symbol", "fct_daily_bars", "fct_indicators_daily")
    if None in version:  # before a build: silver, keyed on its files
        version += queries.silver_version(reader().lake, "bars", symbol)
    return _daily(symbol, version)


@_cached
def _span(symbol: str, interval: str, version: queries.Version) -> tuple[date, date] | None:
    return queries.session_span(reader(), symbol, interval)


def span(symbol: str, interval: str) -> tuple[date, date] | None:
    """First and last session of ``symbol``'s bars of ``interval`` in silver."""
    return _span(symbol, interval, queries.silver_version(reader().lake, "bars", symbol))


@_cached
def _intraday(
    symbol: str, interval: str, first: date, last: date, version: queries.Version
) -> pl.DataFrame:
    return queries.intraday_candles(reader(), symbol, interval, first, last)


def intraday(symbol: str, interval: str, first: date, last: date) -> pl.DataFrame:
    """Silver bars of ``interval`` in sessions ``first``..``last``, with SMAs in bars."""
    version = queries.silver_version(reader().lake, "bars", symbol)
    return _intraday(symbol, interval, first, last, version)


# --- gold marts of one symbol ------------------------------------------------------------------


@_cached
def _indicators(symbol: str, version: queries.Version) -> pl.DataFrame | None:
    try:
        return queries.indicators(reader().gold, symbol)
    except (MartMissingError, queries.UnknownSymbolError):
        return None


def indicators(symbol: str) -> pl.DataFrame | None:
    """Every session's indicators of ``symbol`` (None: no build, or not in gold)."""
    return _indicators(symbol, _gold("dim_symbol", "fct_indicators_daily"))


@_cached
def _anomalies(symbol: str, version: queries.Version) -> pl.DataFrame | None:
    try:
        return queries.anomalies(reader().gold, symbol)
    except (MartMissingError, queries.UnknownSymbolError):
        return None


def anomalies(symbol: str) -> pl.DataFrame | None:
    """Every flagged session of ``symbol`` with its sentence (None: no build)."""
    return _anomalies(symbol, _gold("dim_symbol", "fct_anomalies"))


@_cached
def _aggregates(
    symbol: str, period: queries.Period, version: queries.Version
) -> pl.DataFrame | None:
    try:
        return queries.period_returns(queries.aggregates(reader().gold, symbol, period))
    except (MartMissingError, queries.UnknownSymbolError):
        return None


def aggregates(symbol: str, period: queries.Period) -> pl.DataFrame | None:
    """``agg_bars_<period>`` of ``symbol`` with each period's return (None: no build)."""
    return _aggregates(symbol, period, _gold("dim_symbol", f"agg_bars_{period}"))


# --- bar types ---------------------------------------------------------------------------------


def info_symbols() -> tuple[list[str], str | None]:
    """Symbols with tick/volume/dollar bars in silver, and the one with the most of them
    (one listing, not cached)."""
    sizes = queries.silver_bytes(reader().lake, "bars_info")
    return sorted(sizes), max(sizes, key=lambda s: sizes[s]) if sizes else None


@_cached
def _bar_types(
    symbol: str, version: queries.Version
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame] | None:
    bars = types_of_bars.info_bars(reader().lake, symbol)
    if bars.is_empty():
        return None
    returns = types_of_bars.labelled_returns(bars)
    analytics = get_settings().analytics
    summary = types_of_bars.bar_type_summary(
        returns, nlags=analytics.acf_lags, min_returns=analytics.min_returns
    )
    return summary, types_of_bars.bars_per_day(returns), types_of_bars.standardized_returns(returns)


def bar_types(symbol: str) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame] | None:
    """(summary per series, bars per day, standardised returns) of ``symbol``'s silver
    ``bars_info``; None when it has none."""
    return _bar_types(symbol, queries.silver_version(reader().lake, "bars_info", symbol))


# --- quality and runs --------------------------------------------------------------------------


@_cached
def _quality(version: queries.Version) -> tuple[dict[str, Any], pl.DataFrame]:
    lake = reader().lake
    examples = get_settings().quality.max_examples
    return queries.quality_summary(lake, examples=examples), queries.silver_totals(lake)


def quality() -> tuple[dict[str, Any], pl.DataFrame]:
    """The quarantine summary (as ``GET /quality``) and silver's totals per dataset."""
    return _quality(queries.quarantine_version(reader().lake))


@_cached
def _runs(limit: int, version: queries.Version) -> list[dict[str, Any]]:
    return queries.run_summaries(reader().lake, limit=limit)


def runs() -> list[dict[str, Any]]:
    """The newest runs of the ledger (as ``GET /runs``), newest first."""
    return _runs(_dashboard.runs, queries.ledger_version(reader().lake))


# --- live values (the stream consumer's PostgreSQL tables) --------------------------------------


def live_symbols() -> list[str]:
    """Symbols the stream consumer has values of (one query, not cached: a new one shows at
    the next refresh).

    Raises:
        WarehouseUnavailableError: PostgreSQL does not answer.
    """
    return live.live_symbols(get_settings())


def live_progress() -> live.LiveProgress | None:
    """The consumer's committed position and counts (None: nothing consumed yet); not cached,
    it is the version of :func:`live_view`."""
    return live.read_progress(get_settings())


@_cached
def _live_view(symbol: str, version: tuple[int, datetime | None]) -> live.LiveView | None:
    return live.read_live(symbol, settings=get_settings())


def live_view(symbol: str, progress: live.LiveProgress) -> live.LiveView | None:
    """``symbol``'s latest values and ``stream.history_rows`` of ticks and sessions, read
    again only once the consumer has committed another batch."""
    return _live_view(symbol, (progress.last_stream_seq, progress.updated_at))
