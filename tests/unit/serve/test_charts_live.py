"""The live page's figures: what a quant sees of recent ticks and sessions."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import polars as pl

from marketlake.serve.dashboard.charts import live_sessions_figure, live_ticks_figure

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
INDICATORS = ["sma_3", "sma_200", "ema_2", "vwap"]


def ticks(times: list[datetime]) -> pl.DataFrame:
    n = len(times)
    prices = [100.0 + i for i in range(n)]
    return pl.DataFrame(
        {
            "ts_event": times,
            "session": [t.date() for t in times],
            "price": prices,
            "size": [10.0] * n,
            "sma_3": [None, None, *[sum(prices[i - 2 : i + 1]) / 3 for i in range(2, n)]],
            "sma_200": [None] * n,
            "ema_2": [None, *prices[1:]],
            "vwap": prices,
        },
        schema_overrides={"ts_event": pl.Datetime("us", "UTC"), "sma_200": pl.Float64},
    )


def traces(fig: object) -> dict[str, object]:
    return {t.name: t for t in fig.data}  # type: ignore[attr-defined]


def test_averages_not_defined_yet_get_no_line_and_the_unit_is_named() -> None:
    frame = ticks([T0 + timedelta(seconds=i) for i in range(6)])
    fig = live_ticks_figure(frame, title="t", indicators=INDICATORS, per=" ticks", revision="A")
    names = list(traces(fig))
    assert names == ["Price", "SMA 3 ticks", "EMA 2 ticks", "VWAP (session)", "Size"]
    assert fig.layout.uirevision == "A"  # a refresh keeps the user's zoom


def test_a_pause_in_the_feed_breaks_the_lines_and_nothing_else() -> None:
    times = [T0 + timedelta(seconds=i) for i in range(10)]
    times += [T0 + timedelta(hours=2, seconds=i) for i in range(5)]  # two hours without ticks
    fig = live_ticks_figure(ticks(times), title="t", indicators=INDICATORS, per="", revision="A")
    price = traces(fig)["Price"]
    ys = list(price.y)  # type: ignore[attr-defined]
    gaps = [i for i, y in enumerate(ys) if y is None or math.isnan(y)]
    assert gaps == [10]  # one break, between the last tick before the pause and the first after
    assert [y for i, y in enumerate(ys) if i not in gaps] == [100.0 + i for i in range(15)]
    assert len(traces(fig)["Size"].x) == 15  # type: ignore[attr-defined]


def test_a_steady_feed_is_one_unbroken_line() -> None:
    frame = ticks([T0 + timedelta(minutes=30 * i) for i in range(40)])
    fig = live_ticks_figure(frame, title="t", indicators=INDICATORS, per="", revision="A")
    assert len(traces(fig)["Price"].y) == 40  # type: ignore[attr-defined]


def test_sessions_mark_the_open_one_hollow() -> None:
    sessions = pl.DataFrame(
        {
            "session": [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)],
            "close": [10.0, 11.0, 12.0],
            "final": [True, True, False],
            "sma_3": [None, None, 11.0],
            "sma_200": [None, None, None],
        },
        schema_overrides={"sma_200": pl.Float64},
    )
    fig = live_sessions_figure(sessions, title="s", indicators=INDICATORS, per="", revision="A")
    close = traces(fig)["Close"]
    assert list(close.marker.symbol) == ["circle", "circle", "circle-open"]  # type: ignore[attr-defined]
    assert list(traces(fig)) == ["Close", "SMA 3"]  # no EMA, no undefined SMA 200
