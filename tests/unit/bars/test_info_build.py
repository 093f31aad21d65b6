"""Bars from silver trades into silver bars_info: exact, streamed, idempotent, loud on bad input."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from marketlake.bars import reference as ref
from marketlake.bars.build import BarsRequest, build_bars
from marketlake.bars.writer import SeriesWriter, read_bars_info
from marketlake.config import Settings
from marketlake.errors import ConfigError
from marketlake.lake import Lake
from marketlake.ops.ledger import read_ledger
from tests.unit.bars.info_support import SOURCE, make_trades, ns, write_trades

DOLLARS = 300_000.0


@pytest.fixture
def small_chunks(settings: Settings) -> Settings:
    # Chunks smaller than the files and not aligned with them: state must carry across both.
    return settings.model_copy(update={"bars": settings.bars.model_copy(update={"chunk_rows": 7})})


@pytest.fixture
def es(lake: Lake) -> tuple[Any, Any, Any]:
    """ES trades across a new year, in files of 97 rows."""
    trades = make_trades(2_000, start="2023-12-31T20:00:00", step_s=30)
    write_trades(lake, "ES", *trades, file_rows=97)
    return trades


def bars_of(lake: Lake, **filters: Any) -> list[dict[str, Any]]:
    return read_bars_info(lake, **filters).to_pylist()


def test_dollar_bars_equal_reference_and_land_per_year(
    small_chunks: Settings, lake: Lake, es: tuple[Any, Any, Any]
) -> None:
    report = build_bars(small_chunks, BarsRequest(kind="dollar", threshold=DOLLARS))
    [result] = report.symbols
    assert (result.outcome, result.trades, result.source) == ("written", 2_000, SOURCE)

    expected, last = ref.threshold_bars(*es, "dollar", DOLLARS)
    rows = bars_of(lake, symbol="ES")
    assert last is not None
    assert len(rows) == len(expected) + 1 == result.bars
    for row, want in zip(rows, [*expected, last], strict=True):
        assert row["ts_end"].value == want["ts_end"]
        assert row["ts_start"].value == want["ts_start"]
        assert (row["open"], row["high"], row["low"], row["close"]) == (
            want["open"],
            want["high"],
            want["low"],
            want["close"],
        )
        assert (row["volume"], row["dollar_value"], row["tick_count"]) == (
            want["volume"],
            want["dollar_value"],
            want["tick_count"],
        )
        assert row["kind"] == "dollar"
        assert row["threshold"] == DOLLARS
        assert row["source"] == SOURCE
    assert [r["complete"] for r in rows] == [True] * len(expected) + [False]
    assert len(bars_of(lake, symbol="ES", complete_only=True)) == len(expected)

    years = sorted(k.split("/")[3] for k in result.partitions)
    assert years == ["year=2023", "year=2024"]
    assert all(k.endswith(f"/{result.run_key}.parquet") for k in result.partitions)
    assert result.run_key.startswith("dollar-300000-hdf5_tick_trades-")

    [row] = [r for r in read_ledger(lake) if r.step == "bars"]
    assert (row.status, row.rows_in, row.rows_out) == ("ok", 2_000, result.bars)
    assert row.details["run_key"] == result.run_key


def test_rerun_skips_and_recompute_rewrites_the_same_bars(
    settings: Settings, lake: Lake, es: tuple[Any, Any, Any]
) -> None:
    request = BarsRequest(kind="tick", threshold=30)
    build_bars(settings, request)
    files = {k: lake.read_parquet(k) for k in lake.glob("silver/bars_info/*/*/*.parquet")}
    again = build_bars(settings, request)
    assert [s.outcome for s in again.symbols] == ["unchanged"]
    assert again.symbols[0].bars == 67  # 2000 trades: 66 bars of 30, one open bar of 20
    redo = build_bars(settings, request, recompute=True)
    assert [s.outcome for s in redo.symbols] == ["written"]
    assert {k: lake.read_parquet(k) for k in lake.glob("silver/bars_info/*/*/*.parquet")} == files


def test_other_thresholds_and_kinds_coexist(
    settings: Settings, lake: Lake, es: tuple[Any, Any, Any]
) -> None:
    build_bars(settings, BarsRequest(kind="tick", threshold=30))
    build_bars(settings, BarsRequest(kind="tick", threshold=100))
    build_bars(settings, BarsRequest(kind="time", interval="1h"))
    assert len(bars_of(lake, kind="tick", threshold=30)) == 67
    assert len(bars_of(lake, kind="tick", threshold=100)) == 20  # the last bar is complete
    hourly = bars_of(lake, kind="time")
    assert {r["threshold"] for r in hourly} == {3600.0}
    assert [r["tick_count"] for r in hourly[:5]] == [120] * 5  # a trade every 30 s
    assert all(r["bar_threshold"] is None for r in hourly)


def test_a_crash_midway_is_redone_by_the_next_run(
    settings: Settings, lake: Lake, es: tuple[Any, Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    request = BarsRequest(kind="volume", threshold=200)
    clean = build_bars(settings, request)
    before = bars_of(lake)
    original = SeriesWriter._flush
    calls = {"n": 0}

    def crash_on_second_year(self: SeriesWriter) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # killed after writing 2023, before 2024
        original(self)

    monkeypatch.setattr(SeriesWriter, "_flush", crash_on_second_year)
    with pytest.raises(KeyboardInterrupt):
        build_bars(settings, request, recompute=True)
    monkeypatch.setattr(SeriesWriter, "_flush", original)
    resumed = build_bars(settings, request)  # no --recompute: the lost record forces a rebuild
    assert [s.outcome for s in resumed.symbols] == ["written"]
    assert bars_of(lake) == before
    assert resumed.symbols[0].partitions == clean.symbols[0].partitions


def test_symbol_with_two_sources_needs_a_choice(
    settings: Settings, lake: Lake, es: tuple[Any, Any, Any]
) -> None:
    ts, price, size = es
    kept = size > 0
    write_trades(
        lake,
        "ES",
        ts[kept],
        price[kept],
        size[kept],
        source="hdf5:tick/trades_filter0vol",
        ingest_id="ffff000011112222",
    )
    report = build_bars(settings, BarsRequest(kind="tick", threshold=50))
    error = report.symbols[0].error
    assert isinstance(error, ConfigError)
    assert "hdf5:tick/trades, hdf5:tick/trades_filter0vol" in str(error)
    assert "--source" in str(error)

    chosen = BarsRequest(kind="tick", threshold=50, source="hdf5:tick/trades_filter0vol")
    [result] = build_bars(settings, chosen).symbols
    assert (result.outcome, result.trades) == ("written", int(kept.sum()))
    assert "trades_filter0vol" in result.run_key


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda t, p, s: p.__setitem__(1234, np.nan), "price is NaN"),
        (lambda t, p, s: t.__setitem__(1234, t[1230]), "unsorted"),
    ],
)
def test_bad_silver_rows_are_refused_not_dropped(
    settings: Settings, lake: Lake, spoil: Any, message: str
) -> None:
    ts, price, size = make_trades(2_000, start="2024-03-01T00:00:00", step_s=1)
    spoil(ts, price, size)
    write_trades(lake, "ES", ts, price, size, file_rows=1_000)
    [result] = build_bars(settings, BarsRequest(kind="tick", threshold=10)).symbols
    assert result.outcome == "failed"
    text = str(result.error)
    assert message in text
    assert "a1b2c3d4e5f6a7b8-000001.parquet" in text  # the second file ...
    assert "row_index=234" in text  # ... and the row in it
    assert "re-ingest" in text
    assert bars_of(lake) == []


def test_trades_of_an_unfinished_ingest_are_refused(
    settings: Settings, lake: Lake, es: tuple[Any, Any, Any]
) -> None:
    ts, price, size = make_trades(100, start="2024-06-01T00:00:00", step_s=1)
    write_trades(lake, "ES", ts, price, size, ingest_id="0000111122223333", published=False)
    [result] = build_bars(settings, BarsRequest(kind="tick", threshold=10)).symbols
    assert result.outcome == "failed"
    assert "not completely published: 0000111122223333" in str(result.error)
    assert "let it finish" in str(result.error)


def test_bars_per_day_uses_the_median_day(settings: Settings, lake: Lake) -> None:
    days = [("2024-03-04", 400), ("2024-03-05", 1_000), ("2024-03-06", 60)]
    parts = [
        make_trades(n, start=f"{d}T14:00:00", step_s=1, seed=i) for i, (d, n) in enumerate(days)
    ]
    ts, price, size = (np.concatenate(c) for c in zip(*parts, strict=True))
    write_trades(lake, "ES", ts, price, size)
    request = BarsRequest(kind="tick", bars_per_day=8)
    [result] = build_bars(settings, request).symbols
    assert result.threshold == 50  # median day 400 trades / 8
    assert result.derived["median_daily"] == 400
    assert build_bars(settings, request).symbols[0].outcome == "unchanged"

    dollars = build_bars(settings, BarsRequest(kind="dollar", bars_per_day=3)).symbols[0]
    daily = [float(np.dot(p, s)) for _, p, s in parts]
    median = sorted(daily)[1] / 3
    assert dollars.threshold == float(f"{median:.3g}")  # 3 significant digits


def test_from_to_selects_whole_utc_days(settings: Settings, lake: Lake) -> None:
    ts, price, size = make_trades(3 * 24 * 60, start="2024-03-04T00:00:00", step_s=60)
    write_trades(lake, "ES", ts, price, size)
    request = BarsRequest(kind="time", interval="1d", start=date(2024, 3, 5), end=date(2024, 3, 5))
    [result] = build_bars(settings, request).symbols
    assert result.trades == 24 * 60
    [bar] = bars_of(lake)
    assert bar["ts_start"].value == ns("2024-03-05T00:00:00")
    assert bar["ts_end"].value == ns("2024-03-05T23:59:00")
    assert bar["complete"] is False  # nothing later was read: the day cannot be known complete


def test_a_shorter_range_removes_the_years_it_no_longer_covers(
    settings: Settings, lake: Lake, es: tuple[Any, Any, Any]
) -> None:
    request = BarsRequest(kind="tick", threshold=50)
    build_bars(settings, request)
    assert len(lake.glob("silver/bars_info/*/*/*.parquet")) == 2
    later = BarsRequest(kind="tick", threshold=50, start=date(2024, 1, 1))
    [result] = build_bars(settings, later).symbols
    assert [k.split("/")[3] for k in lake.glob("silver/bars_info/*/*/*.parquet")] == ["year=2024"]
    assert sum(r["tick_count"] for r in bars_of(lake)) == result.trades


def test_contradictory_options_are_refused_before_reading(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="exactly one of --threshold and --bars-per-day"):
        build_bars(settings, BarsRequest(kind="dollar"))
    with pytest.raises(ConfigError, match="--interval"):
        build_bars(settings, BarsRequest(kind="time", threshold=60))
    with pytest.raises(ConfigError, match="cannot read the interval"):
        build_bars(settings, BarsRequest(kind="time", interval="5 minutes"))


def test_bars_info_rows_have_the_canonical_schema(
    settings: Settings, lake: Lake, es: tuple[Any, Any, Any]
) -> None:
    from marketlake.schemas import BARS_INFO

    build_bars(settings, BarsRequest(kind="imbalance", threshold=20))
    for key in lake.glob("silver/bars_info/*/*/*.parquet"):
        table = lake.read_parquet(key)
        assert table.schema.equals(BARS_INFO, check_metadata=False)
        assert pa.compute.all(pa.compute.greater_equal(table["high"], table["low"])).as_py()
