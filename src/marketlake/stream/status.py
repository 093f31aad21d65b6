"""``marketlake stream status``: the streams, the consumer's lag, and what PostgreSQL holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marketlake.config import Settings
from marketlake.errors import WarehouseError
from marketlake.stream import broker
from marketlake.stream.sink import CONSUMER, COUNTS, STATE, table
from marketlake.warehouse.postgres_target import connect


@dataclass(frozen=True)
class StreamState:
    """One JetStream stream."""

    name: str
    messages: int
    bytes: int
    first_seq: int
    last_seq: int


@dataclass
class Status:
    """Everything ``stream status`` shows (None: that part does not exist yet)."""

    ticks: StreamState | None = None
    dead: StreamState | None = None
    consumer: dict[str, int] | None = None  # delivered, ack_floor, pending, ack_pending...
    applied_seq: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    symbols: int = 0
    updated_at: datetime | None = None
    config: dict[str, Any] = field(default_factory=dict)


async def read_status(settings: Settings) -> Status:
    """The broker's and PostgreSQL's view of the stream.

    Raises:
        TransientError: NATS cannot be reached.
        WarehouseUnavailableError: PostgreSQL cannot be reached.
    """
    from nats.js.errors import NotFoundError

    s = settings.stream
    status = Status()
    nc = await broker.connect(s, name="marketlake-status")
    try:
        js = nc.jetstream()
        for name, attr in ((s.stream_name, "ticks"), (s.dead_stream, "dead")):
            try:
                info = await js.stream_info(name)
            except NotFoundError:
                continue
            st = info.state
            state = StreamState(name, st.messages, st.bytes, st.first_seq, st.last_seq)
            setattr(status, attr, state)
        if status.ticks is not None:
            consumer = await broker.consumer_info(js, s)
            if consumer is not None:
                status.consumer = {
                    "delivered": consumer.delivered.stream_seq if consumer.delivered else 0,
                    "ack_floor": consumer.ack_floor.stream_seq if consumer.ack_floor else 0,
                    "pending": consumer.num_pending or 0,
                    "ack_pending": consumer.num_ack_pending or 0,
                    "redelivered": consumer.num_redelivered or 0,
                }
    finally:
        await nc.close()
    _read_tables(settings, status)
    return status


def _read_tables(settings: Settings, status: Status) -> None:
    s = settings.stream
    try:
        con = connect(settings.warehouse.postgres)
    except WarehouseError as exc:
        if "does not exist" in exc.message:
            return  # no database: nothing consumed yet
        raise
    try:
        exists = con.execute("select to_regclass(%s)", [f'"{s.pg_schema}"."{CONSUMER}"'])
        row = exists.fetchone()
        if row is None or row[0] is None:
            return
        found = con.execute(
            f"select last_stream_seq, {', '.join(COUNTS)}, updated_at, unit, windows, ema_spans "
            f"from {table(s, CONSUMER)}"
        ).fetchone()
        if found is None:
            return
        status.applied_seq = int(found[0])
        status.counts = dict(zip(COUNTS, found[1:6], strict=True))
        status.updated_at = found[6]
        status.config = {"unit": found[7], "windows": found[8], "ema_spans": found[9]}
        count = con.execute(f"select count(*) from {table(s, STATE)}").fetchone()
        status.symbols = int(count[0]) if count else 0
    finally:
        con.close()
