"""The incremental indicators against a plain batch computation over the same closes."""

from __future__ import annotations

import math
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from marketlake.stream.messages import Tick
from marketlake.stream.state import Spec, SymbolState
from tests.integration.warehouse import indicators_reference as ref

WINDOWS = (1, 3, 20, 30)
SPANS = (1, 4, 12)
DAY = date(2024, 1, 2).toordinal()

prices = st.floats(min_value=0.5, max_value=5_000, allow_nan=False, allow_infinity=False)


def close_enough(got: float | None, want: float | None) -> bool:
    if want is None or got is None:
        return got is None and want is None
    return math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-9)


def run_bars(series: list[float], spec: Spec) -> list[list[float | None]]:
    state = SymbolState(spec)
    return [state.apply(Tick("X", i + 1, p, 1.0), DAY)[1] for i, p in enumerate(series)]


def expected(closes: list[float], spec: Spec) -> list[list[float | None]]:
    columns = [ref.sma(closes, n) for n in spec.windows] + [ref.ema(closes, n) for n in spec.spans]
    return [list(values) for values in zip(*columns, strict=True)]


@settings(max_examples=60, deadline=None)
@given(st.lists(prices, min_size=1, max_size=120))
def test_bar_unit_equals_the_batch_averages_of_every_prefix(series: list[float]) -> None:
    spec = Spec("bar", WINDOWS, SPANS)
    got = run_bars(series, spec)
    for tick, want in zip(got, expected(series, spec), strict=True):
        assert all(close_enough(g, w) for g, w in zip(tick[:-1], want, strict=True))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(prices, min_size=1, max_size=4), min_size=1, max_size=60))
def test_day_unit_uses_the_latest_price_as_the_open_sessions_close(
    sessions: list[list[float]],
) -> None:
    spec = Spec("day", WINDOWS, SPANS)
    state = SymbolState(spec)
    finals: list[float] = []
    ts = 0
    for day, trades in enumerate(sessions):
        for k, price in enumerate(trades):
            ts += 1
            new, values = state.apply(Tick("X", ts, price, 2.0), DAY + day)
            assert new == (k == 0)
            # Provisional: the batch values over the final closes plus this price as today's.
            want = expected([*finals, price], spec)[-1]
            assert all(close_enough(g, w) for g, w in zip(values[:-1], want, strict=True))
        finals.append(trades[-1])


def test_vwap_is_cumulative_per_session_and_resets_at_the_next() -> None:
    state = SymbolState(Spec("bar", (2,), ()))
    assert state.apply(Tick("X", 1, 10.0, 100.0), DAY)[1][-1] == 10.0
    assert state.apply(Tick("X", 2, 12.0, 300.0), DAY)[1][-1] == (1000 + 3600) / 400
    assert state.apply(Tick("X", 3, 20.0, 0.0), DAY)[1][-1] == (1000 + 3600) / 400
    new, values = state.apply(Tick("X", 4, 11.0, 50.0), DAY + 1)
    assert new
    assert values[-1] == 11.0
    assert values[0] == (20.0 + 11.0) / 2  # the SMA runs across sessions in bar unit


def test_a_bar_weighs_its_vwap_or_its_typical_price() -> None:
    state = SymbolState(Spec("day", (2,), ()))
    bar = Tick("X", 1, 10.0, 100.0, "bar", 0, None, 9.0, 12.0, 9.0, None)
    assert math.isclose(state.apply(bar, DAY)[1][-1], (12.0 + 9.0 + 10.0) / 3)
    with_vwap = Tick("X", 2, 11.0, 100.0, "bar", 0, None, 10.0, 12.0, 10.0, 10.5)
    assert state.apply(with_vwap, DAY + 1)[1][-1] == 10.5


@settings(max_examples=30, deadline=None)
@given(st.lists(prices, min_size=2, max_size=500), st.data())
def test_a_stored_and_restored_state_continues_bit_for_bit(
    series: list[float], data: st.DataObject
) -> None:
    spec = Spec("day", (20, 30, 200), (12, 20, 26))
    cut = data.draw(st.integers(1, len(series) - 1))
    through = SymbolState(spec)
    restored = SymbolState(spec)
    days = [DAY + i // 3 for i in range(len(series))]  # three ticks per session
    for i, price in enumerate(series[:cut]):
        through.apply(Tick("X", i + 1, price, 1.0), days[i])
        restored.apply(Tick("X", i + 1, price, 1.0), days[i])
    restored = SymbolState.from_bytes(spec, restored.to_bytes())
    for i, price in enumerate(series[cut:], start=cut):
        a = through.apply(Tick("X", i + 1, price, 1.0), days[i])
        b = restored.apply(Tick("X", i + 1, price, 1.0), days[i])
        assert a == b  # identical floats, not merely close
    assert through.to_bytes() == restored.to_bytes()


def test_long_runs_do_not_drift_from_the_exact_window_mean() -> None:
    # Thousands of periods near 1e6, then small prices: a plain running sum keeps the rounding
    # of the large values (~1e-9 here, 1e-10 of the small mean); the periodic exact
    # recomputation leaves only the last few additions' rounding.
    spec = Spec("bar", (20, 200), ())
    state = SymbolState(spec)
    closes = [1e6 + ((i * 7919) % 1000) / 100 for i in range(5_000)]
    closes += [0.5 + ((i * 104729) % 100) / 1000 for i in range(400)]
    for i, price in enumerate(closes):
        values = state.apply(Tick("X", i + 1, price, 1.0), DAY)[1]
    assert math.isclose(values[0], math.fsum(closes[-20:]) / 20, rel_tol=1e-14)
    assert math.isclose(values[1], math.fsum(closes[-200:]) / 200, rel_tol=1e-14)


def test_state_of_another_spec_is_refused() -> None:
    state = SymbolState(Spec("bar", (20,), ()))
    state.apply(Tick("X", 1, 10.0, 1.0), DAY)
    try:
        SymbolState.from_bytes(Spec("bar", (30,), ()), state.to_bytes())
    except ValueError:
        return
    raise AssertionError("a state of other windows was accepted")
