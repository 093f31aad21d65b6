"""Response models of the live routes (``/live/{symbol}`` and its event stream)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class LiveValues(BaseModel):
    """Indicators after one tick, in the unit the live tables were computed in."""

    ts_event: datetime = Field(description="The tick's time (UTC).")
    session: date = Field(description="Its trading session.")
    price: float = Field(description="Trade price, or the bar's close.")
    size: float = Field(description="Trade size, or the bar's volume.")
    sma: dict[str, float | None] = Field(
        description="SMA per window (key: periods); null until the window is full."
    )
    ema: dict[str, float | None] = Field(
        description="EMA per span, seeded with the SMA of the first n periods; null before."
    )
    vwap: float | None = Field(description="Session VWAP so far; null while volume is 0.")
    stream_seq: int = Field(description="JetStream sequence of the tick.")


class LiveSession(BaseModel):
    """A session's latest values (final once the symbol's next session began)."""

    session: date
    ts_event: datetime = Field(description="Time of the session's latest tick (UTC).")
    close: float = Field(description="The session's latest price (its close once final).")
    volume: float
    sma: dict[str, float | None]
    ema: dict[str, float | None]
    vwap: float | None
    final: bool


class Live(BaseModel):
    """A symbol's live moving averages."""

    symbol: str
    unit: Literal["day", "bar"] = Field(
        description="day: periods are sessions (a session's latest price is its close); "
        "bar: every tick is a period."
    )
    windows: list[int] = Field(description="SMA windows, in periods.")
    ema_spans: list[int] = Field(description="EMA spans, in periods.")
    latest: LiveValues
    ticks: list[LiveValues] = Field(description="Recent ticks, oldest first (`ticks=`).")
    sessions: list[LiveSession] = Field(description="Recent sessions, oldest first (`sessions=`).")
