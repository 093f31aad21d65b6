"""Benchmark: dollar bars (exact rule) with the numba kernel, against a plain Python loop.

marketlake: ``ThresholdBars("dollar", X).push`` over N random ES-like trades held in memory
(int64 ns times, f8 prices on a 0.25 grid, f8 whole sizes), after compilation; compile time is
reported separately (numba's cache is pointed at an empty folder, so it really compiles).
Baseline: ``marketlake.bars.reference.threshold_bars`` called on NumPy arrays -- a Python loop
indexing NumPy arrays, one dict per bar (the mlfinlab style) -- on the first ``--baseline-trades``
trades (it would take many minutes on all of them); both are reported as trades/s so they
compare. The bars of that subset are checked equal, bit for bit, between the two.

    uv run python bench/bench_bars.py [--trades 50000000] [--baseline-trades 1000000]

Targets (issue 4): >= 100M trades/s and >= 100x the baseline. Also prints the other kinds'
throughput (tick, volume, imbalance, time) on the same trades, for reference.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import statistics
import tempfile
import time
from typing import Any

# Before numba is imported: a fresh cache, so the first call measures a real compilation.
os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="marketlake-bench-numba-")

import numpy as np

from marketlake.bars import reference
from marketlake.bars.accumulator import Accumulator, BarColumns, ThresholdBars
from marketlake.bars.imbalance import ImbalanceBars, ImbalanceParams
from marketlake.bars.time_bars import TimeBars

FIELDS = ("ts_start", "ts_end", "open", "high", "low", "close", "volume", "dollar_value")


def make_trades(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    ts = 1_700_000_000_000_000_000 + np.cumsum(rng.integers(0, 200_000_000, n, dtype=np.int64))
    price = 4000.0 + 0.25 * np.cumsum(rng.integers(-1, 2, n, dtype=np.int8), dtype=np.float64)
    size = rng.integers(1, 11, n).astype(np.float64)
    return ts, price, size


def time_push(
    make: type[Accumulator] | object, args: tuple, repeats: int, data: tuple
) -> tuple[float, int]:  # type: ignore[type-arg]
    """Median seconds of a fresh accumulator pushing all trades and flushing; bars made."""
    seconds, bars = [], 0
    for _ in range(repeats):
        acc = make(*args)  # type: ignore[operator]
        start = time.perf_counter()
        out = acc.push(*data)
        acc.flush()
        seconds.append(time.perf_counter() - start)
        bars = len(out)
    return statistics.median(seconds), bars


def python_loop_dollar_bars(ts: Any, price: Any, size: Any, threshold: float) -> list[tuple]:  # type: ignore[type-arg]
    """The baseline: the same rule as a plain Python loop indexing NumPy arrays (mlfinlab style)."""
    bars = []
    count = 0
    for i in range(len(ts)):
        p, s = price[i], size[i]
        if count == 0:
            t0, o, h, lo, v, d = ts[i], p, p, p, 0.0, 0.0
        else:
            h, lo = max(h, p), min(lo, p)
        count += 1
        v += s
        d += p * s
        if d >= threshold:
            bars.append((t0, ts[i], o, h, lo, p, v, d, count))
            count = 0
    return bars


def check_equal(fast: BarColumns, slow: list[dict[str, float]]) -> None:
    assert len(fast) == len(slow), (len(fast), len(slow))
    for name in (*FIELDS, "tick_count"):
        want = np.array([bar[name] for bar in slow])
        assert np.array_equal(getattr(fast, name), want), name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trades", type=int, default=50_000_000)
    parser.add_argument("--baseline-trades", type=int, default=1_000_000)
    parser.add_argument("--trades-per-bar", type=int, default=1_000, help="sets the threshold")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    atexit.register(shutil.rmtree, os.environ["NUMBA_CACHE_DIR"], ignore_errors=True)

    data = make_trades(args.trades)
    ts, price, size = data
    threshold = float(np.dot(price, size)) / max(1, args.trades // args.trades_per_bar)
    threshold = float(f"{threshold:.3g}")
    print(
        f"input: {args.trades:,} random trades in memory ({ts.nbytes * 3 / 1e6:,.0f} MB), "
        f"dollar threshold {threshold:,.0f} (~{args.trades_per_bar:,} trades per bar)"
    )

    tiny = tuple(a[:1_000] for a in data)
    start = time.perf_counter()
    ThresholdBars("dollar", threshold).push(*tiny)
    compile_s = time.perf_counter() - start
    print(f"numba compile (first call, empty cache): {compile_s:.2f}s")

    seconds, bars = time_push(ThresholdBars, ("dollar", threshold), args.repeats, data)
    rate = args.trades / seconds
    print(
        f"marketlake dollar bars (numba, median of {args.repeats}): {args.trades:,} trades -> "
        f"{bars:,} bars in {seconds:.3f}s = {rate / 1e6:,.1f}M trades/s"
    )

    n_base = min(args.baseline_trades, args.trades)
    sub = tuple(a[:n_base] for a in data)
    start = time.perf_counter()
    loop_bars = python_loop_dollar_bars(*sub, threshold)
    base_s = time.perf_counter() - start
    base_rate = n_base / base_s
    print(
        f"baseline plain Python loop over NumPy arrays (mlfinlab style), first {n_base:,} "
        f"trades: {len(loop_bars):,} bars in {base_s:.2f}s = {base_rate / 1e6:,.2f}M trades/s"
    )
    start = time.perf_counter()
    slow, _ = reference.threshold_bars(*sub, "dollar", threshold)
    ref_s = time.perf_counter() - start
    fast = ThresholdBars("dollar", threshold).push(*sub)
    check_equal(fast, slow)
    assert len(loop_bars) == len(fast)
    for i, bar in enumerate(loop_bars):  # the loop's tuples are in FIELDS order + tick_count
        assert bar == tuple(getattr(fast, f)[i] for f in (*FIELDS, "tick_count")), i
    print(
        f"check: the {len(slow):,} bars of the subset are equal, bit for bit, to the test "
        f"suite's reference (a dict per bar: {n_base / ref_s / 1e6:,.2f}M trades/s) and the loop"
    )

    others = {
        "tick": (ThresholdBars, ("tick", float(args.trades_per_bar))),
        "volume": (
            ThresholdBars,
            ("volume", float(size.sum()) / (args.trades / args.trades_per_bar)),
        ),
        "time 1m": (TimeBars, (60,)),
        "imbalance": (ImbalanceBars, (ImbalanceParams(float(args.trades_per_bar)),)),
    }
    # Imbalance bars on a random walk shrink to a few ticks each (|E[b*v]| -> 0, see
    # bars/imbalance.py), so on all trades their output alone would not fit in memory.
    imbalance_n = min(args.trades, 10_000_000)
    for name, (cls, cargs) in others.items():
        cls(*cargs).push(*tiny)  # compile
        n = imbalance_n if name == "imbalance" else args.trades
        secs, made = time_push(cls, cargs, 1, tuple(a[:n] for a in data))
        print(
            f"  other kinds: {name:<9} {made:>12,} bars, {n / secs / 1e6:8,.1f}M trades/s "
            f"(of {n:,})"
        )

    verdict = "met" if rate >= 100e6 and rate / base_rate >= 100 else "NOT met"
    print(
        f"RESULT bars dollar {args.trades:,} trades: {rate / 1e6:,.1f}M trades/s = "
        f"{rate / base_rate:,.0f}x baseline ({base_rate / 1e6:,.2f}M trades/s, Python loop over "
        f"NumPy arrays); compile {compile_s:.2f}s; targets >=100M/s and >=100x: {verdict}"
    )


if __name__ == "__main__":
    main()
