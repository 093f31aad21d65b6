"""The chart page: candles with volume and moving averages, RSI, MACD and the anomalies."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import streamlit as st

from marketlake.config import get_settings
from marketlake.serve import queries
from marketlake.serve.dashboard import charts, data, widgets

_NAMES = {"1d": "daily", "1w": "weekly", "1mo": "monthly", "1h": "hourly", "1m": "1-minute"}


def render() -> None:
    """Draw the page."""
    symbols = data.chart_symbols()
    if not symbols:
        widgets.missing(widgets.NO_BARS)
        return
    left, middle, right = st.columns([2, 3, 3], vertical_alignment="bottom")
    with left:
        symbol = widgets.symbol_picker(symbols)
    row = data.symbol_row(symbol)
    intervals = data.intervals(symbol)
    if row is not None and (row.get("trading_days") or 0) > 0 and "1d" not in intervals:
        intervals = sorted({*intervals, "1d"}, key=queries.interval_seconds)
    if not intervals:
        widgets.missing(f"No bars of {symbol} in silver — ingest them, or pick another symbol.")
        return
    with middle:
        interval = st.segmented_control(
            "Interval",
            intervals,
            default="1d" if "1d" in intervals else intervals[-1],
            key=f"interval-{symbol}",
            required=True,
        ) or ("1d" if "1d" in intervals else intervals[-1])
    seconds = queries.interval_seconds(interval)
    settings = get_settings().dashboard
    with right:
        if seconds >= 86_400:
            days = widgets.window_picker(widgets.DAILY_WINDOWS, settings.window_days, key="window")
        else:
            days = widgets.window_picker(
                widgets.INTRADAY_WINDOWS, settings.intraday_days, key="window-intraday"
            )
    widgets.header(symbol, (row or {}).get("symbol_name"))
    _describe(row)
    if interval == "1d":
        _daily(symbol, row, days)
    else:
        _other(symbol, row, interval, days)


def _describe(row: dict[str, Any] | None) -> None:
    if row is None:
        return
    parts = [row.get("asset_class"), row.get("exchange"), row.get("currency")]
    known = [str(p) for p in parts if p and p != "unknown"]
    if row.get("trading_days"):
        known.append(
            f"{row['trading_days']:,} sessions, {row['first_session_date']} → "
            f"{row['last_session_date']}"
        )
    if row.get("sources"):
        known.append(f"sources: {row['sources']}")
    st.caption(widgets.md(" · ".join(known)))


def _daily(symbol: str, row: dict[str, Any] | None, days: int | None) -> None:
    frame, source = data.daily(symbol)
    if frame.is_empty():
        widgets.missing(f"No daily bars of {symbol} — ingest some, then `marketlake build`.")
        return
    last: date = frame["time"].max()  # type: ignore[assignment]
    start = queries.window_start(last, days, frame["time"].min())  # type: ignore[arg-type]
    candles = frame.filter(pl.col("time") >= start)
    ind = data.indicators(symbol) if source == "gold" else None
    ind = None if ind is None else ind.filter(pl.col("session_date") >= start)
    found = data.anomalies(symbol) if source == "gold" else None
    flagged = None if found is None else found.filter(pl.col("session_date") >= start)
    _metrics(candles, ind)
    title = f"{symbol} · daily · {start} → {last}"
    fig = charts.price_figure(
        candles,
        title=title,
        currency=_currency(row),
        interval_s=86_400,
        indicators=ind,
        anomalies=flagged,
    )
    st.plotly_chart(fig, config={"displaylogo": False}, key="price")
    if source == "silver":
        st.caption(
            "From silver, SMAs computed here. Run `marketlake build` for gold's one bar per "
            "session, RSI, MACD and anomalies."
        )
    _anomalies(flagged)


def _other(symbol: str, row: dict[str, Any] | None, interval: str, days: int | None) -> None:
    span = data.span(symbol, interval)
    if span is None:
        widgets.missing(f"No {interval} bars of {symbol} in silver.")
        return
    start = queries.window_start(span[1], days, span[0])
    candles = data.intraday(symbol, interval, start, span[1])
    name = _NAMES.get(interval, interval)
    fig = charts.price_figure(
        candles,
        title=f"{symbol} · {name} · {start} → {span[1]}",
        currency=_currency(row),
        interval_s=queries.interval_seconds(interval),
    )
    _metrics(candles, None)
    st.plotly_chart(fig, config={"displaylogo": False}, key="price")
    st.caption(
        f"{candles.height:,} bars from silver (times in UTC); moving averages over {name} bars. "
        "RSI, MACD and anomalies are computed on daily sessions: pick the daily interval."
    )


def _currency(row: dict[str, Any] | None) -> str | None:
    currency = (row or {}).get("currency")
    return str(currency) if currency and currency != "unknown" else None


def _metrics(candles: pl.DataFrame, ind: pl.DataFrame | None) -> None:
    closes = candles["close"].drop_nulls()
    if closes.len() == 0:
        return
    last, previous = closes[-1], closes[-2] if closes.len() > 1 else None
    cols = st.columns(5)
    change = f"{last / previous - 1:+.2%}" if previous else None
    cols[0].metric("Last close", f"{last:,.2f}", change, border=True)
    cols[1].metric("Window return", f"{last / closes[0] - 1:+.2%}", border=True)
    drawdown = float((closes / closes.cum_max() - 1).to_numpy().min())
    cols[2].metric(
        "Max drawdown",
        f"{drawdown:.2%}",
        help="Largest fall of the close from its running high within the window",
        border=True,
    )
    if ind is not None and ind.height:
        latest = ind.row(-1, named=True)
        vol, rsi = latest.get("volatility_20d"), latest.get("rsi_14")
        cols[3].metric(
            "Volatility 20d",
            "—" if vol is None else f"{vol:.1%}",
            help="Annualised: sample std of daily log returns over 20 sessions × √252",
            border=True,
        )
        cols[4].metric("RSI 14", "—" if rsi is None else f"{rsi:.1f}", border=True)


def _anomalies(flagged: pl.DataFrame | None) -> None:
    if flagged is None:
        return
    st.subheader(f"Anomalies in this window ({flagged.height})", anchor=False)
    if flagged.is_empty():
        st.caption("None flagged in this window.")
        return
    st.dataframe(
        flagged.sort("session_date", descending=True).select(
            "session_date", "rule_id", "measured_value", "threshold", "explanation"
        ),
        hide_index=True,
        column_config={
            "session_date": st.column_config.DateColumn("Session"),
            "rule_id": widgets.text("Rule"),
            "measured_value": widgets.number("Measured", "%.4g"),
            "threshold": widgets.number("Threshold", "%.4g"),
            "explanation": widgets.text("What happened", width="large"),
        },
    )
