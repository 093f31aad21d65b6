"""The symbols page: what gold serves, with reference data and daily coverage."""

from __future__ import annotations

import polars as pl
import streamlit as st

from marketlake.serve.dashboard import charts, data, widgets


def render() -> None:
    """Draw the page."""
    st.header("Symbols", anchor=False)
    frame = data.coverage()
    if frame is None:
        widgets.missing(widgets.NO_GOLD)
        return
    if frame.is_empty():
        widgets.missing("Gold holds no symbol — ingest bars, then `marketlake build`.")
        return
    covered = frame.filter(pl.col("trading_days").fill_null(0) > 0)
    st.caption(
        f"{frame.height} symbols in `dim_symbol` (current versions), {covered.height} with daily "
        "bars. Reference data comes from `marketlake ingest symbols`; symbols without it show as "
        "unknown."
    )
    if covered.height:
        st.plotly_chart(
            charts.coverage_figure(covered), config={"displaylogo": False}, key="coverage"
        )
    st.dataframe(
        frame.select(
            "symbol",
            "symbol_name",
            "asset_class",
            "exchange",
            "currency",
            "sector",
            "first_session_date",
            "last_session_date",
            "trading_days",
            "sources",
        ),
        hide_index=True,
        column_config={
            "symbol": widgets.text("Symbol"),
            "symbol_name": widgets.text("Name", width="medium"),
            "asset_class": widgets.text("Asset class"),
            "exchange": widgets.text("Exchange"),
            "currency": widgets.text("Currency"),
            "sector": widgets.text("Sector"),
            "first_session_date": st.column_config.DateColumn("First session"),
            "last_session_date": st.column_config.DateColumn("Last session"),
            "trading_days": widgets.number("Sessions", "localized"),
            "sources": widgets.text("Sources"),
        },
    )
