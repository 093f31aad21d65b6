"""Pacing of the producer and its synthetic feed."""

from __future__ import annotations

import asyncio
import itertools
import time

from marketlake.stream.producer import Pace, synthetic_ticks


def paced(speed: float | None, rate: float | None, stamps: list[int]) -> float:
    async def run() -> float:
        pace = Pace(speed, rate)
        start = time.monotonic()
        for ts in stamps:
            await pace.wait(ts)
        return time.monotonic() - start

    return asyncio.run(run())


def test_speed_replays_the_ticks_own_gaps_faster() -> None:
    seconds = [i * 10**9 for i in range(11)]  # ten one-second gaps
    assert paced(100.0, None, seconds) >= 0.1 * 0.95  # 10 s of data at 100x
    assert paced(None, None, seconds) < 0.1  # max: no waiting at all


def test_rate_publishes_that_many_ticks_per_second() -> None:
    assert paced(None, 200.0, [0] * 41) >= 0.2 * 0.95  # 40 intervals at 200/s


def test_synthetic_feed_is_seeded_and_each_symbols_time_increases() -> None:
    first = list(synthetic_ticks(["A", "B"], count=200, seed=7))
    again = list(synthetic_ticks(["A", "B"], count=200, seed=7))
    assert [t.price for t in first] == [t.price for t in again]
    assert [t.symbol for t in first[:4]] == ["A", "B", "A", "B"]
    for symbol in ("A", "B"):
        stamps = [t.ts_event for t in first if t.symbol == symbol]
        assert all(b > a for a, b in itertools.pairwise(stamps))
