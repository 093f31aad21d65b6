"""The bar types page: tick, volume and dollar bars against time bars of the same trades."""

from __future__ import annotations

import polars as pl
import streamlit as st

from marketlake.config import get_settings
from marketlake.serve.dashboard import charts, data, widgets

_ABOUT = (
    "Bars built from the same trades, closed on a clock (time) or on activity: a number of "
    "trades (tick), of contracts or shares (volume), or of money traded (dollar). Activity bars "
    "sample more when more happens, so their count per day follows the market while time bars "
    "stay flat, and their returns are usually closer to normal (lower excess kurtosis) and less "
    "autocorrelated. Statistics use complete bars; returns are log close-to-close within a series."
)


def render() -> None:
    """Draw the page."""
    symbols, richest = data.info_symbols()
    if not symbols:
        widgets.missing(
            "No tick, volume or dollar bars yet — they are built from trades: ingest ticks "
            "(`marketlake ingest hdf5 ES.h5`), then `marketlake bars --kind dollar "
            "--bars-per-day 50` and `marketlake bars --kind time --interval 5m`."
        )
        return
    left, _ = st.columns([2, 5])
    with left:
        symbol = widgets.symbol_picker(symbols, key="info_symbol", default=richest)
    widgets.header(symbol, "bar types")
    st.caption(_ABOUT)
    found = data.bar_types(symbol)
    if found is None:
        widgets.missing(f"No bars of {symbol} in silver `bars_info`.")
        return
    summary, per_day, z = found
    kinds = dict(zip(summary["series"].to_list(), summary["kind"].to_list(), strict=True))
    pvalues = [
        pl.col(c).map_elements(_p, return_dtype=pl.String) for c in ("jb_pvalue", "lb_pvalue")
    ]
    st.dataframe(
        summary.with_columns(pvalues).select(
            "series",
            "bars",
            "days",
            "bars_per_day",
            "cv_bars_per_day",
            "std_return",
            "skew",
            "excess_kurtosis",
            "jb_pvalue",
            "acf_1",
            "lb_pvalue",
        ),
        hide_index=True,
        column_config=_COLUMNS,
    )
    st.subheader("Bars per day", anchor=False)
    st.plotly_chart(
        charts.bars_per_day_figure(per_day, kinds), config={"displaylogo": False}, key="per_day"
    )
    st.subheader("Distribution of returns", anchor=False)
    st.caption(
        "Log returns standardised by each series' own standard deviation (σ), with the "
        "standard normal for reference: a peak above the curve and wide tails are fat tails."
    )
    bins = get_settings().analytics.histogram_bins
    st.plotly_chart(
        charts.return_histograms_figure(z, kinds, bins=bins),
        config={"displaylogo": False},
        key="returns",
    )


_COLUMNS = {
    "series": widgets.text("Series", help="kind and threshold (time: bar length)"),
    "bars": widgets.number("Bars", "localized"),
    "days": widgets.number("Days", "localized"),
    "bars_per_day": widgets.number("Bars / day", "%.1f"),
    "cv_bars_per_day": widgets.number(
        "CV of bars / day", "%.2f", help="std / mean of the daily bar count"
    ),
    "std_return": widgets.number("Std of returns", "%.2e"),
    "skew": widgets.number("Skew", "%.2f"),
    "excess_kurtosis": widgets.number("Excess kurtosis", "%.2f", help="0 for a normal law"),
    "jb_pvalue": widgets.text("Jarque-Bera p", help="normality test; small: not normal"),
    "acf_1": widgets.number("Autocorr. lag 1", "%.3f"),
    "lb_pvalue": widgets.text(
        "Ljung-Box p", help="serial correlation up to analytics.acf_lags; small: correlated"
    ),
}


def _p(value: float) -> str:
    """A p-value as people read it: 0.642, 3.8e-06, < 1e-300."""
    return f"{value:.2g}" if value > 0 else "< 1e-300"
