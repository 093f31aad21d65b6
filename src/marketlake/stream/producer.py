"""``marketlake stream produce``: publishing ticks to JetStream, paced, every one confirmed.

Ticks of one symbol are published in order from one connection, so the stream keeps each
symbol's order. Every publish asks the stream for an acknowledgement; at most
``stream.publish_window`` wait at a time (a window instead of a round trip per tick), and a run
reports success only when every tick is stored. Publishing the same ticks again is harmless:
the consumer recognises a tick it already applied by ``(symbol, ts_event, seq)`` and counts it
as a duplicate instead of applying it twice. (Ticks carry no ``Nats-Msg-Id``: parsing a header
costs the consumer about a quarter of its time per message, and the broker's duplicate window
would only cover minutes.)

Pacing: ``speed`` replays the ticks' own time gaps divided by it (100 = 100x faster than they
happened); ``rate`` publishes that many ticks per second; neither: as fast as the broker takes
them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from marketlake.config import StreamSettings
from marketlake.errors import TerminalError, TransientError
from marketlake.stream import broker
from marketlake.stream.messages import Tick, encode, subject_token

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg

log = logging.getLogger(__name__)

ACK_TIMEOUT_S = 30.0


@dataclass
class PublishReport:
    """What a producer run published."""

    published: int = 0
    stored: int = 0
    symbols: set[str] = field(default_factory=set)
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0


class Publisher:
    """Publishes to JetStream with a bounded window of unacknowledged messages."""

    def __init__(self, nc: Client, settings: StreamSettings) -> None:
        self.nc = nc
        self.settings = settings
        self.window = settings.publish_window
        self.report = PublishReport()
        self.in_flight = 0
        self.room = asyncio.Event()
        self.error: str | None = None
        self.prefix = ""
        self._subjects: dict[str, str] = {}
        self._sub: Any = None
        self._next = 0

    async def start(self) -> None:
        """Subscribe the acknowledgement inbox."""
        self.prefix = self.nc.new_inbox()
        self._sub = await self.nc.subscribe(
            f"{self.prefix}.*", cb=self._on_ack, pending_msgs_limit=0, pending_bytes_limit=0
        )

    async def _on_ack(self, msg: Msg) -> None:
        self.in_flight -= 1
        if msg.headers and msg.headers.get("Status") == broker.NO_RESPONDERS:
            self.error = f"no JetStream stream captures {self.settings.subject_prefix}.>"
        else:
            try:
                answer = json.loads(msg.data)
            except ValueError:
                answer = {"error": {"description": msg.data[:200].decode(errors="replace")}}
            if "error" in answer:
                self.error = str(answer["error"].get("description", answer["error"]))
            else:
                self.report.stored += 1
        if self.in_flight <= self.window // 2:
            self.room.set()

    async def send(self, tick: Tick) -> None:
        """Publish one tick (waits while the window is full).

        Raises:
            TerminalError: the broker refused an earlier tick.
            TransientError: the broker stopped acknowledging.
        """
        if self.error:
            raise TerminalError(
                f"the broker refused a tick: {self.error}",
                hint="check the stream (marketlake stream status) and stream.subject_prefix",
            )
        while self.in_flight >= self.window:
            self.room.clear()
            try:
                await asyncio.wait_for(self.room.wait(), ACK_TIMEOUT_S)
            except TimeoutError:
                raise self._stalled() from None
        subject = self._subjects.get(tick.symbol)
        if subject is None:
            token = subject_token(tick.symbol)
            subject = self._subjects[tick.symbol] = f"{self.settings.subject_prefix}.{token}"
        self._next += 1
        await self.nc.publish(
            subject,
            encode(tick, published_ns=time.time_ns()),
            reply=f"{self.prefix}.{self._next}",
        )
        self.in_flight += 1
        self.report.published += 1
        self.report.symbols.add(tick.symbol)

    async def finish(self) -> PublishReport:
        """Wait for every acknowledgement.

        Raises:
            TerminalError: the broker refused a tick.
            TransientError: acknowledgements stopped coming.
        """
        deadline = time.monotonic() + ACK_TIMEOUT_S
        while self.in_flight > 0 and not self.error:
            if time.monotonic() > deadline:
                raise self._stalled()
            self.room.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.room.wait(), 0.05)
        if self.error:
            raise TerminalError(f"the broker refused a tick: {self.error}")
        if self._sub is not None:
            await self._sub.unsubscribe()
        self.report.seconds = time.monotonic() - self.report.started
        return self.report

    def _stalled(self) -> TransientError:
        return TransientError(
            f"{self.in_flight} published ticks were not acknowledged within {ACK_TIMEOUT_S:.0f} s",
            hint="the broker may be down or full; run `marketlake stream status`, then publish "
            "again (ticks already stored are not stored twice)",
        )


async def publish(
    settings: StreamSettings,
    ticks: Iterable[Tick],
    *,
    speed: float | None = None,
    rate: float | None = None,
    on_progress: Callable[[PublishReport], None] | None = None,
) -> PublishReport:
    """Publish ``ticks`` in their order (see the module doc).

    Args:
        settings: Broker, stream and subject settings.
        ticks: The ticks, each symbol's in time order.
        speed: Replay factor of the ticks' time gaps; None: no pacing by time.
        rate: Ticks per second; None: no pacing by count.
        on_progress: Called with the running report about once a second.

    Returns:
        How many ticks were published and stored, of how many symbols.

    Raises:
        TransientError: NATS cannot be reached, or stopped acknowledging.
        TerminalError: the broker refused ticks (no stream, JetStream off).
    """
    nc = await broker.connect(settings, name="marketlake-producer")
    try:
        await broker.ensure_streams(nc.jetstream(), settings)
        publisher = Publisher(nc, settings)
        await publisher.start()
        pace = Pace(speed, rate)
        reported = time.monotonic()
        for tick in ticks:
            await pace.wait(tick.ts_event)
            await publisher.send(tick)
            if on_progress is not None and time.monotonic() - reported >= 1.0:
                reported = time.monotonic()
                on_progress(publisher.report)
        return await publisher.finish()
    finally:
        await nc.drain()


class Pace:
    """Sleeps until each tick is due (by its time gaps / speed, or by rate), and yields to the
    event loop at least every ``YIELD_S`` so publishes leave and acknowledgements come in."""

    YIELD_S = 0.001

    def __init__(self, speed: float | None, rate: float | None) -> None:
        self.speed, self.rate = speed, rate
        self.start = self.yielded = time.monotonic()
        self.first_ts: int | None = None
        self.count = 0

    async def wait(self, ts_event: int) -> None:
        due = self.start
        if self.speed is not None:
            if self.first_ts is None:
                self.first_ts = ts_event
            due += (ts_event - self.first_ts) / 1e9 / self.speed
        if self.rate is not None:
            due = max(due, self.start + self.count / self.rate)
        self.count += 1
        now = time.monotonic()
        if due - now > self.YIELD_S:
            await asyncio.sleep(due - now)
        elif now - self.yielded > self.YIELD_S:
            await asyncio.sleep(0)
        else:
            return
        self.yielded = time.monotonic()


def synthetic_ticks(
    symbols: Sequence[str], *, count: int | None, seed: int = 0, start_price: float = 100.0
) -> Iterator[Tick]:
    """A seeded random-walk trade feed, round robin over ``symbols``, stamped now.

    Args:
        symbols: The symbols, in turn.
        count: Ticks in all; None: endless.
        seed: Seed of prices and sizes (timestamps are the wall clock).
        start_price: First price of the first symbol (the others start a little higher).
    """
    rng = random.Random(seed)
    prices = [start_price * (1 + 0.25 * i) for i in range(len(symbols))]
    last = [0] * len(symbols)
    i = 0
    while count is None or i < count:
        k = i % len(symbols)
        prices[k] *= math.exp(rng.gauss(0.0, 0.0005))
        ts = max(time.time_ns(), last[k] + 1)
        last[k] = ts
        yield Tick(symbols[k], ts, round(prices[k], 4), float(rng.randint(1, 20) * 100))
        i += 1
