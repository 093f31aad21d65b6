"""Fast bar kernels equal the slow reference loops, bar for bar and bit for bit, in any chunking."""

from __future__ import annotations

from dataclasses import asdict
from itertools import pairwise
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketlake.bars import reference as ref
from marketlake.bars.accumulator import Accumulator, BarColumns, ThresholdBars
from marketlake.bars.imbalance import ImbalanceBars, ImbalanceParams
from marketlake.bars.time_bars import TimeBars
from marketlake.errors import ConfigError

FIELDS = (
    "ts_start",
    "ts_end",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "dollar_value",
    "tick_count",
    "bar_threshold",
)


@st.composite
def trades(draw: st.DrawFn, max_size: int = 120) -> tuple[Any, Any, Any]:
    """Trades with ties everywhere: repeated times, unchanged prices, zero and huge sizes.

    Prices on a 0.25 grid and whole sizes keep sums exact, so running totals land exactly on
    the threshold often.
    """
    n = draw(st.integers(0, max_size))
    steps = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    moves = draw(st.lists(st.sampled_from([-1, 0, 0, 1]), min_size=n, max_size=n))
    sizes = draw(st.lists(st.sampled_from([0, 1, 2, 3, 5, 10, 40]), min_size=n, max_size=n))
    ts = 1_700_000_000_000_000_000 + np.cumsum(np.array(steps, dtype=np.int64)) * 20_000_000_000
    price = 100.0 + 0.25 * np.cumsum(np.array(moves, dtype=np.float64))
    return ts.astype(np.int64), price, np.array(sizes, dtype=np.float64)


def cuts(n: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, n), max_size=6).map(sorted)


def run_chunked(acc: Accumulator, ts: Any, price: Any, size: Any, at: list[int]) -> BarColumns:
    bounds = [0, *at, len(ts)]
    parts = [acc.push(ts[a:b], price[a:b], size[a:b]) for a, b in pairwise(bounds)]
    return BarColumns.concat(parts)


def assert_same(fast: BarColumns, slow: list[dict[str, Any]]) -> None:
    assert len(fast) == len(slow)
    for name in FIELDS:
        expected = np.array([bar[name] for bar in slow], dtype=getattr(fast, name).dtype)
        # Bit for bit (NaN == NaN): the kernels do the reference's arithmetic in its order.
        np.testing.assert_array_equal(getattr(fast, name), expected, err_msg=name)


@settings(max_examples=150, deadline=None)
@given(
    data=trades(),
    kind=st.sampled_from(["tick", "volume", "dollar"]),
    threshold=st.sampled_from([1, 2, 3, 5, 10, 25, 100, 250.5, 1000]),
    at=st.data(),
)
def test_threshold_bars_equal_reference_in_any_chunking(
    data: tuple[Any, Any, Any], kind: str, threshold: float, at: st.DataObject
) -> None:
    ts, price, size = data
    if kind == "tick":
        threshold = max(1, round(threshold))
    slow, slow_open = ref.threshold_bars(ts, price, size, kind, threshold)
    acc = ThresholdBars(kind, threshold)
    fast = run_chunked(acc, ts, price, size, at.draw(cuts(len(ts))))
    assert_same(fast, slow)
    assert_same(acc.flush(), [slow_open] if slow_open else [])


@settings(max_examples=100, deadline=None)
@given(data=trades(), seconds=st.sampled_from([1, 20, 60, 300]), at=st.data())
def test_time_bars_equal_reference_in_any_chunking(
    data: tuple[Any, Any, Any], seconds: int, at: st.DataObject
) -> None:
    ts, price, size = data
    slow, slow_open = ref.time_bars(ts, price, size, seconds)
    acc = TimeBars(seconds)
    assert_same(run_chunked(acc, ts, price, size, at.draw(cuts(len(ts)))), slow)
    assert_same(acc.flush(), [slow_open] if slow_open else [])


IMBALANCE = st.builds(
    ImbalanceParams,
    expected_ticks=st.sampled_from([1, 2, 5, 20]),
    ewma_ticks=st.sampled_from([1, 3, 50]),
    ewma_bars=st.sampled_from([1, 3]),
    warmup_ticks=st.sampled_from([1, 5, 30]),
    min_ratio=st.sampled_from([0.1, 0.5, 1.0]),
    max_ratio=st.sampled_from([1.0, 2.0, 10.0]),
)


@settings(max_examples=150, deadline=None)
@given(data=trades(max_size=200), params=IMBALANCE, at=st.data())
def test_imbalance_bars_equal_reference_in_any_chunking(
    data: tuple[Any, Any, Any], params: ImbalanceParams, at: st.DataObject
) -> None:
    ts, price, size = data
    slow, slow_open = ref.imbalance_bars(ts, price, size, **asdict(params))
    acc = ImbalanceBars(params)
    assert_same(run_chunked(acc, ts, price, size, at.draw(cuts(len(ts)))), slow)
    assert_same(acc.flush(), [slow_open] if slow_open else [])


@settings(max_examples=100, deadline=None)
@given(data=trades(), kind=st.sampled_from(["tick", "volume", "dollar"]), threshold=st.data())
def test_reference_follows_the_stated_rule(
    data: tuple[Any, Any, Any], kind: str, threshold: st.DataObject
) -> None:
    """The oracle itself: bars partition the trades in order and close at the first >= crossing."""
    ts, price, size = data
    thr = threshold.draw(st.sampled_from([1, 3, 10, 40]))
    bars, last = ref.threshold_bars(ts, price, size, kind, thr)
    everything = [*bars, *([last] if last else [])]
    assert sum(b["tick_count"] for b in everything) == len(ts)
    start = 0
    for bar in bars:
        stop = start + bar["tick_count"]
        measure = {"tick": np.ones(stop - start), "volume": size[start:stop]}.get(
            kind, price[start:stop] * size[start:stop]
        )
        running = np.cumsum(measure)
        assert running[-1] >= thr  # closes once reached ...
        assert (running[:-1] < thr).all()  # ... and not a trade earlier; the closing trade whole
        assert bar["ts_end"] == ts[stop - 1]  # bar time = the closing trade's time
        assert bar["open"] == price[start]
        assert bar["close"] == price[stop - 1]
        start = stop


def test_volume_bars_close_at_reaching_not_at_floor_of_cumsum() -> None:
    ts = np.arange(7, dtype=np.int64)
    price = np.full(7, 10.0)
    size = np.array([4.0, 6.0, 3.0, 9.0, 25.0, 1.0, 2.0])
    acc = ThresholdBars("volume", 10)
    bars = acc.push(ts, price, size)
    # 4+6 reaches 10 exactly (tie closes); 3+9 passes it (12, overshoot dropped, not carried);
    # 25 alone is larger than the threshold: one bar of one trade; 1+2 stays open.
    assert bars.tick_count.tolist() == [2, 2, 1]
    assert bars.volume.tolist() == [10.0, 12.0, 25.0]
    assert bars.ts_end.tolist() == [1, 3, 4]
    assert bars.dollar_value.tolist() == [100.0, 120.0, 250.0]
    assert bars.vwap.tolist() == [10.0, 10.0, 10.0]
    last = acc.flush()
    assert (last.tick_count.tolist(), last.volume.tolist()) == ([2], [3.0])
    # floor(cumsum / threshold) carries the overshoot over and groups the trades otherwise.
    _, floor_groups = np.unique(np.cumsum(size) // 10, return_counts=True)
    assert floor_groups.tolist() == [1, 2, 1, 2, 1]


def test_zero_size_trades_count_as_ticks_and_add_nothing() -> None:
    ts = np.arange(4, dtype=np.int64)
    price = np.array([10.0, 11.0, 12.0, 13.0])
    size = np.array([0.0, 0.0, 5.0, 0.0])
    ticks = ThresholdBars("tick", 2).push(ts, price, size)
    assert ticks.tick_count.tolist() == [2, 2]
    assert np.isnan(ticks.vwap[0])  # no volume: no vwap (written as null)
    dollars = ThresholdBars("dollar", 60).push(ts, price, size)
    assert dollars.tick_count.tolist() == [3]  # zero-size trades join the bar, add $0


def test_empty_input_gives_no_bars() -> None:
    empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0)
    for acc in (ThresholdBars("dollar", 1e6), TimeBars(60), ImbalanceBars(ImbalanceParams(5))):
        assert len(acc.push(empty_i, empty_f, empty_f)) == 0
        assert len(acc.flush()) == 0


def test_many_bars_per_chunk_beyond_the_estimate() -> None:
    # 1-tick bars: far more bars than the kernel's first guess of the output size.
    n = 10_000
    ts = np.arange(n, dtype=np.int64)
    bars = ThresholdBars("tick", 1).push(ts, np.ones(n), np.ones(n))
    assert len(bars) == n
    assert bars.ts_end.tolist() == ts.tolist()


def up_ticks(n: int) -> tuple[Any, Any, Any]:
    return np.arange(n, dtype=np.int64), 100.0 + np.arange(n, dtype=np.float64), np.ones(n)


def test_imbalance_closes_only_strictly_above_and_clamps_expected_length() -> None:
    # Spans of 1 make every estimate the last value: E[b*v] = 1 on up-ticks, E[T] = last length.
    # Bar 1: threshold E0*|E[b*v]| = 2*0 = 0 at the first tick (b=0, no previous price), so it
    # closes at theta=1 (tick 2). Then threshold = E[T] = previous length; theta equal to it
    # does not close (strictly greater), so each bar is one tick longer than the one before ...
    free = ImbalanceBars(ImbalanceParams(2, 1, 1, 1, 0.1, 10.0)).push(*up_ticks(40))
    assert free.tick_count[:5].tolist() == [2, 3, 4, 5, 6]
    assert free.bar_threshold[:5].tolist() == [0.0, 2.0, 3.0, 4.0, 5.0]
    # ... until the clamp stops E[T] at max_ratio * E0 = 3 ticks: lengths stop growing.
    clamped = ImbalanceBars(ImbalanceParams(2, 1, 1, 1, 0.1, 1.5)).push(*up_ticks(40))
    assert clamped.tick_count[:6].tolist() == [2, 3, 4, 4, 4, 4]


def test_imbalance_no_bar_before_warmup() -> None:
    bars = ImbalanceBars(ImbalanceParams(2, 1, 1, 25, 0.1, 10.0)).push(*up_ticks(60))
    assert bars.tick_count[0] == 25  # the imbalance passed the threshold long before


def test_imbalance_without_price_changes_never_closes() -> None:
    n = 500
    acc = ImbalanceBars(ImbalanceParams(10, 5, 3, 10))
    assert len(acc.push(np.arange(n, dtype=np.int64), np.full(n, 50.0), np.ones(n))) == 0
    assert acc.flush().tick_count.tolist() == [n]  # kept, flagged incomplete by the caller


@pytest.mark.parametrize(
    ("kind", "threshold"), [("tick", 2.5), ("tick", 0), ("dollar", -1.0), ("volume", np.nan)]
)
def test_unusable_thresholds_are_refused(kind: str, threshold: float) -> None:
    with pytest.raises(ConfigError, match="threshold"):
        ThresholdBars(kind, threshold)
