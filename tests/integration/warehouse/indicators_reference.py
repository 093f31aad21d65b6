"""Plain-Python loops of the daily indicators, written from the definitions (FORMATS.md).

Every function takes one symbol's series in date order and returns one value per session
(``None`` where the indicator is not defined yet), so results line up with the mart's rows.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

Series = list[float | None]

ANNUALISATION = math.sqrt(252)


def simple_returns(close: Sequence[float]) -> Series:
    """close_i / close_{i-1} - 1, from the second session."""
    return [None] + [close[i] / close[i - 1] - 1 for i in range(1, len(close))]


def log_returns(close: Sequence[float]) -> Series:
    """ln(close_i / close_{i-1}), from the second session."""
    return [None] + [math.log(close[i] / close[i - 1]) for i in range(1, len(close))]


def volatility(close: Sequence[float], n: int) -> Series:
    """Sample std of the last n log returns (current included) x sqrt(252); None until n."""
    rets = log_returns(close)
    out: Series = []
    for i in range(len(close)):
        window = rets[max(0, i - n + 1) : i + 1]
        full = [r for r in window if r is not None]
        out.append(statistics.stdev(full) * ANNUALISATION if len(full) == n else None)
    return out


def sma(close: Sequence[float], n: int) -> Series:
    """Mean of the last n closes (current included); None until n."""
    return [sum(close[i - n + 1 : i + 1]) / n if i >= n - 1 else None for i in range(len(close))]


def trailing_zscore(values: Sequence[float | None], n: int = 20) -> Series:
    """(x_i - mean) / sample std of the n values before i (i left out); None unless all n exist."""
    out: Series = []
    for i, value in enumerate(values):
        window = values[i - n : i] if i >= n else []
        full = [v for v in window if v is not None]
        if value is None or len(full) != n:
            out.append(None)
            continue
        std = statistics.stdev(full)
        out.append((value - statistics.mean(full)) / std if std != 0 else None)
    return out


def trailing_ratio(values: Sequence[float | None], n: int = 20) -> Series:
    """x_i / mean of the n values before i; None unless all n exist."""
    out: Series = []
    for i, value in enumerate(values):
        window = values[i - n : i] if i >= n else []
        full = [v for v in window if v is not None]
        mean = sum(full) / n if len(full) == n else None
        out.append(value / mean if value is not None and mean else None)
    return out


def ema(values: Sequence[float | None], n: int, *, first: int = 0) -> Series:
    """EMA(n), k = 2/(n+1), seeded at first + n - 1 with the mean of values[first:first + n]."""
    k = 2 / (n + 1)
    out: Series = [None] * len(values)
    seed_at = first + n - 1
    prev: float | None = None
    for i in range(seed_at, len(values)):
        x = values[i]
        assert x is not None
        if i == seed_at:
            total = 0.0
            for v in values[first : first + n]:
                assert v is not None
                total += v
            prev = total / n
        else:
            assert prev is not None
            prev = k * x + (1 - k) * prev
        out[i] = prev
    return out


def rsi(close: Sequence[float], n: int = 14) -> Series:
    """Wilder's RSI: first value at index n, seeded with the means of the first n gains/losses."""
    out: Series = [None] * len(close)
    if len(close) <= n:
        return out
    gains = [max(close[i] - close[i - 1], 0.0) for i in range(1, len(close))]
    losses = [max(close[i - 1] - close[i], 0.0) for i in range(1, len(close))]
    avg_gain = sum(gains[:n]) / n
    avg_loss = sum(losses[:n]) / n
    for i in range(n, len(close)):
        if i > n:
            avg_gain = (avg_gain * (n - 1) + gains[i - 1]) / n
            avg_loss = (avg_loss * (n - 1) + losses[i - 1]) / n
        out[i] = 100.0 if avg_loss == 0 else 100 - 100 / (1 + avg_gain / avg_loss)
    return out


def macd(close: Sequence[float]) -> tuple[Series, Series, Series]:
    """MACD(12, 26, 9): EMA12 - EMA26 from index 25, its EMA9 signal (seeded), histogram."""
    fast, slow = ema(close, 12), ema(close, 26)
    line: Series = [
        f - s if f is not None and s is not None else None for f, s in zip(fast, slow, strict=True)
    ]
    signal = ema(line, 9, first=25)
    histogram: Series = [
        m - s if m is not None and s is not None else None
        for m, s in zip(line, signal, strict=True)
    ]
    return line, signal, histogram


def indicators(close: Sequence[float], volume: Sequence[float | None]) -> dict[str, Series]:
    """Every column of fct_indicators_daily computed from one symbol's closes and volumes."""
    line, signal, histogram = macd(close)
    simple = simple_returns(close)
    return {
        "simple_return": simple,
        "log_return": log_returns(close),
        "volatility_20d": volatility(close, 20),
        "volatility_252d": volatility(close, 252),
        "close_zscore_20d": trailing_zscore(list(close)),
        "volume_zscore_20d": trailing_zscore(volume),
        "return_zscore_20d": trailing_zscore(simple),
        "volume_ratio_20d": trailing_ratio(volume),
        **{f"sma_{n}": sma(close, n) for n in (20, 30, 50, 200)},
        **{f"ema_{n}": ema(close, n) for n in (12, 20, 26)},
        "rsi_14": rsi(close),
        "macd": line,
        "macd_signal": signal,
        "macd_histogram": histogram,
    }
