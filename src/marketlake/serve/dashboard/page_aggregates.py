"""The aggregates page: daily bars rolled up by week, month, quarter and year (gold)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from marketlake.serve import queries
from marketlake.serve.dashboard import charts, data, widgets


def render() -> None:
    """Draw the page."""
    if not data.has_gold():
        widgets.missing(widgets.NO_GOLD)
        return
    symbols = data.chart_symbols()
    if not symbols:
        widgets.missing(widgets.NO_BARS)
        return
    left, right = st.columns([2, 5], vertical_alignment="bottom")
    with left:
        symbol = widgets.symbol_picker(symbols)
    with right:
        period: queries.Period = (
            st.segmented_control(
                "Period",
                queries.PERIODS,
                default="monthly",
                format_func=str.capitalize,
                key="period",
                required=True,
                persist_state="session",
            )
            or "monthly"
        )
    row = data.symbol_row(symbol)
    widgets.header(symbol, (row or {}).get("symbol_name"))
    frame = data.aggregates(symbol, period)
    if frame is None:
        widgets.missing(f"No {period} aggregates of {symbol} in gold — run `marketlake build`.")
        return
    if frame.is_empty():
        widgets.missing(f"{symbol} has no daily bars to aggregate.")
        return
    st.caption(
        f"{frame.height:,} {period} periods of `agg_bars_{period}`: true OHLC (first open, "
        "highest high, lowest low, last close) and summed volume of the sessions in each period; "
        "the return is close over the previous period's close."
    )
    recent = frame.tail(_SHOWN[period])
    st.plotly_chart(
        charts.period_returns_figure(recent, period), config={"displaylogo": False}, key="returns"
    )
    st.dataframe(
        frame.sort("period_start", descending=True).select(
            "period_label",
            "first_session_date",
            "last_session_date",
            "trading_days",
            "open",
            "high",
            "low",
            "close",
            (pl.col("period_return") * 100).alias("return_pct"),
            "volume",
            "avg_volume",
        ),
        hide_index=True,
        column_config={
            "period_label": widgets.text("Period"),
            "first_session_date": st.column_config.DateColumn("First session"),
            "last_session_date": st.column_config.DateColumn("Last session"),
            "trading_days": widgets.number("Sessions", "localized"),
            "open": widgets.number("Open"),
            "high": widgets.number("High"),
            "low": widgets.number("Low"),
            "close": widgets.number("Close"),
            "return_pct": widgets.number("Return", "%+.2f%%"),
            "volume": widgets.number("Volume", "compact"),
            "avg_volume": widgets.number("Avg daily volume", "compact"),
        },
    )


# Periods in the returns chart: about five years, readable bars.
_SHOWN = {"weekly": 104, "monthly": 60, "quarterly": 40, "yearly": 30}
