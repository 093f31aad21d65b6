"""A threshold from a target number of bars per day (``--bars-per-day N``).

The statistic: the **median over UTC calendar days that have at least one trade** (within the
selected period) of the day's trade count (tick and imbalance bars), volume (volume bars) or
sum of price x size (dollar bars), divided by N, then rounded to ``bars.threshold_digits``
significant digits (3 by default) so the same target over similar periods gives the same
threshold, hence the same bars (tick and imbalance thresholds become whole numbers >= 1).
The median, not the mean, so that half-days, holidays and the thin Sunday-evening open of
futures do not pull the threshold down. Days are UTC days: sessions that straddle midnight
UTC (CME futures) are split, which moves the median little for N of a few bars or more.

For imbalance bars the derived number is E0[T], the expected ticks of the first bar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from marketlake.bars.accumulator import FloatArray, IntArray
from marketlake.errors import ConfigError

NS_PER_DAY = 86_400 * 1_000_000_000

_MEASURE = {"tick": 0, "imbalance": 0, "volume": 1, "dollar": 2}


@dataclass
class DailyTotals:
    """Per UTC day: trades, volume and dollar value, accumulated chunk by chunk."""

    days: dict[int, list[float]] = field(default_factory=dict)

    def add(self, ts: IntArray, price: FloatArray, size: FloatArray) -> None:
        """Add one chunk of time-ordered trades."""
        if ts.shape[0] == 0:
            return
        day = ts // NS_PER_DAY
        starts = np.concatenate(([0], np.flatnonzero(np.diff(day)) + 1))
        ticks = np.diff(np.append(starts, ts.shape[0]))
        volume = np.add.reduceat(size, starts)
        dollars = np.add.reduceat(price * size, starts)
        for d, n, v, dv in zip(day[starts].tolist(), ticks, volume, dollars, strict=True):
            totals = self.days.setdefault(d, [0.0, 0.0, 0.0])
            totals[0] += float(n)
            totals[1] += float(v)
            totals[2] += float(dv)

    def median(self, kind: str) -> float:
        """The median daily measure of ``kind`` over days with trades (0 when there are none)."""
        if not self.days:
            return 0.0
        column = _MEASURE[kind]
        return float(np.median([t[column] for t in self.days.values()]))


def round_significant(value: float, digits: int) -> float:
    """``value`` rounded to ``digits`` significant digits (``123456`` , 3 -> ``123000``)."""
    if value == 0 or not math.isfinite(value):
        return value
    exponent = math.floor(math.log10(abs(value)))
    return round(value, digits - 1 - exponent)


def threshold_for_bars_per_day(
    totals: DailyTotals, *, kind: str, bars_per_day: float, digits: int = 3
) -> float:
    """The threshold that gives about ``bars_per_day`` bars on a median day (see module docs).

    Raises:
        ConfigError: time bars (use an interval), N not positive, or no trade at all.
    """
    if kind not in _MEASURE:
        raise ConfigError(
            f"--bars-per-day does not apply to {kind} bars",
            hint="time bars take --interval (1m, 5m, 1h, 1d)",
        )
    if not bars_per_day > 0:
        raise ConfigError(f"--bars-per-day must be positive, got {bars_per_day}")
    median = totals.median(kind)
    if median <= 0:
        raise ConfigError(
            f"cannot derive a {kind} threshold: the median day has no {kind} measure",
            hint="check the period and the source, or pass --threshold X",
        )
    value = round_significant(median / bars_per_day, digits)
    if kind in ("tick", "imbalance"):
        value = float(max(1, round(value)))
    return value
