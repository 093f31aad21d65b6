"""Live indicator values of a symbol, read from the stream's PostgreSQL tables.

One place the API (``/live/{symbol}``, its event stream) and the dashboard read the live
moving averages from. :func:`read_live` gives the latest values and recent history;
:func:`read_progress` the consumer's committed position and counts; :class:`LiveWatcher`
waits for the consumer's commits (``LISTEN`` on the channel the sink notifies) for event
streams. The unit, windows and spans are those the tables were computed with (recorded by the
consumer), not this process's settings.

Nothing streamed yet (no database, no live tables, no row of the symbol) reads as ``None``;
PostgreSQL not answering raises :class:`~marketlake.errors.WarehouseUnavailableError`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from marketlake.config import Settings, get_settings
from marketlake.errors import WarehouseError
from marketlake.stream.sink import CONSUMER, COUNTS, channel, table
from marketlake.warehouse.postgres_target import connect

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveConfig:
    """What the live tables were computed with."""

    unit: str
    windows: list[int]
    ema_spans: list[int]

    @property
    def indicators(self) -> list[str]:
        """The indicator columns: ``sma_<n>``, ``ema_<n>``, ``vwap``."""
        return [f"sma_{n}" for n in self.windows] + [f"ema_{n}" for n in self.ema_spans] + ["vwap"]


@dataclass(frozen=True)
class LiveView:
    """A symbol's live values.

    Attributes:
        symbol: The symbol.
        config: Unit, SMA windows and EMA spans of the values.
        latest: The latest applied tick: ``ts_event`` (UTC), ``session``, ``price``, ``size``,
            ``sma_<n>``, ``ema_<n>``, ``vwap`` (None where not defined yet), ``stream_seq``.
        ticks: The most recent ticks, oldest first (the same columns).
        sessions: The most recent sessions, oldest first: ``session``, ``ts_event`` of its
            latest tick, ``close``, ``volume``, the indicators, ``final``.
    """

    symbol: str
    config: LiveConfig
    latest: dict[str, Any]
    ticks: pl.DataFrame
    sessions: pl.DataFrame


TICK_COLUMNS = ["ts_event", "session", "price", "size"]
SESSION_COLUMNS = ["session", "ts_event", "close", "volume"]


def _open(settings: Settings) -> psycopg.Connection | None:
    """A connection, None when the database does not exist (nothing streamed yet)."""
    try:
        con = connect(settings.warehouse.postgres)
    except WarehouseError as exc:
        if "does not exist" in exc.message:
            return None
        raise
    con.autocommit = True
    return con


def _config(con: psycopg.Connection, settings: Settings) -> LiveConfig | None:
    s = settings.stream
    found = con.execute("select to_regclass(%s)", [table(s, CONSUMER)]).fetchone()
    if found is None or found[0] is None:
        return None
    row = con.execute(f"select unit, windows, ema_spans from {table(s, CONSUMER)}").fetchone()
    return None if row is None else LiveConfig(row[0], list(row[1]), list(row[2]))


def read_live(
    symbol: str, *, history: int | None = None, settings: Settings | None = None
) -> LiveView | None:
    """The latest values and recent history of ``symbol``.

    Args:
        symbol: The symbol.
        history: Ticks and sessions of history (default ``stream.history_rows``; 0: none).
        settings: Defaults to the process settings.

    Returns:
        The view, or None when nothing has been streamed for the symbol.

    Raises:
        WarehouseUnavailableError: PostgreSQL does not answer.
        WarehouseError: the login is refused.
    """
    settings = settings or get_settings()
    rows = settings.stream.history_rows if history is None else history
    con = _open(settings)
    if con is None:
        return None
    try:
        return _read(con, settings, symbol, rows)
    finally:
        con.close()


def _read(con: psycopg.Connection, settings: Settings, symbol: str, rows: int) -> LiveView | None:
    s = settings.stream
    config = _config(con, settings)
    if config is None:
        return None
    tick_cols = [*TICK_COLUMNS, *config.indicators, "stream_seq"]
    ticks = _frame(
        con,
        f"select {', '.join(tick_cols)} from {table(s, s.values_table)} where symbol = %s "
        "order by ts_ns desc, seq desc limit %s",
        [symbol, max(rows, 1)],
        tick_cols,
    )
    if ticks.is_empty():
        return None
    session_cols = [*SESSION_COLUMNS, *config.indicators, "final"]
    sessions = _frame(
        con,
        f"select {', '.join(session_cols)} from {table(s, s.sessions_table)} "
        "where symbol = %s order by session desc limit %s",
        [symbol, rows],
        session_cols,
    )
    latest = ticks.row(0, named=True)
    return LiveView(symbol, config, latest, ticks.head(rows).reverse(), sessions.reverse())


def live_symbols(settings: Settings | None = None) -> list[str]:
    """The symbols with live values, sorted (empty when nothing was streamed).

    Raises:
        WarehouseUnavailableError: PostgreSQL does not answer.
    """
    settings = settings or get_settings()
    s = settings.stream
    con = _open(settings)
    if con is None:
        return []
    try:
        if _config(con, settings) is None:
            return []
        rows = con.execute(f"select symbol from {table(s, '_state')} order by symbol").fetchall()
    finally:
        con.close()
    return [str(r[0]) for r in rows]


@dataclass(frozen=True)
class LiveProgress:
    """How far the consumer has committed, and what it counted.

    Attributes:
        stream: The JetStream stream it consumes.
        durable: Its durable consumer name.
        last_stream_seq: The last stream sequence committed (0 before the first batch).
        counts: ``applied``, ``duplicate``, ``late``, ``malformed``, ``redelivered`` ticks.
        batches: Transactions committed.
        updated_at: When the last batch was committed (None before the first).
    """

    stream: str
    durable: str
    last_stream_seq: int
    counts: dict[str, int]
    batches: int
    updated_at: datetime | None


def read_progress(settings: Settings | None = None) -> LiveProgress | None:
    """The consumer's committed progress and counts, from PostgreSQL (no broker needed).

    Args:
        settings: Defaults to the process settings.

    Returns:
        The progress, or None when no consumer has created the live tables yet.

    Raises:
        WarehouseUnavailableError: PostgreSQL does not answer.
        WarehouseError: the login is refused.
    """
    settings = settings or get_settings()
    con = _open(settings)
    if con is None:
        return None
    try:
        if _config(con, settings) is None:
            return None
        row = con.execute(
            f"select stream, durable, last_stream_seq, {', '.join(COUNTS)}, batches, updated_at "
            f"from {table(settings.stream, CONSUMER)}"
        ).fetchone()
    finally:
        con.close()
    if row is None:
        return None
    n = len(COUNTS)
    counts = {k: int(v) for k, v in zip(COUNTS, row[3 : 3 + n], strict=True)}
    return LiveProgress(str(row[0]), str(row[1]), int(row[2]), counts, int(row[3 + n]), row[4 + n])


def _frame(
    con: psycopg.Connection, sql: str, params: list[Any], columns: list[str]
) -> pl.DataFrame:
    rows = con.execute(sql, params).fetchall()
    schema: dict[str, Any] = {}
    for name in columns:
        if name == "ts_event":
            schema[name] = pl.Datetime("us", "UTC")
        elif name == "session":
            schema[name] = pl.Date
        elif name in ("stream_seq",):
            schema[name] = pl.Int64
        elif name == "final":
            schema[name] = pl.Boolean
        else:
            schema[name] = pl.Float64
    return pl.DataFrame(rows, schema=schema, orient="row")


class LiveWatcher:
    """Waits for commits touching one symbol (``LISTEN`` on the sink's channel).

    Use as a context manager; every method blocks for at most the time it is given.
    """

    def __init__(self, symbol: str, settings: Settings | None = None) -> None:
        self.symbol = symbol
        self.settings = settings or get_settings()
        self.con: psycopg.Connection | None = None

    def __enter__(self) -> LiveWatcher:
        self.con = connect(self.settings.warehouse.postgres)
        self.con.autocommit = True
        self.con.execute(f'listen "{channel(self.settings.stream)}"')
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop listening (closes the connection)."""
        if self.con is not None:
            self.con.close()
            self.con = None

    def wait(self, timeout: float) -> bool:
        """True when a commit touched the symbol within ``timeout`` seconds."""
        assert self.con is not None, "use LiveWatcher as a context manager"
        touched = False
        for note in self.con.notifies(timeout=timeout, stop_after=1):
            touched = touched or _names(note.payload, self.symbol)
        # Drain what else arrived, without waiting.
        for note in self.con.notifies(timeout=0):
            touched = touched or _names(note.payload, self.symbol)
        return touched

    def read(self) -> LiveView | None:
        """The symbol's latest values (no history), on the listening connection."""
        assert self.con is not None, "use LiveWatcher as a context manager"
        return _read(self.con, self.settings, self.symbol, 0)


def _names(payload: str, symbol: str) -> bool:
    try:
        symbols = json.loads(payload).get("symbols")
    except (ValueError, AttributeError):
        return True
    return symbols is None or symbol in symbols
