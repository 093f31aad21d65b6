"""The incremental indicators of one symbol: O(1) work per tick, state small enough to store.

Periods (``stream.unit``):

- ``bar``: every applied tick is one period (a bar's close, a trade's price).
- ``day``: one period per session. The session's latest price is its close: while the session
  is open each tick's values are computed with that price as today's close (provisional), and
  they are final once the next session of the symbol begins (the last tick's values are the
  session's final values).

Definitions (the same as gold's ``fct_indicators_daily``; windows count the symbol's own
periods, so a hole in the data is computed across):

- SMA(n): mean of the last n closes, the current one included; None until n periods exist.
- EMA(n): k = 2/(n+1); at the n-th period the mean of the first n closes, then
  ``k * close + (1 - k) * previous``; None before.
- VWAP: cumulative ``sum(price * size) / sum(size)`` over the session so far (trades at their
  price, bars at their VWAP or typical price (h+l+c)/3 weighted by volume); reset at each
  session, in both units; None while the session's size is 0.

Per window the sum of the last n-1 *final* closes is kept in a ring buffer of the largest
window; adding the new close and subtracting the one leaving is O(1). Every ``capacity``
additions the sums are recomputed exactly (``math.fsum``), so rounding never drifts. The whole
state (:meth:`SymbolState.to_bytes`) is stored beside the output rows in the same transaction:
restored, it continues bit for bit as if never interrupted.
"""

from __future__ import annotations

import math
import struct
from array import array
from dataclasses import dataclass
from functools import cached_property

from marketlake.stream.messages import Tick

NAN = float("nan")
_INTS = struct.Struct("<B7q")
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Spec:
    """What is computed: the period unit, SMA windows and EMA spans."""

    unit: str  # "day" | "bar"
    windows: tuple[int, ...]
    spans: tuple[int, ...]

    @property
    def capacity(self) -> int:
        """Final closes kept: the largest window but one (the current close is the last)."""
        return max(self.windows) - 1

    @cached_property
    def kept(self) -> tuple[tuple[int, int], ...]:
        """(window, final closes it sums) per window."""
        return tuple((n, n - 1) for n in self.windows)

    @cached_property
    def smoothing(self) -> tuple[tuple[int, float, float], ...]:
        """(n, k, 1 - k) per EMA span, k = 2 / (n + 1)."""
        return tuple((n, 2 / (n + 1), 1 - 2 / (n + 1)) for n in self.spans)


class SymbolState:
    """Running indicators of one symbol (see the module doc)."""

    __slots__ = (
        "current",
        "emas",
        "finals",
        "last_seq",
        "last_ts",
        "pos",
        "pv",
        "ring",
        "seeds",
        "session",
        "since_exact",
        "spec",
        "sums",
        "ticks",
        "volume",
    )

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.ring = [0.0] * spec.capacity
        self.pos = 0  # where the next final close goes
        self.finals = 0  # periods finalized so far
        self.sums = [0.0] * len(spec.windows)  # of the last n-1 final closes
        self.since_exact = 0
        self.emas = [NAN] * len(spec.spans)  # through the last final period
        self.seeds = [0.0] * len(spec.spans)  # sum of the first final closes, until seeded
        self.session = -1
        self.current = NAN  # the open period's close
        self.pv = 0.0
        self.volume = 0.0
        self.last_ts = -1
        self.last_seq = -1
        self.ticks = 0

    def apply(self, tick: Tick, session: int) -> tuple[bool, list[float | None]]:
        """Apply one tick of session ``session`` (the caller checked it comes after the last).

        Returns:
            Whether it opened a new session (the previous one is then final), and the values
            after it: one per window, one per span, and the VWAP (None where undefined).
        """
        new_session = session != self.session
        if new_session or self.spec.unit == "bar":
            if self.ticks:
                self._finalize(self.current)
            if new_session:
                self.session = session
                self.pv = 0.0
                self.volume = 0.0
        self.current = tick.price
        self.pv += tick.vwap_price * tick.size
        self.volume += tick.size
        self.last_ts, self.last_seq = tick.ts_event, tick.seq
        self.ticks += 1
        return new_session, self.values()

    def values(self) -> list[float | None]:
        """SMA per window, EMA per span and VWAP with the open period's close as the last."""
        close, finals = self.current, self.finals
        out: list[float | None] = [
            (total + close) / window if finals >= kept else None
            for (window, kept), total in zip(self.spec.kept, self.sums, strict=True)
        ]
        for (n, k, rest), ema, seed in zip(self.spec.smoothing, self.emas, self.seeds, strict=True):
            if finals >= n:
                out.append(k * close + rest * ema)
            else:
                out.append((seed + close) / n if finals == n - 1 else None)
        out.append(self.pv / self.volume if self.volume > 0 else None)
        return out

    def _finalize(self, close: float) -> None:
        """The open period is over: ``close`` joins the final closes."""
        spec, finals, emas, seeds = self.spec, self.finals, self.emas, self.seeds
        for j, (n, k, rest) in enumerate(spec.smoothing):
            # The same expressions as values(): the final EMA is the last value shown.
            if finals >= n:
                emas[j] = k * close + rest * emas[j]
            elif finals == n - 1:
                emas[j] = (seeds[j] + close) / n
            else:
                seeds[j] += close
        capacity = spec.capacity
        if capacity:
            ring, pos, sums = self.ring, self.pos, self.sums
            for i, (_, kept) in enumerate(spec.kept):
                if kept:
                    sums[i] += close - ring[(pos - kept) % capacity] if finals >= kept else close
            ring[pos] = close
            self.pos = (pos + 1) % capacity
        self.finals = finals + 1
        self.since_exact += 1
        if self.since_exact >= capacity:
            self._exact_sums()

    def _exact_sums(self) -> None:
        capacity, ring, pos = self.spec.capacity, self.ring, self.pos
        for i, window in enumerate(self.spec.windows):
            kept = min(window - 1, self.finals)
            self.sums[i] = math.fsum(ring[(pos - k) % capacity] for k in range(1, kept + 1))
        self.since_exact = 0

    def to_bytes(self) -> bytes:
        """The whole state, exactly (doubles as IEEE bytes)."""
        head = _INTS.pack(
            FORMAT_VERSION, self.pos, self.finals, self.since_exact, self.session,
            self.last_ts, self.last_seq, self.ticks,
        )  # fmt: skip
        floats = array("d", [self.current, self.pv, self.volume, *self.sums, *self.emas])
        floats.extend(self.seeds)
        floats.extend(self.ring)
        return head + floats.tobytes()

    @classmethod
    def from_bytes(cls, spec: Spec, data: bytes) -> SymbolState:
        """The state :meth:`to_bytes` wrote, under the same ``spec``.

        Raises:
            ValueError: the bytes were written under another spec or format.
        """
        version, *ints = _INTS.unpack_from(data)
        floats = array("d")
        floats.frombytes(data[_INTS.size :])
        w, s = len(spec.windows), len(spec.spans)
        if version != FORMAT_VERSION or len(floats) != 3 + w + 2 * s + spec.capacity:
            raise ValueError("stored state has another format or spec")
        state = cls(spec)
        (state.pos, state.finals, state.since_exact, state.session, state.last_ts,
         state.last_seq, state.ticks) = ints  # fmt: skip
        state.current, state.pv, state.volume = floats[0], floats[1], floats[2]
        state.sums = list(floats[3 : 3 + w])
        state.emas = list(floats[3 + w : 3 + w + s])
        state.seeds = list(floats[3 + w + s : 3 + w + 2 * s])
        state.ring = list(floats[3 + w + 2 * s :])
        return state
