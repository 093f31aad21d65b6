"""Time bars from trades, to compare with the information-driven bars on the same data.

A time bar holds the trades whose time falls in one interval bucket. Buckets are aligned to
multiples of the interval since the Unix epoch in UTC (a ``1d`` bar is a UTC day, not an
exchange session); buckets without trades give no bar. ``ts_start``/``ts_end`` are the first and
last trade times in the bar, like every other kind; the bucket is ``floor(ts_start, interval)``.
The last bar is always flagged ``complete=false``: more trades of its bucket may still come
(even when ``--to`` ends on the bucket's end, for one rule across all kinds).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from marketlake.bars import kernels
from marketlake.bars.accumulator import Accumulator, FloatArray, IntArray
from marketlake.errors import ConfigError

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
NS_PER_SECOND = 1_000_000_000


def parse_interval(text: str) -> int:
    """Seconds in an interval written ``<n><s|m|h|d>`` (``1m``, ``5m``, ``1h``, ``1d``).

    Raises:
        ConfigError: the text is not such an interval, or it is zero.
    """
    match = _INTERVAL.match(text)
    if not match or int(match.group(1)) == 0:
        raise ConfigError(
            f"cannot read the interval {text!r}",
            hint="write a positive whole number and a unit: 30s, 1m, 5m, 1h, 1d",
        )
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_interval(seconds: int) -> str:
    """The shortest ``<n><unit>`` spelling of an interval in seconds (``3600`` -> ``1h``)."""
    for unit in ("d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


class TimeBars(Accumulator):
    """Time bars of ``seconds`` each (UTC, epoch-aligned), state carried across chunks.

    A bar closes when the first trade of a later bucket arrives; the last bar stays open until
    :meth:`flush`, since more trades of its bucket may still come.

    Raises:
        ConfigError: ``seconds`` is not positive.
    """

    def __init__(self, seconds: int) -> None:
        if seconds <= 0:
            raise ConfigError(f"time bar interval must be positive, got {seconds}s")
        super().__init__("time")
        self.seconds = int(seconds)
        self.interval_ns = self.seconds * NS_PER_SECOND

    def _estimate(self, ts: IntArray, price: FloatArray, size: FloatArray) -> int:
        span = int(ts[-1]) // self.interval_ns - int(ts[0]) // self.interval_ns
        return span + 2

    def _run(self, ts: IntArray, price: FloatArray, size: FloatArray, start: int, out: Any) -> Any:
        kernel: Any = kernels.time_kernel  # a numba dispatcher: untyped for mypy
        return kernel(
            ts, price, size, np.int64(self.interval_ns), self.state_f, self.state_i, *out, start
        )
