"""Plotly figures of the dashboard (pure: frames in, figures out; no Streamlit here)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from marketlake.serve.bar_types import normal_density

UP, DOWN = "#26a69a", "#ef5350"
SMA_COLORS = {"sma_20": "#f59e0b", "sma_50": "#3b82f6", "sma_200": "#8b5cf6"}
KIND_COLORS = {
    "time": "#64748b",
    "tick": "#0ea5e9",
    "volume": "#f59e0b",
    "dollar": "#10b981",
    "imbalance": "#a855f7",
}
FONT = {"family": "Inter, Source Sans Pro, sans-serif", "size": 12}


def _layout(fig: go.Figure, *, height: int, title: str | None = None) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 56 if title else 24, "b": 10},
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}} if title else None,
        font=FONT,
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        hovermode="x unified",
        plot_bgcolor="white",
        bargap=0.1,
    )
    fig.update_xaxes(showgrid=True, gridcolor="#eef0f3", zeroline=False, showspikes=True)
    fig.update_yaxes(showgrid=True, gridcolor="#eef0f3", zeroline=False)
    return fig


def _date_breaks(times: list[Any]) -> list[dict[str, Any]]:
    """Hide the calendar days without a bar (weekends, holidays) on a daily axis."""
    if len(times) < 2:
        return []
    have = set(times)
    first, last = times[0], times[-1]
    missing = [
        (first + timedelta(days=i)).isoformat()
        for i in range((last - first).days)
        if first + timedelta(days=i) not in have
    ]
    return [{"values": missing}] if missing else []


def _intraday_breaks(times: pl.Series, interval_s: float) -> list[dict[str, Any]]:
    """Hide nights and weekends when the bars never cover them (a regular session)."""
    if times.len() < 2:
        return []
    breaks: list[dict[str, Any]] = []
    if not times.dt.weekday().is_in([6, 7]).any():
        breaks.append({"bounds": ["sat", "mon"]})
    minutes = times.dt.hour().cast(pl.Int32) * 60 + times.dt.minute().cast(pl.Int32)
    start = int(minutes.min() or 0)  # type: ignore[arg-type]
    end = int(minutes.max() or 0) + interval_s / 60  # type: ignore[arg-type]
    if end - start < 24 * 60 - 60:  # a gap of an hour or more each day
        breaks.append({"bounds": [end / 60, start / 60], "pattern": "hour"})
    return breaks


def price_figure(
    candles: pl.DataFrame,
    *,
    title: str,
    currency: str | None,
    interval_s: float,
    indicators: pl.DataFrame | None = None,
    anomalies: pl.DataFrame | None = None,
) -> go.Figure:
    """Candles with SMA 20/50/200 and volume; RSI and MACD panels when ``indicators`` are given.

    Args:
        candles: ``time``, open, high, low, close, volume, sma_20/50/200 in time order.
        title: The figure's title.
        currency: Unit of prices (axis title), when known.
        interval_s: The bars' interval in seconds (daily or longer: the axis is by date).
        indicators: Gold's daily indicators of the same sessions (``session_date``, rsi_14,
            macd, macd_signal, macd_histogram).
        anomalies: Flagged sessions (``session_date``, rule_id, explanation), marked above
            the candles.
    """
    panels = indicators is not None and indicators.height > 0
    rows, heights = (4, [0.56, 0.14, 0.15, 0.15]) if panels else (2, [0.78, 0.22])
    fig = make_subplots(
        rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.025, row_heights=heights
    )
    x = candles["time"].to_list()
    fig.add_trace(
        go.Candlestick(
            x=x,
            open=candles["open"].to_numpy(),
            high=candles["high"].to_numpy(),
            low=candles["low"].to_numpy(),
            close=candles["close"].to_numpy(),
            name="OHLC",
            increasing={"line": {"color": UP, "width": 1}, "fillcolor": UP},
            decreasing={"line": {"color": DOWN, "width": 1}, "fillcolor": DOWN},
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    daily = interval_s >= 86_400
    for column, color in SMA_COLORS.items():
        values = candles[column]
        if values.null_count() < values.len():
            name = f"SMA {column.split('_')[1]}" + ("" if daily else " bars")
            fig.add_trace(
                go.Scatter(
                    x=x, y=values.to_numpy(), name=name, mode="lines",
                    line={"color": color, "width": 1.4},
                ),
                row=1, col=1,
            )  # fmt: skip
    if anomalies is not None and anomalies.height and daily:
        _add_anomalies(fig, candles, anomalies)
    up = (candles["close"] >= candles["open"]).to_list()
    fig.add_trace(
        go.Bar(
            x=x,
            y=candles["volume"].fill_null(0).to_numpy(),
            name="Volume",
            marker={"color": [UP if u else DOWN for u in up], "opacity": 0.55},
            showlegend=False,
        ),
        row=2,
        col=1,
    )
    if panels:
        assert indicators is not None
        _add_indicator_panels(fig, indicators)
    price_title = f"Price ({currency})" if currency else "Price"
    fig.update_yaxes(title_text=price_title, row=1, col=1)
    fig.update_yaxes(title_text="Volume", row=2, col=1)
    fig.update_xaxes(rangeslider_visible=False)
    if daily:
        fig.update_xaxes(rangebreaks=_date_breaks(x))
    else:
        fig.update_xaxes(rangebreaks=_intraday_breaks(candles["time"], interval_s))
        fig.update_xaxes(title_text="UTC", row=rows, col=1)
    return _layout(fig, height=860 if panels else 600, title=title)


def _add_anomalies(fig: go.Figure, candles: pl.DataFrame, anomalies: pl.DataFrame) -> None:
    flagged = (
        anomalies.group_by("session_date", maintain_order=True)
        .agg(
            rules=pl.col("rule_id").str.join(", "),
            text=pl.col("explanation").fill_null("").str.join("<br>"),
        )
        .join(candles.select("time", "high"), left_on="session_date", right_on="time")
    )
    if flagged.is_empty():
        return
    fig.add_trace(
        go.Scatter(
            x=flagged["session_date"].to_list(),
            y=(flagged["high"] * 1.015).to_numpy(),
            mode="markers",
            name="Anomaly",
            marker={"symbol": "triangle-down", "size": 9, "color": "#dc2626"},
            customdata=np.stack([flagged["rules"].to_numpy(), flagged["text"].to_numpy()], axis=1),
            hovertemplate="%{customdata[0]}: %{customdata[1]}<extra></extra>",
        ),
        row=1,
        col=1,
    )


def _add_indicator_panels(fig: go.Figure, ind: pl.DataFrame) -> None:
    x = ind["session_date"].to_list()
    fig.add_trace(
        go.Scatter(
            x=x, y=ind["rsi_14"].to_numpy(), name="RSI 14", mode="lines",
            line={"color": "#7c3aed", "width": 1.3}, showlegend=False,
        ),
        row=3, col=1,
    )  # fmt: skip
    for level in (30, 70):
        fig.add_hline(y=level, line={"color": "#94a3b8", "width": 1, "dash": "dash"}, row=3, col=1)
    fig.update_yaxes(title_text="RSI 14", range=[0, 100], tickvals=[30, 50, 70], row=3, col=1)
    hist = ind["macd_histogram"]
    fig.add_trace(
        go.Bar(
            x=x,
            y=hist.to_numpy(),
            name="MACD histogram",
            marker={"color": [UP if (v or 0) >= 0 else DOWN for v in hist.to_list()]},
            opacity=0.6,
            showlegend=False,
        ),
        row=4,
        col=1,
    )
    for column, name, color in (("macd", "MACD", "#2563eb"), ("macd_signal", "Signal", "#f97316")):
        fig.add_trace(
            go.Scatter(
                x=x, y=ind[column].to_numpy(), name=name, mode="lines",
                line={"color": color, "width": 1.3}, showlegend=False,
            ),
            row=4, col=1,
        )  # fmt: skip
    fig.update_yaxes(title_text="MACD", row=4, col=1)


def period_returns_figure(frame: pl.DataFrame, period: str) -> go.Figure:
    """Each period's close-to-close return as a bar, green up and red down."""
    returns = frame["period_return"].fill_null(0.0)
    fig = go.Figure(
        go.Bar(
            x=frame["period_label"].to_list(),
            y=returns.to_numpy(),
            marker={"color": [UP if r >= 0 else DOWN for r in returns.to_list()]},
            hovertemplate="%{x}: %{y:.2%}<extra></extra>",
            name="Return",
        )
    )
    fig.update_yaxes(title_text=f"{period.capitalize()} return", tickformat=".0%")
    fig.update_xaxes(type="category", nticks=12)
    return _layout(fig, height=280)


def bars_per_day_figure(per_day: pl.DataFrame, kinds: dict[str, str]) -> go.Figure:
    """Complete bars per UTC day of each series (one line per series)."""
    fig = go.Figure()
    for (series,), part in per_day.group_by("series", maintain_order=True):
        fig.add_trace(
            go.Scatter(
                x=part["bar_date"].to_list(),
                y=part["bars"].to_numpy(),
                name=str(series),
                mode="lines",
                line={
                    "color": KIND_COLORS.get(kinds.get(str(series), ""), "#334155"),
                    "width": 1.4,
                },
            )
        )
    fig.update_yaxes(title_text="Bars per day", rangemode="tozero")
    return _layout(fig, height=320)


def return_histograms_figure(z: pl.DataFrame, kinds: dict[str, str], *, bins: int) -> go.Figure:
    """One histogram per series of its standardised log returns, with the N(0, 1) density."""
    names = z["series"].unique(maintain_order=True).to_list()
    fig = make_subplots(rows=1, cols=max(1, len(names)), shared_yaxes=True, subplot_titles=names)
    grid = np.linspace(-5, 5, 201)
    normal = [normal_density(v) for v in grid]
    for i, name in enumerate(names, start=1):
        values = z.filter(pl.col("series") == name)["z"].to_numpy()
        fig.add_trace(
            go.Histogram(
                x=values[np.abs(values) <= 5],
                xbins={"start": -5, "end": 5, "size": 10 / bins},
                histnorm="probability density",
                marker={"color": KIND_COLORS.get(kinds.get(name, ""), "#334155")},
                opacity=0.75,
                name=name,
                showlegend=False,
            ),
            row=1,
            col=i,
        )
        fig.add_trace(
            go.Scatter(
                x=grid, y=normal, mode="lines", name="N(0, 1)", showlegend=i == 1,
                line={"color": "#0f172a", "width": 1, "dash": "dot"},
            ),
            row=1, col=i,
        )  # fmt: skip
        fig.update_xaxes(title_text="σ", range=[-5, 5], row=1, col=i)
    fig.update_yaxes(title_text="Density", rangemode="tozero", row=1, col=1)
    fig.update_annotations(font={"size": 12})
    fig = _layout(fig, height=330)
    fig.update_layout(
        hovermode="closest",
        margin={"t": 40},
        legend={"x": 0, "xanchor": "left", "y": -0.25, "yanchor": "top"},
    )
    return fig


def coverage_figure(symbols: pl.DataFrame) -> go.Figure:
    """One bar per symbol from its first to its last session."""
    ordered = symbols.sort("first_session_date", descending=True)
    starts = ordered["first_session_date"].to_list()
    ends = ordered["last_session_date"].to_list()
    fig = go.Figure(
        go.Bar(
            y=ordered["symbol"].to_list(),
            x=[_ms(e) - _ms(s) + 86_400_000 for s, e in zip(starts, ends, strict=True)],
            base=[s.isoformat() for s in starts],
            orientation="h",
            marker={"color": "#60a5fa"},
            width=0.55,
            customdata=np.stack(
                [ordered["trading_days"].fill_null(0).to_numpy(), [str(e) for e in ends]], axis=1
            ),
            hovertemplate="%{y}: %{base|%Y-%m-%d} → %{customdata[1]}, "
            "%{customdata[0]} sessions<extra></extra>",
        )
    )
    fig.update_xaxes(type="date")
    fig.update_yaxes(type="category")
    return _layout(fig, height=max(160, 28 * ordered.height + 60))


def _ms(day: date) -> int:
    return (day - date(1970, 1, 1)).days * 86_400_000


def quarantine_figure(rules: pl.DataFrame) -> go.Figure:
    """Quarantined rows per rule (horizontal bars), one colour per dataset."""
    fig = go.Figure()
    palette = ["#ef4444", "#f59e0b", "#3b82f6", "#10b981", "#a855f7", "#64748b"]
    for i, ((dataset,), part) in enumerate(rules.group_by("dataset", maintain_order=True)):
        fig.add_trace(
            go.Bar(
                y=part["rule_id"].to_list(),
                x=part["rows"].to_numpy(),
                name=str(dataset),
                orientation="h",
                marker={"color": palette[i % len(palette)]},
                hovertemplate="%{y}: %{x:,} rows<extra>" + str(dataset) + "</extra>",
            )
        )
    fig.update_xaxes(title_text="Rows quarantined")
    fig.update_yaxes(type="category", categoryorder="total ascending")
    fig = _layout(fig, height=max(180, 30 * rules.height + 80))
    fig.update_layout(hovermode="closest", barmode="stack")
    return fig


# --- live values of the stream -----------------------------------------------------------------

LIVE_SMA = ["#f59e0b", "#3b82f6", "#8b5cf6", "#ef4444"]  # per SMA window, in order
LIVE_EMA = ["#0ea5e9", "#10b981", "#ec4899", "#84cc16"]  # per EMA span (dashed)
PRICE, VWAP = "#0f172a", "#64748b"


def _average_lines(
    fig: go.Figure, frame: pl.DataFrame, x: list[Any], indicators: list[str], per: str
) -> None:
    """A line per ``sma_<n>``/``ema_<n>`` column that has a value yet."""
    smas = [c for c in indicators if c.startswith("sma_")]
    emas = [c for c in indicators if c.startswith("ema_")]
    lines: list[tuple[str, str, str, str | None]] = [
        (c, LIVE_SMA[i % len(LIVE_SMA)], "SMA", None) for i, c in enumerate(smas)
    ]
    lines += [(c, LIVE_EMA[i % len(LIVE_EMA)], "EMA", "dash") for i, c in enumerate(emas)]
    for column, color, kind, dash in lines:
        values = frame[column]
        if values.null_count() == values.len():
            continue
        fig.add_trace(
            go.Scatter(
                x=x, y=values.to_numpy(), name=f"{kind} {column.split('_')[1]}{per}",
                mode="lines", line={"color": color, "width": 1.3, "dash": dash},
            ),
            row=1, col=1,
        )  # fmt: skip


def live_ticks_figure(
    ticks: pl.DataFrame, *, title: str, indicators: list[str], per: str, revision: str
) -> go.Figure:
    """Recent ticks: price with the moving averages and session VWAP; sizes below.

    Args:
        ticks: ``ts_event``, ``price``, ``size`` and the ``indicators`` columns, oldest first.
        title: The figure's title.
        indicators: ``sma_<n>``, ``ema_<n>``, ``vwap`` columns to draw where defined.
        per: Suffix of the averages' names (`` ticks`` when their period is a tick).
        revision: Zoom and legend choices are kept while it stays the same (a refresh).
    """
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.03, row_heights=[0.8, 0.2]
    )
    sizes = ticks
    ticks = _break_gaps(ticks)
    x = ticks["ts_event"].to_list()
    fig.add_trace(
        go.Scatter(
            x=x, y=ticks["price"].to_numpy(), name="Price", mode="lines",
            line={"color": PRICE, "width": 1.4},
        ),
        row=1, col=1,
    )  # fmt: skip
    _average_lines(fig, ticks, x, indicators, per)
    if "vwap" in indicators and ticks["vwap"].null_count() < ticks.height:
        fig.add_trace(
            go.Scatter(
                x=x, y=ticks["vwap"].to_numpy(), name="VWAP (session)", mode="lines",
                line={"color": VWAP, "width": 1.3, "dash": "dot"},
            ),
            row=1, col=1,
        )  # fmt: skip
    fig.add_trace(
        go.Bar(
            x=sizes["ts_event"].to_list(), y=sizes["size"].to_numpy(), name="Size",
            marker={"color": "#94a3b8"}, showlegend=False,
        ),
        row=2, col=1,
    )  # fmt: skip
    fig.update_yaxes(title_text="Price", row=1, col=1)
    fig.update_yaxes(title_text="Size", rangemode="tozero", row=2, col=1)
    return _live_layout(fig, height=560, title=title, revision=revision)


def _break_gaps(ticks: pl.DataFrame, *, factor: int = 20) -> pl.DataFrame:
    """``ticks`` with a row of nulls inside each pause of the feed (longer than ``factor``
    times the typical time between ticks, e.g. a night), so lines stop there instead of
    joining across it."""
    if ticks.height < 3:
        return ticks
    gaps = ticks["ts_event"].diff().dt.total_microseconds()
    typical = gaps.median()
    if not isinstance(typical, int | float) or typical <= 0:
        return ticks
    order = pl.int_range(pl.len(), dtype=pl.Int64).cast(pl.Float64).alias("_order")
    rows = ticks.with_columns(order, _gap=gaps)
    pauses = rows.filter(pl.col("_gap") > typical * factor)
    if pauses.is_empty():
        return ticks
    fillers = pauses.select(
        pl.col("ts_event") - pl.duration(microseconds=1),
        *[pl.lit(None, dtype=ticks.schema[c]).alias(c) for c in ticks.columns if c != "ts_event"],
        pl.col("_order") - 0.5,
        "_gap",
    )
    return pl.concat([rows, fillers]).sort("_order").drop("_order", "_gap")


def _live_layout(fig: go.Figure, *, height: int, title: str, revision: str) -> go.Figure:
    """The house layout, the legend below the plot (one line per average would cover the
    title above it), and zoom kept across refreshes."""
    fig = _layout(fig, height=height, title=title)
    fig.update_layout(
        uirevision=revision,
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": -0.1, "yanchor": "top"},
        margin={"b": 40},
    )
    return fig


def live_sessions_figure(
    sessions: pl.DataFrame, *, title: str, indicators: list[str], per: str, revision: str
) -> go.Figure:
    """Each session's close (an open session's latest price, hollow) with its SMAs.

    Args:
        sessions: ``session``, ``close``, ``final`` and the ``sma_<n>`` columns, oldest first.
        title: The figure's title.
        indicators: The indicator columns; the ``sma_<n>`` ones are drawn where defined.
        per: Suffix of the averages' names (`` ticks`` when their period is a tick).
        revision: Zoom and legend choices are kept while it stays the same (a refresh).
    """
    fig = make_subplots(rows=1, cols=1)
    x = sessions["session"].to_list()
    final = sessions["final"].to_list()
    fig.add_trace(
        go.Scatter(
            x=x, y=sessions["close"].to_numpy(), name="Close", mode="lines+markers",
            line={"color": PRICE, "width": 1.4},
            marker={"size": 6, "symbol": ["circle" if f else "circle-open" for f in final]},
            customdata=["final" if f else "open: latest price" for f in final],
            hovertemplate="%{y}<extra>%{customdata}</extra>",
        ),
        row=1, col=1,
    )  # fmt: skip
    _average_lines(fig, sessions, x, [c for c in indicators if c.startswith("sma_")], per)
    fig.update_yaxes(title_text="Close")
    fig.update_xaxes(rangebreaks=_date_breaks(x))
    return _live_layout(fig, height=380, title=title, revision=revision)
