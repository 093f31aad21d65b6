"""``marketlake stream consume``: the durable consumer, exactly once in effect.

The loop: pull up to ``batch_max`` messages, apply them (:mod:`marketlake.stream.processor`),
publish dead letters (deduplicated by the broker on the message's stream sequence), commit the
rows, the states, the counts and the last stream sequence in one PostgreSQL transaction
(:mod:`marketlake.stream.sink`), and only then acknowledge the batch (``AckAll`` on its last
message). PostgreSQL is the authority on progress:

- killed anywhere (SIGKILL), the next start loads the states and the last applied sequence
  committed together, and the durable is re-created at the next sequence when the broker
  delivered more than was committed: no effect is lost or applied twice, and the numbers are
  those of an uninterrupted run;
- a broker restart or a lost connection: nats-py reconnects, then the same resynchronisation
  runs (states reloaded, durable checked) before pulling again;
- PostgreSQL down mid-run: the batch is not acknowledged; the consumer retries the connection
  with back-off and resynchronises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from marketlake.config import Settings
from marketlake.stream import broker
from marketlake.stream.processor import Processor
from marketlake.stream.sink import COUNTS, Batch, Sink

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext

log = logging.getLogger(__name__)

Until = Literal["forever", "once", "idle"]
BACKOFF_S = (0.25, 0.5, 1.0, 2.0, 5.0)


@dataclass
class ConsumeReport:
    """What one ``consume`` run did (``counts``) and where it stands."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    batches: int = 0
    last_stream_seq: int = 0
    resyncs: int = 0
    started: float = field(default_factory=time.monotonic)
    busy_from: float | None = None  # when the first batch arrived
    busy_until: float = 0.0  # when the last one was committed

    @property
    def seconds(self) -> float:
        """Wall time since the run started."""
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        """Ticks applied per second, from the first batch's arrival to the last commit."""
        if self.busy_from is None or self.busy_until <= self.busy_from:
            return 0.0
        return self.counts["applied"] / (self.busy_until - self.busy_from)

    def add(self, batch: Batch) -> None:
        """Count a committed batch."""
        for key, value in batch.counts.items():
            self.counts[key] += value
        self.batches += 1
        self.last_stream_seq = max(self.last_stream_seq, batch.last_seq)
        self.busy_until = time.monotonic()


class _Write:
    """The one batch being committed in a worker thread, and its acknowledgement."""

    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer
        self.task: asyncio.Task[None] | None = None
        self.batch: Batch | None = None
        self.last: Any = None
        self.reported = 0.0

    def start(self, batch: Batch, last: Any) -> None:
        """Commit ``batch`` in the background; ``last`` is its last message (acked after)."""
        self.task = asyncio.create_task(asyncio.to_thread(self.consumer.sink.write, batch))
        self.batch, self.last = batch, last

    async def settle(self) -> None:
        """Wait for the commit under way, then acknowledge its batch (AckAll)."""
        if self.task is None:
            return
        task, self.task = self.task, None
        await task
        await self.last.ack()
        assert self.batch is not None
        consumer = self.consumer
        consumer.report.add(self.batch)
        if consumer.on_progress is not None and time.monotonic() - self.reported >= 1.0:
            self.reported = time.monotonic()
            consumer.on_progress(consumer.report)

    async def drain(self) -> None:
        """After a failure elsewhere: let the commit under way end (its batch is then in
        PostgreSQL, unacknowledged; the resynchronisation that follows starts after it)."""
        task, self.task = self.task, None
        if task is not None:
            with contextlib.suppress(Exception):
                await task


class _Resync(Exception):  # noqa: N818 - control flow, never leaves this module
    """The broker connection was re-established: resynchronise before pulling again."""


class Consumer:
    """One consumer process (see the module doc); :func:`consume` runs it."""

    def __init__(self, settings: Settings, *, until: Until, reset: bool = False) -> None:
        self.settings = settings
        self.stream = settings.stream
        self.until = until
        self.reset = reset
        self.sink = Sink(settings.warehouse.postgres, settings.stream)
        self.report = ConsumeReport()
        self.stop = asyncio.Event()
        self.reconnected = False
        self.target = 0  # --once: the stream's last sequence at start
        self.on_progress: Callable[[ConsumeReport], None] | None = None

    async def run(self) -> ConsumeReport:
        """Consume until ``until`` says so (or :attr:`stop` is set).

        Raises:
            TransientError: NATS cannot be reached at start.
            WarehouseUnavailableError: PostgreSQL cannot be reached at start.
            WarehouseError, ConfigError, TerminalError: what retrying cannot fix.
        """
        self.sink.open(reset=self.reset)
        nc: Client | None = None
        try:
            nc = await broker.connect(self.stream, on_reconnect=self._on_reconnect)
            js = nc.jetstream()
            info = await broker.ensure_streams(js, self.stream)
            created = info.created.isoformat() if info.created else None
            self.sink.bind(self.stream.stream_name, created)
            self.target = info.state.last_seq
            await self._loop(nc, js)
        finally:
            self.sink.close()
            if nc is not None:
                await _close(nc)
        return self.report

    def _on_reconnect(self) -> None:
        self.reconnected = True

    async def _loop(self, nc: Client, js: JetStreamContext) -> None:
        from nats.errors import Error as NatsError

        from marketlake.errors import WarehouseUnavailableError

        failures = 0
        while not self.stop.is_set():
            try:
                if self.sink.con is None:
                    self.sink.open()
                if await self._session(nc, js):
                    return
            except _Resync:
                failures = 0
            except (NatsError, TimeoutError, OSError, WarehouseUnavailableError) as exc:
                delay = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
                failures += 1
                log.warning("%s; resynchronising in %.2f s", _line(exc), delay)
                await asyncio.sleep(delay)
            self.report.resyncs += 1

    async def _session(self, nc: Client, js: JetStreamContext) -> bool:
        """Resynchronise, then apply batches; True when the run is over."""
        self.reconnected = False
        progress = self.sink.progress()
        processor = Processor(self.stream, self.sink.load_states(), progress.last_stream_seq)
        how = await broker.prepare_consumer(js, self.stream, progress.last_stream_seq)
        log.info("consumer %s %s at stream sequence %d", self.stream.durable, how,
                 progress.last_stream_seq + 1)  # fmt: skip
        puller = broker.Puller(nc, self.stream)
        await puller.start()
        try:
            return await self._pull(nc, js, puller, processor)
        finally:
            await puller.stop()

    async def _pull(
        self, nc: Client, js: JetStreamContext, puller: broker.Puller, processor: Processor
    ) -> bool:
        """Apply batches; batch k+1 is pulled and applied while batch k is being committed."""
        writing = _Write(self)
        idle_since = time.monotonic()
        try:
            while not self.stop.is_set():
                if self.reconnected:
                    raise _Resync
                if self.until == "once" and processor.last_seq >= self.target:
                    await writing.settle()
                    return True
                messages = await puller.take(wait_s=min(0.5, self.stream.idle_s))
                if not messages:
                    await writing.settle()
                    if not nc.is_connected:
                        idle_since = time.monotonic()
                    elif await self._finished(js, idle_since):
                        return True
                    continue
                idle_since = time.monotonic()
                if self.report.busy_from is None:
                    self.report.busy_from = idle_since
                batch = processor.apply(messages)  # type: ignore[arg-type]
                applied: set[tuple[str, int, int]] = set()
                if batch.older:  # compare with everything committed, the batch before included
                    await writing.settle()
                    keys = [(t.symbol, t.ts_event, t.seq) for _, _, t, _ in batch.older]
                    applied = await asyncio.to_thread(self.sink.applied, keys)
                processor.settle(batch, applied)
                await writing.settle()
                for letter in batch.dead:  # before the commit; Nats-Msg-Id makes a retry safe
                    await js.publish(letter.subject, letter.payload, headers=letter.headers)
                writing.start(batch, messages[-1])
            await writing.settle()
            return True
        finally:
            await writing.drain()

    async def _finished(self, js: JetStreamContext, idle_since: float) -> bool:
        if self.until == "idle":
            return time.monotonic() - idle_since >= self.stream.idle_s
        if self.until == "once":  # nothing left although below the target: messages expired
            info = await broker.consumer_info(js, self.stream)
            return info is not None and not info.num_pending and not info.num_ack_pending
        return False


async def _close(nc: Client) -> None:
    try:
        await nc.drain()
    except Exception as exc:  # a connection already gone has nothing to drain
        log.debug("nats drain: %s", exc)
        await nc.close()


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


async def consume(
    settings: Settings,
    *,
    until: Until = "forever",
    reset: bool = False,
    on_progress: Callable[[ConsumeReport], None] | None = None,
) -> ConsumeReport:
    """Run the consumer of ``settings`` (see the module doc).

    Args:
        settings: Stream, broker and PostgreSQL settings.
        until: ``forever``; ``once``: what the stream holds at start; ``idle``: until no message
            came for ``stream.idle_s``.
        reset: Drop the live tables first and recompute them from the whole stream.
        on_progress: Called with the running report about once a second.

    Returns:
        What this run applied, counted and dead-lettered.

    Raises:
        TransientError: NATS cannot be reached at start.
        WarehouseUnavailableError: PostgreSQL cannot be reached at start.
        ConfigError: the live tables were computed with other settings.
    """
    consumer = Consumer(settings, until=until, reset=reset)
    consumer.on_progress = on_progress
    return await consumer.run()
