"""The live page: the stream consumer's latest moving averages of a symbol, refreshed in place.

What ``marketlake stream consume`` committed to PostgreSQL, read through
:mod:`marketlake.serve.live`: the latest price, SMAs, EMAs and session VWAP, charts of the
recent ticks and sessions, and the consumer's counts. The part below the symbol picker is a
fragment that runs again every ``dashboard.live_refresh_s`` seconds, so the numbers move while
the page is open; the history is read again only after the consumer committed a batch.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import polars as pl
import psycopg
import streamlit as st

from marketlake.config import get_settings
from marketlake.errors import MarketLakeError, WarehouseUnavailableError
from marketlake.serve.dashboard import charts, data, widgets
from marketlake.serve.live import LiveProgress, LiveView

log = logging.getLogger(__name__)

NO_LIVE = (
    "Nothing streamed yet — run `marketlake stream consume` and, in another terminal, "
    "`marketlake stream produce --synthetic` (or `--from-silver SYMBOLS` to replay silver)."
)
_UNITS = {"day": "daily closes", "bar": "ticks"}
_COUNTS = {
    "applied": "Ticks whose effect is committed (each once).",
    "late": "Ticks older than their symbol's last applied one: never applied (stream.late_ticks).",
    "duplicate": "Ticks applied before (a tick published again): skipped.",
    "malformed": "Messages that are not valid ticks: dead-lettered with the reason.",
    "redelivered": "Messages the broker delivered again after a restart: skipped.",
}


def render() -> None:
    """Draw the page."""
    refresh = get_settings().dashboard.live_refresh_s
    try:
        symbols = data.live_symbols()
    except MarketLakeError as exc:
        st.header("Live", anchor=False)
        _unavailable(exc)
        st.fragment(_wait, run_every=refresh)(reachable=False)
        return
    if not symbols:
        st.header("Live", anchor=False)
        widgets.missing(NO_LIVE)
        st.fragment(_wait, run_every=refresh)(reachable=True)
        return
    left, right = st.columns([2, 6], vertical_alignment="bottom")
    with left:
        symbol = widgets.symbol_picker(symbols, key="live-symbol")
    with right:
        st.caption(
            f"{len(symbols)} live symbol{'s' if len(symbols) > 1 else ''}; this page reads "
            f"the consumer's commits again every {refresh:g} s while it is open."
        )
    st.fragment(_panel, run_every=refresh)(symbol)


def _wait(*, reachable: bool) -> None:
    """Runs every refresh while the page has nothing to show; draws the page again once a
    symbol has live values or PostgreSQL starts (or stops) answering."""
    try:
        found, up = bool(data.live_symbols()), True
    except MarketLakeError:
        found, up = False, False
    if found or up != reachable:
        st.rerun()


def _unavailable(exc: MarketLakeError) -> None:
    server = widgets.md(exc.context.get("server", ""))
    if isinstance(exc, WarehouseUnavailableError):
        st.warning(
            f"PostgreSQL does not answer{f' at {server}' if server else ''} — start it "
            "(warehouse.postgres), then `marketlake stream consume` and "
            "`marketlake stream produce --synthetic`; this page retries by itself.",
            icon=":material/cloud_off:",
        )
    else:
        st.warning(widgets.md(exc), icon=":material/cloud_off:")


def _panel(symbol: str) -> None:
    """The symbol's values, charts and the consumer's counts (one refresh)."""
    try:
        progress = data.live_progress()
        view = None if progress is None else data.live_view(symbol, progress)
    except MarketLakeError as exc:
        _unavailable(exc)
        return
    except psycopg.Error as exc:  # the tables changed under the read (a `consume --reset`)
        log.warning("live read of %s failed: %s", symbol, exc)
        st.caption("The live tables changed while being read; showing them again shortly.")
        return
    if progress is None or view is None:
        widgets.missing(f"No live values of {symbol} any more. {NO_LIVE}")
        return
    widgets.header(symbol, "live")
    config = view.config
    st.caption(
        widgets.md(
            f"Averages over {_UNITS.get(config.unit, config.unit)} (stream.unit = "
            f"{config.unit}) · SMA {'/'.join(map(str, config.windows))} · EMA "
            f"{'/'.join(map(str, config.ema_spans)) or 'none'} · VWAP of the session · "
            "times in UTC"
        )
    )
    decimals = _decimals(view.ticks["price"])
    _headline(view, decimals)
    _averages(view, decimals)
    _charts(view, decimals)
    _consumer(progress)


def _decimals(prices: pl.Series) -> int:
    """Decimals that show every recent price exactly (2 to 6)."""
    for d in range(2, 6):
        scaled = prices * 10**d
        if ((scaled - scaled.round(0)).abs().max() or 0.0) < 1e-6:
            return d
    return 6


def _fmt(value: float | None, decimals: int) -> str | None:
    return None if value is None else f"{value:,.{decimals}f}"


def _change(value: float, base: float | None, description: str) -> dict[str, Any]:
    """A metric's delta: ``value`` against ``base`` in percent (grey and flat when 0.00%)."""
    if not base:
        return {}
    change = value / base - 1
    if abs(change) < 5e-5:
        return {"delta": "0.00%", "delta_description": description, "delta_color": "off",
                "delta_arrow": "off"}  # fmt: skip
    return {"delta": f"{change:+.2%}", "delta_description": description}


def _headline(view: LiveView, decimals: int) -> None:
    """Price, time and VWAP of the latest tick."""
    latest = view.latest
    price = float(latest["price"])
    closes = view.sessions.filter(pl.col("session") < latest["session"])["close"]
    previous = closes[-1] if closes.len() else None
    cols = st.columns(3)
    cols[0].metric(
        "Price",
        _fmt(price, decimals),
        **_change(price, previous, "vs previous session's close"),
        help=f"The latest applied tick's price (size {latest['size']:,g}).",
        border=True,
        height="stretch",
    )
    ts: datetime = latest["ts_event"]
    cols[1].metric(
        "Last tick (UTC)",
        ts.strftime("%H:%M:%S.%f")[:-3],
        f"session {latest['session']}",
        delta_color="off",
        delta_arrow="off",
        help=f"{ts.isoformat()} — stream sequence {latest['stream_seq']:,}",
        border=True,
        height="stretch",
    )
    vwap = latest.get("vwap")
    cols[2].metric(
        "Session VWAP",
        _fmt(vwap, decimals),
        **_change(price, vwap, "price vs VWAP"),
        help="Volume-weighted average price of the session so far (resets each session).",
        border=True,
        height="stretch",
    )


def _averages(view: LiveView, decimals: int) -> None:
    """One metric per SMA window and EMA span; a line on those not defined yet."""
    latest, config = view.latest, view.config
    unit = _UNITS.get(config.unit, config.unit)
    averages = [
        (f"SMA {n}", f"sma_{n}", f"Simple average of the last {n} {unit}.") for n in config.windows
    ]
    for n in config.ema_spans:
        text = f"Exponential average, span {n} {unit} (k = 2/({n}+1), seeded with the SMA of {n})."
        averages.append((f"EMA {n}", f"ema_{n}", text))
    for col, (label, column, text) in zip(st.columns(len(averages)), averages, strict=True):
        value = latest.get(column)
        col.metric(
            label,
            _fmt(value, decimals),
            help=text if value is not None else f"{text} Not enough {unit} yet.",
            border=True,
        )
    pending = [label for label, column, _ in averages if latest.get(column) is None]
    if pending:
        have = view.sessions if config.unit == "day" else view.ticks
        capped = have.height >= get_settings().stream.history_rows
        st.caption(
            f"Not defined yet: {', '.join(pending)} — each needs as many {unit} as its period "
            f"({'at least ' if capped else ''}{have.height:,} so far)."
        )


def _charts(view: LiveView, decimals: int) -> None:
    ticks, sessions, config = view.ticks, view.sessions, view.config
    per = " ticks" if config.unit == "bar" else ""
    first, last = ticks["ts_event"][0], ticks["ts_event"][-1]
    span = (
        f"{first:%Y-%m-%d %H:%M:%S} → {last:%H:%M:%S}"
        if first.date() == last.date()
        else (f"{first:%Y-%m-%d %H:%M} → {last:%Y-%m-%d %H:%M}")
    )
    fig = charts.live_ticks_figure(
        ticks,
        title=f"{view.symbol} · last {ticks.height:,} ticks · {span} UTC",
        indicators=config.indicators,
        per=per,
        revision=view.symbol,
    )
    st.plotly_chart(fig, config={"displaylogo": False}, key="live-ticks")
    if sessions.height < 2:
        only = sessions.row(0, named=True) if sessions.height else None
        st.caption(
            "One session so far"
            + (f" ({only['session']}, close {_fmt(only['close'], decimals)})" if only else "")
            + "; the chart of sessions starts with the second."
        )
        return
    fig = charts.live_sessions_figure(
        sessions,
        title=f"{view.symbol} · {sessions.height:,} sessions · {sessions['session'][0]} → "
        f"{sessions['session'][-1]} (hollow: open)",
        indicators=config.indicators,
        per=per,
        revision=view.symbol,
    )
    st.plotly_chart(fig, config={"displaylogo": False}, key="live-sessions")


def _consumer(progress: LiveProgress) -> None:
    st.subheader("Consumer", anchor=False)
    committed = progress.updated_at
    when = "no batch committed yet"
    if committed is not None:
        age = (datetime.now(UTC) - committed).total_seconds()
        when = f"last commit {committed:%Y-%m-%d %H:%M:%S} UTC ({_age(age)} ago)"
    st.caption(
        widgets.md(
            f"Durable {progress.durable} on stream {progress.stream}, all symbols: committed "
            f"up to stream sequence {progress.last_stream_seq:,} in {progress.batches:,} "
            f"batches; {when}."
        )
    )
    cols = st.columns(len(_COUNTS))
    for col, (name, text) in zip(cols, _COUNTS.items(), strict=True):
        col.metric(name.capitalize(), f"{progress.counts.get(name, 0):,}", help=text, border=True)


def _age(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86_400:.0f} days"
