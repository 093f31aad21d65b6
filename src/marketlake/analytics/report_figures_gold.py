"""The report's figures of gold's daily indicators: close with moving averages, RSI and MACD.

Same rendering as :mod:`marketlake.analytics.report_figures` (matplotlib Agg to inline SVG).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from marketlake.analytics.report_figures import (
    WIDTH_IN,
    date_axis,
    log_y,
    new_figure,
    rc_context,
    to_svg,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

SMA_COLOURS = {"sma_20": "#ff7f0e", "sma_50": "#2ca02c", "sma_200": "#9467bd"}
CLOSE_COLOUR = "#1f3b5c"
ANOMALY_COLOUR = "#d62728"
RSI_BANDS = (30.0, 70.0)
# A close range wider than this factor is drawn on a log scale, so one bad print (a price
# 100x off) does not flatten the rest of the year into a line.
LOG_SCALE_RANGE = 8.0


def _values(frame: pl.DataFrame, column: str) -> np.ndarray:
    """A float column as an array, nulls as NaN (matplotlib leaves gaps there)."""
    return frame[column].cast(pl.Float64).fill_null(np.nan).to_numpy()


def indicator_panels(window: pl.DataFrame, flagged: pl.DataFrame, symbol: str) -> str:
    """Close with SMA 20/50/200 and flagged sessions; RSI(14) with 30/70; MACD, signal, histogram.

    Args:
        window: One symbol's rows of ``fct_indicators_daily`` (sorted or not).
        flagged: The sessions of that symbol in ``fct_anomalies`` (``session_date``), any number.
        symbol: For the title.

    Returns:
        One inline ``<svg>`` with three panels sharing the date axis.
    """
    window = window.sort("session_date")
    dates = window["session_date"].to_numpy()
    with rc_context():
        fig = new_figure(6.4, WIDTH_IN)
        price, rsi, macd = fig.subplots(
            3, 1, sharex=True, gridspec_kw={"height_ratios": [2.6, 1.0, 1.2]}
        )
        _price_panel(price, window, flagged)
        _rsi_panel(rsi, dates, _values(window, "rsi_14"))
        _macd_panel(macd, window)
        date_axis(macd)
        first, last = window["session_date"][0], window["session_date"][-1]
        fig.suptitle(f"{symbol}: daily close and indicators, {first} to {last}", fontsize=10)
        # One legend for the three panels, under them: it never hides a line.
        handles, labels = price.get_legend_handles_labels()
        more_handles, more_labels = macd.get_legend_handles_labels()
        fig.legend(
            handles + more_handles,
            labels + more_labels,
            loc="outside lower center",
            ncols=len(labels) + len(more_labels),
            fontsize=8,
            frameon=False,
        )
        return to_svg(fig)


def _price_panel(ax: Axes, window: pl.DataFrame, flagged: pl.DataFrame) -> None:
    dates = window["session_date"].to_numpy()
    close = _values(window, "close")
    ax.plot(dates, close, color=CLOSE_COLOUR, linewidth=1.4, label="close")
    for column, colour in SMA_COLOURS.items():
        values = _values(window, column)
        if not np.isnan(values).all():
            label = f"SMA {column.removeprefix('sma_')}"
            ax.plot(dates, values, color=colour, linewidth=1.0, label=label)
    marked = window.join(flagged.select("session_date").unique(), on="session_date", how="semi")
    if marked.height:
        ax.plot(
            marked["session_date"].to_numpy(),
            _values(marked, "close"),
            "o",
            markersize=6,
            markerfacecolor="none",
            markeredgecolor=ANOMALY_COLOUR,
            markeredgewidth=1.4,
            label="anomaly",
        )
    finite = close[np.isfinite(close) & (close > 0)]
    if finite.size and finite.max() / finite.min() > LOG_SCALE_RANGE:
        log_y(ax)
        ax.set_ylabel("close (log scale)")
    else:
        ax.set_ylabel("close")


def _rsi_panel(ax: Axes, dates: np.ndarray, rsi: np.ndarray) -> None:
    low, high = RSI_BANDS
    ax.axhspan(low, high, color="#eeeeee", linewidth=0)
    for level in RSI_BANDS:
        ax.axhline(level, color="#888888", linewidth=0.8, linestyle="--")
    ax.plot(dates, rsi, color="#6a3d9a", linewidth=1.1)
    ax.set_ylim(0, 100)
    ax.set_yticks([0, low, high, 100])
    ax.set_ylabel("RSI(14)")


def _macd_panel(ax: Axes, window: pl.DataFrame) -> None:
    dates = window["session_date"].to_numpy()
    histogram = np.nan_to_num(_values(window, "macd_histogram"))
    # Two filled step areas instead of one bar per session: two SVG paths, not hundreds.
    for rising, colour, label in ((True, "#8fbf8f", "MACD - signal"), (False, "#e6a0a0", None)):
        ax.fill_between(
            dates,
            0.0,
            histogram,
            where=(histogram >= 0) if rising else (histogram < 0),
            step="mid",
            interpolate=False,
            color=colour,
            linewidth=0,
            label=label,
        )
    ax.plot(dates, _values(window, "macd"), color="#1f77b4", linewidth=1.1, label="MACD")
    ax.plot(dates, _values(window, "macd_signal"), color="#e377c2", linewidth=1.0, label="signal")
    ax.axhline(0.0, color="#888888", linewidth=0.8)
    ax.set_ylabel("MACD(12,26,9)")
