"""Tick-rule volume imbalance bars (López de Prado, *Advances in Financial ML*, ch. 2).

The rule, exactly as the kernel computes it:

- Tick rule: ``b_t = sign(p_t - p_{t-1})``; an unchanged price carries the previous sign; the
  very first trade has ``b = 0`` (no previous price).
- Signed volume ``x_t = b_t * v_t``; the bar's imbalance ``theta = sum of x_t`` since it opened.
- ``E[b*v]``: an EWMA of ``x_t`` over *every* tick, span ``bars.imbalance_ewma_ticks``
  (alpha = 2 / (span + 1)), bias-corrected like pandas ``ewm(adjust=True)``: numerator
  ``x + (1-alpha) * num``, denominator ``1 + (1-alpha) * den``; so no seed value dominates.
- ``E[T]``: the same kind of EWMA of the previous bars' lengths in ticks, span
  ``bars.imbalance_ewma_bars``, clamped to ``[min_ratio * E0, max_ratio * E0]``
  (``bars.imbalance_min_ratio`` / ``imbalance_max_ratio``), where ``E0`` is the run's
  ``threshold``: the expected ticks of the first bar. The clamp is what stops the threshold from
  running away (bars collapsing to single ticks or growing without bound, as mlfinlab users
  report). Before the first bar closes, ``E[T] = E0``.
- The threshold of a bar is fixed when the bar opens (AFML's ``E_0``):
  ``E[T] * |E[b*v]|``, computed from the estimates right after the previous bar closed.
  The first bar includes the warm-up: it cannot close before ``bars.imbalance_warmup_ticks``
  trades were seen, and its threshold is set at that trade.
- The bar closes at the first trade where ``|theta| > threshold`` (strictly greater); that
  trade is in the bar; ``theta`` restarts at zero.

Behaviour to know: the clamp bounds E[T], not the threshold. When buying and selling balance,
``|E[b*v]|`` is near 0 and so is the threshold: bars shrink to a few ticks whatever E[T] is
(on a random walk, about two ticks per bar), while E[T] settles at ``min_ratio * E0``. A long
one-sided run makes ``|E[b*v]|`` large and bars long (expected length up to ``max_ratio * E0``).
Prices that never change give ``b = 0``: no bar closes, all trades stay in the open bar.
``bar_threshold`` in the output shows each bar's threshold, so all of this is visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marketlake.bars import kernels
from marketlake.bars.accumulator import Accumulator, FloatArray, IntArray, check_threshold
from marketlake.config import BarsSettings
from marketlake.errors import ConfigError


@dataclass(frozen=True)
class ImbalanceParams:
    """Parameters of imbalance bars (see the module docs for what each one does).

    Args:
        expected_ticks: E0[T], the expected length in ticks of the first bar (the threshold).
        ewma_ticks: Span in ticks of the EWMA of the signed volume E[b*v].
        ewma_bars: Span in bars of the EWMA of bar lengths E[T].
        warmup_ticks: Trades seen before the first bar may close.
        min_ratio: E[T] is kept >= min_ratio * expected_ticks.
        max_ratio: E[T] is kept <= max_ratio * expected_ticks.
    """

    expected_ticks: float
    ewma_ticks: int = 10_000
    ewma_bars: int = 3
    warmup_ticks: int = 10_000
    min_ratio: float = 0.1
    max_ratio: float = 10.0

    @classmethod
    def from_settings(cls, expected_ticks: float, settings: BarsSettings) -> ImbalanceParams:
        """The parameters of ``settings.bars`` with the run's E0[T]."""
        return cls(
            expected_ticks=expected_ticks,
            ewma_ticks=settings.imbalance_ewma_ticks,
            ewma_bars=settings.imbalance_ewma_bars,
            warmup_ticks=settings.imbalance_warmup_ticks,
            min_ratio=settings.imbalance_min_ratio,
            max_ratio=settings.imbalance_max_ratio,
        )

    def validate(self) -> None:
        """Refuse parameters the rule cannot use.

        Raises:
            ConfigError: a parameter out of range.
        """
        check_threshold("imbalance", self.expected_ticks)
        if min(self.ewma_ticks, self.ewma_bars, self.warmup_ticks) < 1:
            raise ConfigError(
                "imbalance EWMA spans and warm-up must be at least 1",
                hint="fix bars.imbalance_ewma_ticks / _ewma_bars / _warmup_ticks in the settings",
            )
        if not 0 < self.min_ratio <= 1 <= self.max_ratio:
            raise ConfigError(
                f"imbalance clamp must satisfy 0 < min_ratio <= 1 <= max_ratio, got "
                f"[{self.min_ratio}, {self.max_ratio}]",
                hint="fix bars.imbalance_min_ratio / imbalance_max_ratio in the settings",
            )

    @property
    def alpha_ticks(self) -> float:
        """EWMA weight of the newest tick."""
        return 2.0 / (self.ewma_ticks + 1)

    @property
    def alpha_bars(self) -> float:
        """EWMA weight of the newest bar length."""
        return 2.0 / (self.ewma_bars + 1)


class ImbalanceBars(Accumulator):
    """Imbalance bars, state (estimates, tick sign, open bar) carried across chunks.

    Raises:
        ConfigError: invalid parameters.
    """

    def __init__(self, params: ImbalanceParams) -> None:
        params.validate()
        super().__init__("imbalance")
        self.params = params

    def _run(self, ts: IntArray, price: FloatArray, size: FloatArray, start: int, out: Any) -> Any:
        p = self.params
        kernel: Any = kernels.imbalance_kernel  # a numba dispatcher: untyped for mypy
        return kernel(
            ts,
            price,
            size,
            p.alpha_ticks,
            p.alpha_bars,
            p.warmup_ticks,
            float(p.expected_ticks),
            p.min_ratio * p.expected_ticks,
            p.max_ratio * p.expected_ticks,
            self.state_f,
            self.state_i,
            *out,
            start,
        )

    def _open_bar_threshold(self) -> float:
        return float(self.state_f[kernels.F_BAR_THRESHOLD])
