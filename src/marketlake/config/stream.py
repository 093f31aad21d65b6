"""Streaming moving averages: the NATS JetStream broker and the PostgreSQL sink."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator


class StreamSettings(BaseModel):
    """Streaming moving averages: the NATS JetStream broker and the PostgreSQL sink."""

    nats_url: str = Field("nats://127.0.0.1:4222", description="The NATS server (JetStream on).")
    connect_timeout_s: float = Field(
        5.0, gt=0, description="Seconds to wait for NATS to accept a connection."
    )
    stream_name: str = Field(
        "MARKETLAKE_TICKS",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="JetStream stream holding the ticks (file storage, created when missing).",
    )
    subject_prefix: str = Field(
        "marketlake.ticks",
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="Ticks of symbol S are published on `<prefix>.<S>` (S's dots escaped).",
    )
    durable: str = Field(
        "marketlake-indicators",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Durable pull consumer of `marketlake stream consume`.",
    )
    dead_stream: str = Field(
        "MARKETLAKE_DEAD",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="JetStream stream keeping dead-lettered and late ticks, with the reason.",
    )
    dead_subject: str = Field(
        "marketlake.dead.ticks", description="Malformed messages go here (header Reason)."
    )
    late_subject: str = Field(
        "marketlake.late.ticks",
        description="Ticks older than their symbol's last applied tick go here (late_ticks).",
    )
    late_ticks: Literal["dead-letter", "count"] = Field(
        "dead-letter",
        description="A tick older than its symbol's last applied one is never applied; it is "
        "counted, and with `dead-letter` also published to late_subject with the reason.",
    )
    unit: Literal["day", "bar"] = Field(
        "day",
        description="Period of the averages: `day` (daily closes: a session's latest price is its "
        "close, final at its last tick) or `bar` (every tick is a period: bar closes, trades).",
    )
    windows: list[int] = Field(
        [20, 30, 200], min_length=1, description="SMA windows, in periods of `unit`."
    )
    ema_spans: list[int] = Field(
        [12, 20, 26], description="EMA spans n (k = 2/(n+1), seeded with the SMA of n periods)."
    )
    session_timezone: str = Field(
        "America/New_York",
        description="Zone of the session date of ticks that carry none (trades): VWAP resets "
        "and `day` periods follow it.",
    )
    session_rollover: str = Field(
        "00:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Local time from which ticks belong to the next day's session "
        "(00:00: the calendar date; 17:00 for CME Globex).",
    )
    batch_max: int = Field(
        5_000, ge=1, description="Most messages applied and committed in one transaction."
    )
    flush_interval_ms: float = Field(
        0.0,
        ge=0,
        description="Longest wait for more messages before committing a smaller batch; 0 "
        "commits what has arrived at once (lowest latency; batches grow under load anyway).",
    )
    fetch_expires_s: float = Field(
        5.0, gt=0, description="Lifetime of one pull request while the stream is idle."
    )
    ack_wait_s: float = Field(
        60.0, gt=0, description="Seconds before JetStream redelivers an unacknowledged message."
    )
    idle_s: float = Field(
        2.0, gt=0, description="`consume --until-idle` stops after this long without messages."
    )
    publish_window: int = Field(
        10_000, ge=1, description="Producer: publishes in flight before waiting for stream acks."
    )
    duplicate_window_s: float = Field(
        120.0,
        gt=0,
        description="JetStream's duplicate window: a dead letter published again (a consumer "
        "killed before its commit) within it is stored once.",
    )
    max_age_hours: float = Field(
        168.0, ge=0, description="Ticks older than this leave the stream; 0 keeps them all."
    )
    pg_schema: str = Field(
        "stream",
        pattern=r"^[a-z_][a-z0-9_]*$",
        description="PostgreSQL schema (in warehouse.postgres's database) of the live tables.",
    )
    values_table: str = Field(
        "indicator_ticks",
        pattern=r"^[a-z_][a-z0-9_]*$",
        description="One row per applied tick: price, SMA/EMA per window, VWAP.",
    )
    sessions_table: str = Field(
        "indicator_sessions",
        pattern=r"^[a-z_][a-z0-9_]*$",
        description="One row per symbol and session: its latest (or final) values.",
    )
    history_rows: int = Field(
        500, ge=1, le=100_000, description="Rows of recent history /live and the dashboard get."
    )
    sse_max_s: float = Field(
        3600.0, gt=0, description="An event stream (/live/{symbol}/events) ends after this long."
    )

    @model_validator(mode="after")
    def _check(self) -> StreamSettings:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if min(self.windows) < 1 or (self.ema_spans and min(self.ema_spans) < 1):
            raise ValueError("stream.windows and stream.ema_spans must be positive")
        if len(set(self.windows)) != len(self.windows) or len(set(self.ema_spans)) != len(
            self.ema_spans
        ):
            raise ValueError("stream.windows and stream.ema_spans must not repeat a value")
        try:
            ZoneInfo(self.session_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"stream.session_timezone {self.session_timezone!r} is not a time zone"
            ) from exc
        if self.values_table == self.sessions_table:
            raise ValueError("stream.values_table and stream.sessions_table must differ")
        return self
