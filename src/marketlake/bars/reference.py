"""Slow, obviously correct Python versions of the bar rules: the tests' oracle, the bench baseline.

One loop over the trades, one dict per bar, the rule written as it is stated. They accept lists
or NumPy arrays (indexing a NumPy array from Python is the "mlfinlab style" the bench measures).
Each returns ``(complete_bars, open_bar_or_None)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Bar = dict[str, Any]


def _new_bar(t: int, p: float) -> Bar:
    return {
        "ts_start": int(t),
        "ts_end": int(t),
        "open": p,
        "high": p,
        "low": p,
        "close": p,
        "volume": 0.0,
        "dollar_value": 0.0,
        "tick_count": 0,
    }


def _add(bar: Bar, t: int, p: float, s: float) -> None:
    bar["high"] = max(bar["high"], p)
    bar["low"] = min(bar["low"], p)
    bar["close"] = p
    bar["ts_end"] = int(t)
    bar["tick_count"] += 1
    bar["volume"] += s
    bar["dollar_value"] += p * s


def threshold_bars(
    ts: Sequence[int], price: Sequence[float], size: Sequence[float], kind: str, threshold: float
) -> tuple[list[Bar], Bar | None]:
    """Tick / volume / dollar bars: close at the first trade where the running measure >= threshold.

    Args:
        ts: Trade times (ns).
        price: Trade prices.
        size: Trade sizes.
        kind: ``tick``, ``volume`` or ``dollar``.
        threshold: The threshold.

    Returns:
        The complete bars, and the bar still open at the end (None if none).
    """
    bars: list[Bar] = []
    bar: Bar | None = None
    for i in range(len(ts)):
        p, s = float(price[i]), float(size[i])
        if bar is None:
            bar = _new_bar(ts[i], p)
        _add(bar, ts[i], p, s)
        running = {
            "tick": bar["tick_count"],
            "volume": bar["volume"],
            "dollar": bar["dollar_value"],
        }[kind]
        if running >= threshold:
            bar["bar_threshold"] = float(threshold)
            bars.append(bar)
            bar = None
    if bar is not None:
        bar["bar_threshold"] = float(threshold)
    return bars, bar


def time_bars(
    ts: Sequence[int], price: Sequence[float], size: Sequence[float], seconds: int
) -> tuple[list[Bar], Bar | None]:
    """Time bars: one bar per UTC epoch-aligned bucket of ``seconds`` that holds trades."""
    interval = seconds * 1_000_000_000
    bars: list[Bar] = []
    bar: Bar | None = None
    bucket = None
    for i in range(len(ts)):
        p, s = float(price[i]), float(size[i])
        this = int(ts[i]) // interval
        if bar is not None and this != bucket:
            bars.append(bar)
            bar = None
        if bar is None:
            bar, bucket = _new_bar(ts[i], p), this
            bar["bar_threshold"] = float("nan")
        _add(bar, ts[i], p, s)
    return bars, bar


def imbalance_bars(
    ts: Sequence[int],
    price: Sequence[float],
    size: Sequence[float],
    *,
    expected_ticks: float,
    ewma_ticks: int,
    ewma_bars: int,
    warmup_ticks: int,
    min_ratio: float,
    max_ratio: float,
) -> tuple[list[Bar], Bar | None]:
    """Tick-rule volume imbalance bars, as stated in ``marketlake.bars.imbalance``."""
    keep_ticks = 1.0 - 2.0 / (ewma_ticks + 1)
    keep_bars = 1.0 - 2.0 / (ewma_bars + 1)
    lowest, highest = min_ratio * expected_ticks, max_ratio * expected_ticks
    bv_num = bv_den = t_num = t_den = 0.0
    sign = 0.0
    last_price: float | None = None
    threshold: float | None = None  # set at the end of the warm-up
    theta = 0.0
    bars: list[Bar] = []
    bar: Bar | None = None
    for i in range(len(ts)):
        p, s = float(price[i]), float(size[i])
        if last_price is not None and p != last_price:
            sign = 1.0 if p > last_price else -1.0
        last_price = p
        x = sign * s
        bv_num = x + keep_ticks * bv_num
        bv_den = 1.0 + keep_ticks * bv_den
        seen = i + 1
        if bar is None:
            bar, theta = _new_bar(ts[i], p), 0.0
        _add(bar, ts[i], p, s)
        theta += x
        if seen >= warmup_ticks and threshold is None:
            threshold = float(expected_ticks) * abs(bv_num / bv_den)
        if threshold is not None and abs(theta) > threshold:
            bar["bar_threshold"] = threshold
            bars.append(bar)
            t_num = float(bar["tick_count"]) + keep_bars * t_num
            t_den = 1.0 + keep_bars * t_den
            expected = min(max(t_num / t_den, lowest), highest)
            threshold = expected * abs(bv_num / bv_den)
            bar = None
    if bar is not None:
        bar["bar_threshold"] = float("nan") if threshold is None else threshold
    return bars, bar
