"""What the dashboard charts: candles with moving averages, and bar types from silver."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from marketlake.config import Settings
from marketlake.lake import Lake
from marketlake.serve import bar_types, queries
from tests.integration.warehouse.sample_silver import daily_bars, publish
from tests.unit.analytics.sample import sample_bars_info, write_bars_info
from tests.unit.serve.support import minute_bars
from tests.unit.serve.support import publish as publish_rows
from tests.unit.serve.test_queries import dim_symbol, write_mart

DAYS = [date(2024, 1, 1) + timedelta(days=i) for i in range(400) if (i % 7) < 5]


@pytest.fixture
def reader(settings: Settings) -> queries.Reader:
    return queries.open_reader(settings)


def sma_loop(closes: list[float], n: int) -> list[float | None]:
    """The moving average as a plain loop: the mean of the last n closes, None before."""
    return [None if i + 1 < n else sum(closes[i + 1 - n : i + 1]) / n for i in range(len(closes))]


def test_moving_averages_equal_a_plain_loop() -> None:
    closes = [float(x) for x in np.random.default_rng(3).normal(100, 5, 260)]
    frame = queries.with_moving_averages(pl.DataFrame({"close": closes}))
    for n in queries.SMA_WINDOWS:
        got, want = frame[f"sma_{n}"].to_list(), sma_loop(closes, n)
        assert [g is None for g in got] == [w is None for w in want]
        assert [g for g in got if g is not None] == pytest.approx([w for w in want if w])


def test_daily_candles_before_a_build_come_from_silver(reader: queries.Reader) -> None:
    publish(reader.lake, daily_bars("MSFT", DAYS, seed=1, source="csv_daily", ingest_id="i1"))
    assert queries.chart_symbols(reader) == ["MSFT"]
    frame, source = queries.daily_candles(reader, "MSFT")
    assert source == "silver"
    assert frame.height == len(DAYS)
    assert frame["time"].to_list() == DAYS
    assert frame["sma_200"].to_list() == pytest.approx(
        sma_loop(frame["close"].to_list(), 200), nan_ok=True
    )


def test_daily_candles_after_a_build_come_from_gold_with_its_averages(
    settings: Settings, reader: queries.Reader
) -> None:
    publish(reader.lake, daily_bars("MSFT", DAYS, seed=1, source="csv_daily", ingest_id="i1"))
    write_mart(settings, "dim_symbol", dim_symbol("MSFT"))
    days = DAYS[:3]
    write_mart(
        settings,
        "fct_daily_bars",
        pl.DataFrame(
            {
                "symbol": ["MSFT"] * 3,
                "session_date": days[::-1],
                **{c: [1.0, 2.0, 3.0] for c in ("open", "high", "low", "close", "volume")},
            }
        ),
    )
    write_mart(
        settings,
        "fct_indicators_daily",
        pl.DataFrame(
            {
                "symbol": ["MSFT"] * 3,
                "session_date": days,
                "sma_20": [None, 7.0, 8.0],
                "sma_50": [None, None, 9.0],
                "sma_200": [None, None, None],
            },
            schema_overrides={f"sma_{n}": pl.Float64 for n in (20, 50, 200)},
        ),
    )
    frame, source = queries.daily_candles(reader, "MSFT")
    assert source == "gold"
    # A symbol ingested since the build is listed too, and charted from silver.
    publish(reader.lake, daily_bars("IBM", DAYS, seed=3, source="csv_daily", ingest_id="i2"))
    assert queries.chart_symbols(reader) == ["IBM", "MSFT"]
    assert queries.daily_candles(reader, "IBM")[1] == "silver"
    assert frame["time"].to_list() == days  # gold's sessions, in time order
    assert frame["sma_20"].to_list() == [None, 7.0, 8.0]  # gold's values, not recomputed
    assert frame["sma_50"].to_list() == [None, None, 9.0]


def test_intraday_intervals_spans_and_candles(reader: queries.Reader) -> None:
    days = [date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 6)]
    publish_rows(reader.lake, "bars", "m1", minute_bars("X:BTCUSD", days, minutes=30))
    publish(reader.lake, daily_bars("X:BTCUSD", days, seed=2, source="polygon", ingest_id="d1"))
    assert queries.silver_symbols(reader.lake, "bars") == ["X:BTCUSD"]  # unquoted
    assert queries.bar_intervals(reader, "X:BTCUSD") == ["1m", "1d"]
    assert queries.session_span(reader, "X:BTCUSD", "1m") == (days[0], days[-1])
    assert queries.session_span(reader, "X:BTCUSD", "1h") is None
    frame = queries.intraday_candles(reader, "X:BTCUSD", "1m", days[1], days[2])
    assert frame.height == 60
    assert frame.schema["time"] == pl.Datetime("ns")  # naive: plotly draws it as it is
    assert frame["time"][0].strftime("%H:%M") == "14:30"  # UTC, as ts_event
    assert frame["sma_20"].null_count() == 19


def test_series_labels_as_people_say_them() -> None:
    assert bar_types.threshold_label("time", 1800) == "time 30m"
    assert bar_types.threshold_label("time", 3600) == "time 1h"
    assert bar_types.threshold_label("time", 45) == "time 45s"
    assert bar_types.threshold_label("tick", 98) == "tick 98"
    assert bar_types.threshold_label("dollar", 1_190_000) == "dollar 1.19M"
    assert bar_types.threshold_label("volume", 3100) == "volume 3.1k"


@pytest.fixture
def es(lake: Lake) -> pl.DataFrame:
    bars = sample_bars_info("ES", weeks=4)
    write_bars_info(lake, bars)
    write_bars_info(lake, sample_bars_info("NQ", weeks=1, seed=9), run_key="other")
    return bars


def test_bar_types_of_a_symbol_from_silver(lake: Lake, es: pl.DataFrame) -> None:
    assert queries.silver_symbols(lake, "bars_info") == ["ES", "NQ"]
    sizes = queries.silver_bytes(lake, "bars_info")
    assert max(sizes, key=lambda s: sizes[s]) == "ES"
    bars = bar_types.info_bars(lake, "ES")
    assert bars.height == es.height
    returns = bar_types.labelled_returns(bars)
    order = returns.select("series", "series_order").unique().sort("series_order")
    assert order["series"].to_list() == ["time 1h", "tick 150", "volume 1.5k", "dollar 6M"]

    summary = bar_types.bar_type_summary(returns, nlags=5, min_returns=30)
    tick = summary.filter(pl.col("series") == "tick 150").row(0, named=True)
    complete = es.filter((pl.col("kind") == "tick") & pl.col("complete")).sort("ts_end")
    logs = np.diff(np.log(complete["close"].to_numpy()))
    assert tick["bars"] == complete.height
    assert tick["std_return"] == pytest.approx(logs.std(ddof=1))
    assert tick["days"] == 20  # four weeks of weekdays
    assert tick["bars_per_day"] == pytest.approx(complete.height / 20)
    assert 0 <= tick["jb_pvalue"] <= 1
    assert 0 <= tick["lb_pvalue"] <= 1

    z = bar_types.standardized_returns(returns)
    for _, part in z.group_by("series"):
        assert part["z"].std() == pytest.approx(1.0)
        assert part["z"].mean() == pytest.approx(0.0, abs=1e-9)


def test_bars_per_day_count_days_without_a_bar_as_zero() -> None:
    returns = pl.DataFrame(
        {
            "series": ["tick 1", "tick 1", "time 1h", "time 1h", "time 1h"],
            "series_order": [1, 1, 0, 0, 0],
            "bar_date": [date(2024, 1, 1), date(2024, 1, 3)]
            + [date(2024, 1, d) for d in (1, 2, 3)],
        }
    )
    per_day = bar_types.bars_per_day(returns).filter(pl.col("series") == "tick 1")
    assert per_day["bars"].to_list() == [1, 0, 1]


def test_a_symbol_without_information_bars_reads_empty(lake: Lake) -> None:
    assert bar_types.info_bars(lake, "ES").is_empty()
    assert queries.silver_symbols(lake, "bars_info") == []
