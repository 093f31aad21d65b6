"""--bars-per-day: the median day's measure over N, rounded, the same however trades are chunked."""

from __future__ import annotations

import numpy as np
import pytest

from marketlake.bars.spec import BarSpec
from marketlake.bars.threshold import (
    NS_PER_DAY,
    DailyTotals,
    round_significant,
    threshold_for_bars_per_day,
)
from marketlake.bars.time_bars import format_interval, parse_interval
from marketlake.errors import ConfigError


def three_days() -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    counts = [10, 30, 1_000]  # the busy day must not move the median
    ts = np.concatenate([d * NS_PER_DAY + np.arange(n) for d, n in enumerate(counts)])
    price = np.full(ts.shape[0], 2.0)
    size = np.concatenate([np.full(n, float(d + 1)) for d, n in enumerate(counts)])
    return ts.astype(np.int64), price, size


def test_median_day_over_n_in_any_chunking() -> None:
    ts, price, size = three_days()
    whole, chunked = DailyTotals(), DailyTotals()
    whole.add(ts, price, size)
    for lo in range(0, ts.shape[0], 7):  # days straddle the chunks
        chunked.add(ts[lo : lo + 7], price[lo : lo + 7], size[lo : lo + 7])
    assert whole.days == chunked.days
    assert threshold_for_bars_per_day(whole, kind="tick", bars_per_day=3) == 10  # 30 / 3
    assert threshold_for_bars_per_day(whole, kind="volume", bars_per_day=4) == 15  # 60 / 4
    assert threshold_for_bars_per_day(whole, kind="dollar", bars_per_day=7) == 17.1  # 120/7
    assert threshold_for_bars_per_day(whole, kind="imbalance", bars_per_day=7) == 4  # 30/7


def test_rounding_keeps_nearby_targets_on_one_threshold() -> None:
    assert round_significant(24_691_358.02, 3) == 24_700_000
    assert round_significant(0.012345, 2) == 0.012
    assert round_significant(24_712_000.0, 3) == round_significant(24_688_000.0, 3)


def test_bars_per_day_refusals() -> None:
    with pytest.raises(ConfigError, match="--interval"):
        threshold_for_bars_per_day(DailyTotals(), kind="time", bars_per_day=10)
    with pytest.raises(ConfigError, match="no tick measure"):
        threshold_for_bars_per_day(DailyTotals(), kind="tick", bars_per_day=10)


def test_intervals_round_trip() -> None:
    assert [parse_interval(t) for t in ("30s", "1m", "5m", "1h", "1d")] == [
        30,
        60,
        300,
        3600,
        86400,
    ]
    assert [format_interval(s) for s in (30, 60, 300, 5400, 86400)] == [
        "30s",
        "1m",
        "5m",
        "90m",
        "1d",
    ]


def test_run_keys_are_deterministic_and_distinct() -> None:
    a = BarSpec("dollar", 5e7, "hdf5:tick/trades")
    assert a.run_key == BarSpec("dollar", 50_000_000, "hdf5:tick/trades").run_key
    assert a.run_key.startswith("dollar-50000000-hdf5_tick_trades-")
    others = {
        BarSpec("dollar", 5e7 + 0.5, "hdf5:tick/trades").run_key,
        BarSpec("dollar", 5e7, "hdf5:tick/trades_filter0vol").run_key,
        BarSpec("dollar", 5e7, "hdf5-tick-trades").run_key,  # same slug, other source
        BarSpec("volume", 5e7, "hdf5:tick/trades").run_key,
    }
    assert len(others) == 4
    assert a.run_key not in others
    assert BarSpec("time", 300, "x").run_key.startswith("time-5m-x-")
