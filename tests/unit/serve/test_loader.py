"""The backtest loader: the rows a direct read gives, pruned, cached, adjusted on request."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime

import polars as pl
import pyarrow.dataset as ds
import pytest

import marketlake
from marketlake.config import Settings, load_settings
from marketlake.errors import ConfigError
from marketlake.lake import Lake
from marketlake.serve import loader
from tests.unit.serve.support import minute_bars, publish, trades

D23 = [date(2023, 12, 28), date(2023, 12, 29)]
D24 = [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)]


@pytest.fixture
def bars_lake(lake: Lake) -> Lake:
    publish(lake, "bars", "ing23", minute_bars("AAA", D23) + minute_bars("X:BTC", D23))
    publish(lake, "bars", "ing24", minute_bars("AAA", D24) + minute_bars("X:BTC", D24, base=50))
    return lake


def direct(lake: Lake, dataset: str, condition: ds.Expression) -> pl.DataFrame:
    files = lake.glob(f"silver/{dataset}/*/*/*.parquet")
    table = ds.dataset([lake.full(f) for f in files], format="parquet").to_table(filter=condition)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.sort("symbol", "ts_event", maintain_order=True)


def test_read_equals_a_direct_pyarrow_read(bars_lake: Lake, settings: Settings) -> None:
    got = marketlake.read_bars("AAA", "2024-01-01", "2024-01-03", settings=settings)
    want = direct(
        bars_lake,
        "bars",
        (ds.field("symbol") == "AAA")
        & (ds.field("session_date") >= date(2024, 1, 1))
        & (ds.field("session_date") <= date(2024, 1, 3)),
    )
    assert got.height == 8  # two days of four minutes: the end date is included
    assert got.equals(want)

    many = marketlake.read_bars(["X:BTC", "AAA"], settings=settings)
    assert many.equals(direct(bars_lake, "bars", ds.field("interval") == "1m"))


def test_datetime_bounds_are_start_inclusive_end_exclusive(
    bars_lake: Lake, settings: Settings
) -> None:
    start = datetime(2023, 12, 29, 14, 31, tzinfo=UTC)
    end = datetime(2024, 1, 2, 14, 31, tzinfo=UTC)
    got = marketlake.read_bars(
        "X:BTC", start, end, columns=["ts_event", "close"], settings=settings
    )
    assert got.columns == ["ts_event", "close"]
    assert got["ts_event"].to_list() == [
        datetime(2023, 12, 29, 14, m, tzinfo=UTC) for m in (31, 32, 33)
    ] + [datetime(2024, 1, 2, 14, 30, tzinfo=UTC)]


def test_only_the_partitions_asked_for_are_opened(bars_lake: Lake, settings: Settings) -> None:
    # A broken file in 2023 must not matter to a 2024 read: it is never listed, let alone read.
    for key in bars_lake.glob("silver/bars/*/year=2023/*.parquet"):
        bars_lake.write_bytes(key, b"not parquet")
    got = marketlake.read_bars("AAA", date(2024, 1, 2), date(2024, 1, 2), settings=settings)
    assert got.height == 4
    with pytest.raises(pl.exceptions.ComputeError):
        marketlake.read_bars("AAA", "2023-12-28", "2023-12-28", settings=settings)


def test_second_read_is_a_cache_hit_and_a_reingest_invalidates_it(
    bars_lake: Lake, settings: Settings
) -> None:
    first = marketlake.read_bars("AAA", settings=settings)
    again = marketlake.read_bars("AAA", settings=settings)
    info = marketlake.cache_info()
    assert (info.hits, info.misses, info.entries) == (1, 1, 1)
    assert again.equals(first)

    publish(bars_lake, "bars", "ing24", minute_bars("AAA", D24, minutes=2))  # re-delivered day
    changed = marketlake.read_bars("AAA", settings=settings)
    assert changed.height == first.height - 2 * len(D24)
    assert marketlake.cache_info().misses == 2


def test_cache_never_exceeds_its_byte_bound(bars_lake: Lake, tmp_path: object) -> None:
    probe = marketlake.read_bars("AAA", "2024-01-02", "2024-01-02", settings=load_settings())
    bound = int(probe.estimated_size() * 2.5)
    small = load_settings(
        data_dir=bars_lake.uri.removesuffix("/lake"), loader={"cache_bytes": bound}
    )
    for day in D24 + D23:
        for symbol in ("AAA", "X:BTC"):
            marketlake.read_bars(symbol, day, day, settings=small)
            info = marketlake.cache_info()
            assert info.bytes <= bound
            assert 1 <= info.entries <= 2
    # A frame larger than the bound is returned, not kept.
    loader.cache_clear()
    everything = marketlake.read_bars(None, interval=None, settings=small)
    assert everything.height == 2 * 4 * 5
    assert marketlake.cache_info().entries == 0


def test_callers_cannot_change_what_the_cache_holds(bars_lake: Lake, settings: Settings) -> None:
    pdf = marketlake.read_bars("AAA", output="pandas", settings=settings)
    original = pdf["close"].tolist()
    pdf.loc[:, "close"] = -1.0  # writable: a copy, not a view of cached buffers
    del pdf["open"]
    again = marketlake.read_bars("AAA", output="pandas", settings=settings)
    assert again["close"].tolist() == original
    assert "open" in again.columns

    frame = marketlake.read_bars("AAA", settings=settings)
    frame.drop_in_place("close")
    frame[0, "open"] = -5.0
    cached = marketlake.read_bars("AAA", settings=settings)
    assert "close" in cached.columns
    assert cached["open"][0] != -5.0
    assert marketlake.cache_info().hits == 3


def test_adjust_splits_and_dividends(lake: Lake, settings: Settings) -> None:
    rows = minute_bars("SPL", D24, minutes=1)  # closes 100.1, 101.1, 102.1
    rows[1]["split_factor"] = 2.0  # 2-for-1 effective on the second day
    rows[2]["dividend"] = 10.21  # ex-date third day; previous close 101.1 -> factor 0.899
    rows[2]["adj_close"] = 1.0  # a vendor value: returned as delivered
    publish(lake, "bars", "spl", rows)

    none = marketlake.read_bars("SPL", settings=settings)
    splits = marketlake.read_bars("SPL", adjust="splits", settings=settings)
    full = marketlake.read_bars("SPL", adjust="all", settings=settings)
    assert none["close"].to_list() == [100.1, 101.1, 102.1]
    assert splits["close"].to_list() == pytest.approx([50.05, 101.1, 102.1])
    assert splits["volume"].to_list() == [2000.0, 1000.0, 1000.0]
    factor = 1 - 10.21 / 101.1
    assert full["close"].to_list() == pytest.approx([50.05 * factor, 101.1 * factor, 102.1])
    assert full["volume"].to_list() == [2000.0, 1000.0, 1000.0]
    assert full["adj_close"].to_list() == [None, None, 1.0]
    # A window ending before the split is still adjusted for it (factors use all later data).
    window = marketlake.read_bars(
        "SPL", "2024-01-02", "2024-01-02", adjust="all", settings=settings
    )
    assert window["close"].to_list() == pytest.approx([50.05 * factor])


def test_trades_of_one_day_for_every_symbol(lake: Lake, settings: Settings) -> None:
    day = datetime(2024, 3, 1, tzinfo=UTC)
    publish(lake, "trades", "t1", trades("AAA", day, 5, ingest_id="t1"))
    publish(lake, "trades", "t2", trades("BBB", day, 3, ingest_id="t2"))
    publish(
        lake, "trades", "t3", trades("AAA", datetime(2024, 3, 2, tzinfo=UTC), 4, ingest_id="t3")
    )
    got = marketlake.read_trades(None, "2024-03-01", "2024-03-01", settings=settings)
    assert got["symbol"].to_list() == ["AAA"] * 5 + ["BBB"] * 3
    lazy = marketlake.scan_trades("AAA", columns=["price"], settings=settings)
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect().height == 9
    assert marketlake.read_quotes("AAA", settings=settings).height == 0


def test_mistakes_are_explained(bars_lake: Lake, settings: Settings) -> None:
    with pytest.raises(ConfigError, match="no column"):
        marketlake.read_bars("AAA", columns=["nope"], settings=settings)
    with pytest.raises(ConfigError, match="output"):
        marketlake.read_bars("AAA", output="arrow", settings=settings)  # type: ignore[call-overload]
    with pytest.raises(ConfigError, match="start time"):
        marketlake.read_bars("AAA", "yesterday", settings=settings)


def test_import_marketlake_stays_light() -> None:
    code = "import marketlake, sys; assert 'polars' not in sys.modules; print(marketlake.__all__)"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    assert marketlake.read_bars is loader.read_bars


def test_rows_come_in_time_order_across_interleaved_deliveries(
    lake: Lake, settings: Settings
) -> None:
    # Two deliveries of one symbol-year whose days interleave: file order is not time order.
    publish(lake, "bars", "odd", minute_bars("AAA", [D24[0], D24[2]]))
    publish(lake, "bars", "even", minute_bars("AAA", [D24[1]], base=200))
    frame = marketlake.read_bars("AAA", D24[0], D24[-1], settings=settings)
    assert frame["ts_event"].is_sorted()
    assert frame["session_date"].unique(maintain_order=True).to_list() == D24
    # without the sort keys in the output, the order is the same
    closes = marketlake.read_bars("AAA", D24[0], D24[-1], columns=["close"], settings=settings)[
        "close"
    ].to_list()
    assert closes == frame["close"].to_list()


def test_overlapping_deliveries_give_one_bar_per_time_the_latest_landed(
    lake: Lake, settings: Settings
) -> None:
    from marketlake.lake.bronze import land

    # "b-old" lands first; "a-new" lands later and re-sends Jan 3 with other prices. Its id sorts
    # first, so file order or an id tie-break alone would pick the wrong row.
    old, _ = land(lake, b"old", source="test", logical_key="AAA-old", original_name="old.csv")
    new, _ = land(lake, b"new", source="test", logical_key="AAA-new", original_name="new.csv")
    ids = {"b-old": old.ingest_id, "a-new": new.ingest_id}
    assert old.landed_at < new.landed_at
    publish(lake, "bars", old.ingest_id, minute_bars("AAA", D24[:2]) + minute_bars("BBB", D24[:1]))
    publish(lake, "bars", new.ingest_id, minute_bars("AAA", D24[1:], base=500))
    day3 = pl.col("session_date") == D24[1]

    frame = marketlake.read_bars("AAA", settings=settings)
    assert frame.height == 3 * 4  # three days of four minutes, Jan 3 once
    assert frame["ts_event"].is_sorted()
    assert frame["ts_event"].n_unique() == frame.height
    assert frame.filter(day3)["ingest_id"].unique().to_list() == [ids["a-new"]]
    assert frame.filter(day3)["close"].min() > 500
    assert frame.filter(pl.col("session_date") == D24[0])["ingest_id"].unique().to_list() == [
        ids["b-old"]
    ]
    # the same choice lazily, for several symbols, every interval, and with a few columns
    lazy = marketlake.scan_bars("AAA", settings=settings).collect()
    assert lazy.equals(frame)
    both = marketlake.read_bars(["AAA", "BBB"], interval=None, settings=settings)
    assert both.height == 12 + 4
    assert both.filter(pl.col("symbol") == "AAA").drop("interval").equals(frame.drop("interval"))
    closes = marketlake.read_bars("AAA", columns=["close"], settings=settings)
    assert closes.columns == ["close"]
    assert closes["close"].to_list() == frame["close"].to_list()
    adjusted = marketlake.read_bars("AAA", adjust="splits", settings=settings)
    assert adjusted["ts_event"].to_list() == frame["ts_event"].to_list()


def test_without_a_manifest_row_the_larger_ingest_id_wins(lake: Lake, settings: Settings) -> None:
    publish(lake, "bars", "aaa1", minute_bars("AAA", D24[:2]))
    publish(lake, "bars", "aaa2", minute_bars("AAA", D24[1:], base=500))
    frame = marketlake.read_bars("AAA", settings=settings)
    assert frame.height == 12
    assert frame.filter(pl.col("session_date") == D24[1])["ingest_id"].unique().to_list() == [
        "aaa2"
    ]
