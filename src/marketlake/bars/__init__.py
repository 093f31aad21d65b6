"""Bars: tick/volume/dollar (and imbalance) bar kernels, time bars, continuous futures.

Information-driven bars (``marketlake bars``), the exact rules:

- **tick / volume / dollar**: accumulate trades in time order; a bar closes at the first trade
  where the running count / volume / price x size reaches or passes the threshold (``>=``).
  That trade stays whole in the bar, the overshoot is not carried, the running sum restarts at
  zero. Not ``floor(cumsum / threshold)``. Zero-size trades count as ticks and add 0 to volume
  and dollar value.
- **imbalance**: tick-rule volume imbalance bars (AFML ch. 2), see :mod:`.imbalance`.
- **time**: UTC epoch-aligned buckets of an interval, see :mod:`.time_bars`.
- Every bar: ``ts_start`` / ``ts_end`` = first / last trade time (the bar's time is the closing
  trade's), OHLC, volume, dollar value, vwap (null if volume is 0), tick count. The bar still
  open when the trades run out is returned separately and written with ``complete = false``.
- ``--bars-per-day N``: see :mod:`.threshold` (median daily measure / N, 3 significant digits).

Public names load on first use, so importing a sibling module does not load numba.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from marketlake.bars.accumulator import BarColumns, ThresholdBars
    from marketlake.bars.build import BarsReport, BarsRequest, SymbolBars, build_bars
    from marketlake.bars.imbalance import ImbalanceBars, ImbalanceParams
    from marketlake.bars.spec import BarSpec
    from marketlake.bars.threshold import DailyTotals, threshold_for_bars_per_day
    from marketlake.bars.time_bars import TimeBars, parse_interval
    from marketlake.bars.writer import read_bars_info

_EXPORTS = {
    "BarColumns": "accumulator",
    "ThresholdBars": "accumulator",
    "BarsReport": "build",
    "BarsRequest": "build",
    "SymbolBars": "build",
    "build_bars": "build",
    "ImbalanceBars": "imbalance",
    "ImbalanceParams": "imbalance",
    "BarSpec": "spec",
    "DailyTotals": "threshold",
    "threshold_for_bars_per_day": "threshold",
    "TimeBars": "time_bars",
    "parse_interval": "time_bars",
    "read_bars_info": "writer",
}

__all__ = [
    "BarColumns",
    "BarSpec",
    "BarsReport",
    "BarsRequest",
    "DailyTotals",
    "ImbalanceBars",
    "ImbalanceParams",
    "SymbolBars",
    "ThresholdBars",
    "TimeBars",
    "build_bars",
    "parse_interval",
    "read_bars_info",
    "threshold_for_bars_per_day",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"marketlake.bars.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'marketlake.bars' has no attribute {name!r}")
