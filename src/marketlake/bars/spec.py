"""What a bar series is: kind + threshold (+ the trades' source), and its deterministic run key.

The run key names the series' files (``silver/bars_info/symbol=<S>/year=<Y>/<run_key>.parquet``):
computing the same bars again replaces them, other thresholds or sources sit beside them.
Spelling: ``<kind>-<threshold>-<source slug>-<hash8>``, e.g.
``dollar-50000000-hdf5_tick_trades-1a2b3c4d`` or ``time-5m-hdf5_tick_trades-...``; the hash of
the exact (kind, threshold, source) keeps keys distinct where the readable part would not.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal, get_args

from marketlake.bars.accumulator import Accumulator, ThresholdBars, check_threshold
from marketlake.bars.imbalance import ImbalanceBars, ImbalanceParams
from marketlake.bars.time_bars import TimeBars, format_interval
from marketlake.config import BarsSettings
from marketlake.errors import ConfigError

Kind = Literal["time", "tick", "volume", "dollar", "imbalance"]
KINDS: tuple[str, ...] = get_args(Kind)


@dataclass(frozen=True)
class BarSpec:
    """One bar series of one symbol's trades.

    Args:
        kind: ``time``, ``tick``, ``volume``, ``dollar`` or ``imbalance``.
        threshold: Ticks, volume, dollars, E0[T] ticks (imbalance) or seconds (time).
        source: The trades' source (``hdf5:tick/trades``).
    """

    kind: str
    threshold: float
    source: str

    def __post_init__(self) -> None:
        # 5e7 and 50_000_000 are the same series: one spelling in keys and rows.
        object.__setattr__(self, "threshold", float(self.threshold))
        if self.kind not in KINDS:
            raise ConfigError(
                f"unknown bar kind {self.kind!r}", hint=f"use one of {', '.join(KINDS)}"
            )
        if self.kind == "time":
            if self.threshold <= 0 or self.threshold != int(self.threshold):
                raise ConfigError(
                    f"time bars need a whole positive interval, got {self.threshold}s"
                )
        else:
            check_threshold(self.kind, self.threshold)

    @property
    def run_key(self) -> str:
        """The deterministic file name stem of this series (see module docs)."""
        readable = (
            format_interval(int(self.threshold))
            if self.kind == "time"
            else f"{self.threshold:.12g}"
        )
        slug = re.sub(r"[^A-Za-z0-9]+", "_", self.source).strip("_") or "source"
        exact = f"{self.kind}\n{self.threshold!r}\n{self.source}".encode()
        return f"{self.kind}-{readable}-{slug}-{hashlib.sha256(exact).hexdigest()[:8]}"

    @property
    def label(self) -> str:
        """For people: ``dollar 5e+07``, ``time 5m``."""
        if self.kind == "time":
            return f"time {format_interval(int(self.threshold))}"
        return f"{self.kind} {self.threshold:.6g}"

    def accumulator(self, settings: BarsSettings) -> Accumulator:
        """A fresh accumulator of this series (imbalance parameters from ``settings``)."""
        if self.kind == "time":
            return TimeBars(int(self.threshold))
        if self.kind == "imbalance":
            return ImbalanceBars(ImbalanceParams.from_settings(self.threshold, settings))
        return ThresholdBars(self.kind, self.threshold)
