"""Bar accumulators: feed trades chunk by chunk, get closed bars back, flush the open one.

An accumulator owns a kernel's carried state. ``push`` returns only *complete* bars; ``flush``
returns the bar still open when the trades ran out (at most one, to be flagged
``complete=false``), so the two are never mixed. Pushing the trades in any chunking gives the
same bars as pushing them at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from marketlake.bars import kernels
from marketlake.errors import ConfigError

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]

# Output rows reserved per call beyond the estimate; the kernels stop when full and resume.
_MIN_CAPACITY = 64


@dataclass(frozen=True)
class BarColumns:
    """Bars as NumPy columns (times are int64 ns since the epoch, UTC).

    ``bar_threshold`` is what each bar closed against: the threshold itself (tick, volume,
    dollar), E[T]*|E[b*v]| frozen at the bar's start (imbalance), NaN (time bars).
    """

    ts_start: IntArray
    ts_end: IntArray
    tick_count: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    dollar_value: FloatArray
    bar_threshold: FloatArray

    def __len__(self) -> int:
        return int(self.ts_start.shape[0])

    @property
    def vwap(self) -> FloatArray:
        """dollar_value / volume; NaN where a bar's volume is 0 (only zero-size trades)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            out: FloatArray = np.where(self.volume > 0, self.dollar_value / self.volume, np.nan)
        return out

    @classmethod
    def empty(cls) -> BarColumns:
        """No bars."""
        return cls.from_rows(np.zeros((0, 3), np.int64), np.zeros((0, kernels.N_OUT_F)))

    @classmethod
    def from_rows(cls, out_i: IntArray, out_f: FloatArray) -> BarColumns:
        """Columns of the kernels' row-major outputs (copied: outputs are reused buffers)."""
        return cls(
            ts_start=out_i[:, 0].copy(),
            ts_end=out_i[:, 1].copy(),
            tick_count=out_i[:, 2].copy(),
            open=out_f[:, 0].copy(),
            high=out_f[:, 1].copy(),
            low=out_f[:, 2].copy(),
            close=out_f[:, 3].copy(),
            volume=out_f[:, 4].copy(),
            dollar_value=out_f[:, 5].copy(),
            bar_threshold=out_f[:, 6].copy(),
        )

    @classmethod
    def concat(cls, parts: list[BarColumns]) -> BarColumns:
        """Bars of several parts, in order."""
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        fields = cls.__dataclass_fields__
        return cls(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in fields})

    def take(self, index: slice | IntArray) -> BarColumns:
        """A subset of the bars (a slice or indices)."""
        return BarColumns(**{f: getattr(self, f)[index] for f in self.__dataclass_fields__})


class Accumulator:
    """Common driver of the kernels: output buffers, resume when full, flush of the open bar."""

    def __init__(self, kind: str) -> None:
        self.state_f, self.state_i = kernels.new_state(kind)
        self.bar_threshold = np.nan
        self._bars_per_trade: float | None = None  # seen in the previous chunk

    def _run(self, ts: IntArray, price: FloatArray, size: FloatArray, start: int, out: Any) -> Any:
        raise NotImplementedError

    def _estimate(self, ts: IntArray, price: FloatArray, size: FloatArray) -> int:
        """How many bars this chunk may close: a guess from the previous chunk's rate.

        A low guess costs another kernel call on the rest of the chunk with twice the room;
        scanning the chunk for an exact bound would cost a quarter of the kernel's time.
        """
        if self._bars_per_trade is None:
            return int(ts.shape[0]) // 256
        return int(ts.shape[0] * self._bars_per_trade * 1.25)

    def push(self, ts: IntArray, price: FloatArray, size: FloatArray) -> BarColumns:
        """Feed trades (time-ordered, continuing the previous push); return the bars closed.

        Args:
            ts: Trade times, int64 ns since the epoch (UTC), non-decreasing.
            price: Trade prices (finite).
            size: Trade sizes (finite, >= 0).

        Returns:
            The complete bars these trades closed, in order.
        """
        ts = np.ascontiguousarray(ts, dtype=np.int64)
        price = np.ascontiguousarray(price, dtype=np.float64)
        size = np.ascontiguousarray(size, dtype=np.float64)
        n = ts.shape[0]
        if n == 0:
            return BarColumns.empty()
        capacity = max(_MIN_CAPACITY, min(n, self._estimate(ts, price, size)) + 1)
        out_i = np.empty((capacity, kernels.N_OUT_I), dtype=np.int64)
        out_f = np.empty((capacity, kernels.N_OUT_F), dtype=np.float64)
        start = written = 0
        while True:
            # Row slices of C-ordered buffers stay contiguous: the kernel appends in place.
            start, made = self._run(ts, price, size, start, (out_i[written:], out_f[written:]))
            written += made
            if start >= n:
                break
            # The estimate was low: double the room, keep what was written, go on from there.
            out_i = np.concatenate((out_i[:written], np.empty_like(out_i)))
            out_f = np.concatenate((out_f[:written], np.empty_like(out_f)))
        self._bars_per_trade = written / n
        return BarColumns.from_rows(out_i[:written], out_f[:written])

    @property
    def open_ticks(self) -> int:
        """Trades in the bar still open."""
        return int(self.state_i[kernels.I_COUNT])

    def flush(self) -> BarColumns:
        """The bar still open (zero or one bar), to be flagged incomplete; the state is kept."""
        if self.open_ticks == 0:
            return BarColumns.empty()
        f, i = self.state_f, self.state_i
        out_i = np.array([[i[kernels.I_TS_START], i[kernels.I_TS_END], i[kernels.I_COUNT]]])
        out_f = np.array(
            [
                [
                    f[kernels.F_OPEN],
                    f[kernels.F_HIGH],
                    f[kernels.F_LOW],
                    f[kernels.F_CLOSE],
                    f[kernels.F_VOLUME],
                    f[kernels.F_DOLLAR],
                    self._open_bar_threshold(),
                ]
            ]
        )
        return BarColumns.from_rows(out_i, out_f)

    def _open_bar_threshold(self) -> float:
        return float(self.bar_threshold)


KIND_MODE = {
    "tick": kernels.MODE_TICK,
    "volume": kernels.MODE_VOLUME,
    "dollar": kernels.MODE_DOLLAR,
}


class ThresholdBars(Accumulator):
    """Tick, volume or dollar bars with the exact close rule.

    A bar closes at the first trade where the running count / volume / price*size reaches or
    passes ``threshold`` (>=); that trade stays whole in the bar, the overshoot is not carried
    and the running sum restarts at zero. Zero-size trades count as ticks and add 0 to volume
    and dollar value.

    Args:
        kind: ``tick``, ``volume`` or ``dollar``.
        threshold: Positive and finite; a whole number for tick bars.

    Raises:
        ConfigError: an unknown kind or an invalid threshold.
    """

    def __init__(self, kind: str, threshold: float) -> None:
        if kind not in KIND_MODE:
            raise ConfigError(
                f"unknown bar kind {kind!r}", hint=f"use one of {', '.join(KIND_MODE)}"
            )
        check_threshold(kind, threshold)
        super().__init__(kind)
        self.mode = KIND_MODE[kind]
        self.threshold = float(threshold)
        self.bar_threshold = self.threshold

    def _estimate(self, ts: IntArray, price: FloatArray, size: FloatArray) -> int:
        if self.mode == kernels.MODE_TICK:  # exact bound: each bar holds >= threshold ticks
            return int(ts.shape[0] / self.threshold) + 2
        return super()._estimate(ts, price, size)

    def _run(self, ts: IntArray, price: FloatArray, size: FloatArray, start: int, out: Any) -> Any:
        kernel: Any = kernels.threshold_kernel  # a numba dispatcher: untyped for mypy
        return kernel(
            ts, price, size, self.mode, self.threshold, self.state_f, self.state_i, *out, start
        )


def check_threshold(kind: str, threshold: float) -> None:
    """Refuse a threshold the rules cannot use.

    Raises:
        ConfigError: not positive and finite, or not a whole number of ticks.
    """
    if not np.isfinite(threshold) or threshold <= 0:
        raise ConfigError(
            f"{kind} bar threshold must be a positive number, got {threshold}",
            hint="pass --threshold X with X > 0, or --bars-per-day N",
        )
    if kind in ("tick", "imbalance") and float(threshold) != int(threshold):
        raise ConfigError(
            f"{kind} bar threshold counts ticks and must be a whole number, got {threshold}",
            hint=f"pass --threshold {max(1, round(threshold))}",
        )
