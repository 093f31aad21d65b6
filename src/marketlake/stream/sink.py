"""The PostgreSQL side of the stream: live tables, and one transaction per batch.

Tables in schema ``stream.pg_schema`` of ``warehouse.postgres``'s database:

- ``<values_table>`` (``indicator_ticks``): one row per applied tick, keyed by
  ``(symbol, ts_ns, seq)``: ``ts_event``, ``session``, ``price``, ``size``, ``sma_<n>`` per
  window, ``ema_<n>`` per span, ``vwap``, ``stream_seq``, ``published_ns``. The windows are
  columns of one row (not one row per window): a tick is one row to COPY and upsert instead of
  seven, and readers get a tick's values together.
- ``<sessions_table>`` (``indicator_sessions``): one row per ``(symbol, session)``, the values
  after the session's latest tick; ``final`` once the symbol's next session began.
- ``_state``: each symbol's indicator state (bytes, exact) and last applied tick.
- ``_consumer``: one row: the stream and settings the tables were computed with, the last
  applied stream sequence, and counts (applied, duplicate, late, malformed, redelivered).

Each batch is written in one transaction: the values (COPYed in binary into a temporary table
and upserted from it when the batch is large, else one ``insert ... select from unnest(arrays)``),
the sessions and states (``unnest`` upserts), the counts and the last stream sequence, and a
``NOTIFY`` on ``marketlake_<schema>`` that readers (the API's event stream) wait on; everything
after the COPY travels in one pipelined round trip. Rows and states are upserts on their keys
(a tick's row written again changes nothing). The consumer acknowledges the batch to the broker
only after this commit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from marketlake.config import PostgresSettings, StreamSettings
from marketlake.errors import ConfigError, WarehouseError
from marketlake.stream.state import Spec, SymbolState
from marketlake.warehouse.postgres_target import connect, connection_error, ensure_database, where

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

STATE = "_state"
CONSUMER = "_consumer"
COUNTS = ("applied", "duplicate", "late", "malformed", "redelivered")
NOTIFY_SYMBOLS = 200  # more symbols in a batch: the notification names none (= all)
# From this many rows a batch's values are COPYed into a temporary table and upserted from it;
# below, one `insert ... select from unnest(arrays)` in the same round trip as the rest is
# faster (measured: 200 rows 2.6 ms against 3.6 ms; 1,000 rows 8.7 ms by COPY, 9.1 ms not).
COPY_ROWS = 500


def spec_of(settings: StreamSettings) -> Spec:
    """The indicators ``settings`` ask for."""
    return Spec(settings.unit, tuple(settings.windows), tuple(settings.ema_spans))


def indicator_columns(spec: Spec) -> list[str]:
    """``sma_<n>`` per window, ``ema_<n>`` per span, ``vwap``: the order of state values."""
    return [f"sma_{n}" for n in spec.windows] + [f"ema_{n}" for n in spec.spans] + ["vwap"]


def channel(settings: StreamSettings) -> str:
    """The NOTIFY channel of a live schema."""
    return f"marketlake_{settings.pg_schema}"[:63]


def table(settings: StreamSettings, name: str) -> str:
    """A quoted table name of the live schema."""
    return f'"{settings.pg_schema}"."{name}"'


@dataclass(frozen=True)
class DeadLetter:
    """A message to publish to the dead-letter (or late) subject, with its reason."""

    subject: str
    payload: bytes
    headers: dict[str, str]


@dataclass
class Batch:
    """What applying a batch of messages produced, to commit at once."""

    values: list[tuple[Any, ...]] = field(default_factory=list)
    sessions: dict[tuple[str, int], tuple[Any, ...]] = field(default_factory=dict)
    states: dict[str, SymbolState] = field(default_factory=dict)
    closed: list[tuple[str, int]] = field(default_factory=list)  # sessions now final
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    dead: list[DeadLetter] = field(default_factory=list)
    older: list[tuple[Any, int, Any, Any]] = field(default_factory=list)  # (msg, seq, tick, why)
    state_rows: list[tuple[Any, ...]] = field(default_factory=list)
    first_seq: int = 0
    last_seq: int = 0

    def freeze(self) -> None:
        """Serialise the states now: the next batch changes them while this one is written."""
        self.state_rows = [
            (sym, s.to_bytes(), s.last_ts, s.last_seq, s.ticks, self.last_seq)
            for sym, s in self.states.items()
        ]


@dataclass(frozen=True)
class Progress:
    """What PostgreSQL holds about the consumer."""

    last_stream_seq: int
    counts: dict[str, int]
    stream_created: str | None


class Sink:
    """The live tables of one schema, written by one consumer at a time (advisory lock)."""

    def __init__(self, pg: PostgresSettings, settings: StreamSettings) -> None:
        self.pg = pg
        self.settings = settings
        self.spec = spec_of(settings)
        self.indicators = indicator_columns(self.spec)
        self.con: psycopg.Connection | None = None
        self._statements = _Statements(settings, self.indicators)

    def open(self, *, reset: bool = False) -> Progress:
        """Connect, take the schema's lock, create or check the tables.

        Args:
            reset: Drop the live tables first (the consumer then replays the whole stream).

        Raises:
            WarehouseUnavailableError: PostgreSQL does not answer.
            WarehouseError: the login is refused, or another consumer writes this schema.
            ConfigError: the tables were computed with other settings.
        """
        ensure_database(self.pg)
        self.con = connect(self.pg)
        self.con.autocommit = True
        with self._guard():
            return self._prepare(self.con, reset)

    def _prepare(self, con: psycopg.Connection, reset: bool) -> Progress:
        lock = f"marketlake.stream:{self.settings.pg_schema}"
        row = con.execute("select pg_try_advisory_lock(hashtext(%s))", [lock]).fetchone()
        if not row or not row[0]:
            self.close()
            raise WarehouseError(
                f"another consumer is writing the live schema {self.settings.pg_schema!r}",
                hint="stop it first, or give this one another stream.pg_schema",
                server=where(self.pg),
            )
        with con.transaction():
            if reset:
                self._drop(con)
            for statement in self._statements.ddl:
                con.execute(statement)
        for statement in self._statements.temp:
            con.execute(statement)
        return self._progress()

    def _drop(self, con: psycopg.Connection) -> None:
        s = self.settings
        for name in (s.values_table, s.sessions_table, STATE, CONSUMER):
            con.execute(f"drop table if exists {table(s, name)}")
        log.info("dropped the live tables of schema %s", s.pg_schema)

    def _con(self) -> psycopg.Connection:
        if self.con is None:
            raise WarehouseError("the live tables are not open", hint="call Sink.open() first")
        return self.con

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """A broken connection becomes WarehouseUnavailableError (and is dropped)."""
        import psycopg

        try:
            yield
        except psycopg.OperationalError as exc:
            self.close()
            raise connection_error(self.pg, exc) from None

    def progress(self) -> Progress:
        """The last applied stream sequence and the counts (zeros before the first batch)."""
        with self._guard():
            return self._progress()

    def _progress(self) -> Progress:
        row = (
            self._con()
            .execute(
                f"select last_stream_seq, {', '.join(COUNTS)}, stream_created "
                f"from {table(self.settings, CONSUMER)}"
            )
            .fetchone()
        )
        if row is None:
            return Progress(0, dict.fromkeys(COUNTS, 0), None)
        return Progress(int(row[0]), dict(zip(COUNTS, row[1:6], strict=True)), row[6])

    def bind(self, stream: str, created: str | None) -> None:
        """Record (first time) or check (afterwards) what the tables are computed from.

        Raises:
            ConfigError: they were computed from another stream, or with other settings.
        """
        s = self.settings
        mine = {
            "stream": stream, "durable": s.durable, "unit": s.unit, "windows": s.windows,
            "ema_spans": s.ema_spans, "session_timezone": s.session_timezone,
            "session_rollover": s.session_rollover,
        }  # fmt: skip
        con = self._con()
        row = con.execute(
            f"select {', '.join(mine)}, stream_created from {table(s, CONSUMER)}"
        ).fetchone()
        if row is None:
            with con.transaction():
                con.execute(
                    f"insert into {table(s, CONSUMER)} ({', '.join(mine)}, stream_created) "
                    f"values ({', '.join(['%s'] * (len(mine) + 1))})",
                    [*mine.values(), created],
                )
            return
        theirs = dict(zip(mine, row[:-1], strict=True))
        differ = [
            f"{k} {theirs[k]} (tables) vs {v} (settings)" for k, v in mine.items() if theirs[k] != v
        ]
        if created and row[-1] and row[-1] != created:
            differ.append(f"stream {stream} was re-created ({row[-1]} -> {created})")
        if differ:
            raise ConfigError(
                f"the live tables in schema {s.pg_schema!r} were computed otherwise: "
                + "; ".join(differ),
                hint="run `marketlake stream consume --reset` to recompute them from the stream, "
                "or set another stream.pg_schema",
            )

    def load_states(self) -> dict[str, SymbolState]:
        """Every symbol's stored state (what a restarted consumer continues from)."""
        with self._guard():
            rows = self._con().execute(f"select symbol, state from {table(self.settings, STATE)}")
            return {sym: SymbolState.from_bytes(self.spec, bytes(blob)) for sym, blob in rows}

    def applied(self, keys: list[tuple[str, int, int]]) -> set[tuple[str, int, int]]:
        """Which of these (symbol, ts_ns, seq) the values table holds."""
        if not keys:
            return set()
        symbols, ts, seqs = (list(column) for column in zip(*keys, strict=True))
        s = self.settings
        with self._guard():
            rows = self._con().execute(
                f"select v.symbol, v.ts_ns, v.seq from {table(s, s.values_table)} v "
                "join unnest(%s::text[], %s::bigint[], %s::bigint[]) as k(symbol, ts_ns, seq) "
                "using (symbol, ts_ns, seq)",
                [symbols, ts, seqs],
            )
            return {(str(a), int(b), int(c)) for a, b, c in rows}

    def write(self, batch: Batch) -> None:
        """Commit one batch (see the module doc).

        Raises:
            WarehouseUnavailableError: the connection broke; nothing of the batch is kept.
            WarehouseError: PostgreSQL refused a statement; nothing of the batch is kept.
        """
        import psycopg

        con = self._con()
        st = self._statements
        try:
            with con.transaction():
                cur = con.cursor()
                big = len(batch.values) >= COPY_ROWS
                if big:
                    _copy(cur, st.copy_values, st.value_types, batch.values)
                with con.pipeline():  # the statements below travel together: one round trip
                    if big:
                        cur.execute(st.upsert_values)
                    elif batch.values:
                        cur.execute(st.insert_values, _columns(batch.values))
                    if batch.sessions:
                        cur.execute(st.upsert_sessions, _columns(batch.sessions.values()))
                    if batch.closed:
                        symbols, days = zip(*batch.closed, strict=True)
                        cur.execute(st.finalize, [list(symbols), [session_date(d) for d in days]])
                    if batch.state_rows:
                        cur.execute(st.upsert_states, _columns(batch.state_rows))
                    c = batch.counts
                    cur.execute(st.progress, [batch.last_seq, *(c[k] for k in COUNTS)])
                    cur.execute("select pg_notify(%s, %s)", [channel(self.settings), _note(batch)])
        except psycopg.OperationalError as exc:
            self.close()
            raise connection_error(self.pg, exc) from None
        except psycopg.Error as exc:
            raise WarehouseError(
                f"PostgreSQL refused a batch of the live tables: {str(exc).strip()}",
                hint="see the PostgreSQL log; the batch was not applied or acknowledged",
                server=where(self.pg),
            ) from None

    def close(self) -> None:
        """Close the connection (releasing the schema's lock)."""
        if self.con is not None:
            try:
                self.con.close()
            finally:
                self.con = None


def _columns(rows: Iterable[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows as one list per column (the arrays an ``unnest`` insert takes)."""
    return [list(column) for column in zip(*rows, strict=True)]


def _copy(cur: Any, statement: str, types: list[str], rows: Any) -> None:
    with cur.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _note(batch: Batch) -> str:
    symbols = sorted({row[0] for row in batch.sessions.values()})
    named = symbols if len(symbols) <= NOTIFY_SYMBOLS else None
    return json.dumps({"first": batch.first_seq, "last": batch.last_seq, "symbols": named})


def session_date(ordinal: int, _cache: dict[int, date] = {}) -> date:  # noqa: B006 - a cache
    """The ``date`` of a session ordinal (cached: a batch has few sessions)."""
    day = _cache.get(ordinal)
    if day is None:
        day = _cache[ordinal] = date.fromordinal(ordinal)
    return day


class _Statements:
    """The SQL of one live schema, built once."""

    def __init__(self, s: StreamSettings, indicators: list[str]) -> None:
        values, sessions = table(s, s.values_table), table(s, s.sessions_table)
        state, consumer = table(s, STATE), table(s, CONSUMER)
        floats = [f"{c} double precision" for c in indicators]
        value_cols = ["symbol", "ts_ns", "seq", "session", "price", "size", *indicators,
                      "stream_seq", "published_ns"]  # fmt: skip
        session_cols = ["symbol", "session", "ts_ns", "seq", "close", "volume", *indicators,
                        "final", "stream_seq"]  # fmt: skip
        state_cols = ["symbol", "state", "last_ts_ns", "last_seq", "ticks", "stream_seq"]
        self.value_cols = value_cols
        n = len(indicators)
        self.value_types = ["text", "int8", "int8", "date", "float8", "float8"]
        self.value_types += ["float8"] * n + ["int8", "int8"]
        self.session_types = ["text", "date", "int8", "int8", "float8", "float8"]
        self.session_types += ["float8"] * n + ["bool", "int8"]
        self.state_types = ["text", "bytea", "int8", "int8", "int8", "int8"]
        ts = "to_timestamp(div(ts_ns, 1000)::double precision / 1e6)"
        self.ddl = [
            f'create schema if not exists "{s.pg_schema}"',
            f"create table if not exists {values} (symbol text not null, ts_ns bigint not null, "
            "seq bigint not null, ts_event timestamptz not null, session date not null, "
            f"price double precision not null, size double precision not null, "
            f"{', '.join(floats)}, stream_seq bigint not null, published_ns bigint, "
            "primary key (symbol, ts_ns, seq))",
            f"create table if not exists {sessions} (symbol text not null, session date not null, "
            "ts_ns bigint not null, seq bigint not null, ts_event timestamptz not null, "
            "close double precision not null, volume double precision not null, "
            f"{', '.join(floats)}, final boolean not null, stream_seq bigint not null, "
            "primary key (symbol, session))",
            f"create table if not exists {state} (symbol text primary key, state bytea not null, "
            "last_ts_ns bigint not null, last_seq bigint not null, ticks bigint not null, "
            "stream_seq bigint not null)",
            f"create table if not exists {consumer} (stream text not null, durable text not null, "
            "unit text not null, windows integer[] not null, ema_spans integer[] not null, "
            "session_timezone text not null, session_rollover text not null, "
            "stream_created text, last_stream_seq bigint not null default 0, "
            + ", ".join(f"{k} bigint not null default 0" for k in COUNTS)
            + ", batches bigint not null default 0, "
            "created_at timestamptz not null default now(), updated_at timestamptz)",
        ]
        self.temp = [
            f"create temp table if not exists _ml_values ({_typed(value_cols, self.value_types)})"
            " on commit delete rows",
        ]
        self.copy_values = f"copy _ml_values ({', '.join(value_cols)}) from stdin (format binary)"
        value_key = ["symbol", "ts_ns", "seq"]
        self.upsert_values = _upsert(values, _select("_ml_values", value_cols), value_cols,
                                     value_key, ts)  # fmt: skip
        self.insert_values = _upsert(values, _unnest(value_cols, self.value_types), value_cols,
                                     value_key, ts)  # fmt: skip
        self.upsert_sessions = _upsert(sessions, _unnest(session_cols, self.session_types),
                                       session_cols, ["symbol", "session"], ts)  # fmt: skip
        self.upsert_states = _upsert(state, _unnest(state_cols, self.state_types), state_cols,
                                     ["symbol"], None)  # fmt: skip
        self.finalize = (
            f"update {sessions} set final = true from unnest(%s::text[], %s::date[]) "
            f"as closed(symbol, session) where {sessions}.symbol = closed.symbol "
            f"and {sessions}.session = closed.session"
        )
        self.progress = (
            f"update {consumer} set last_stream_seq = %s, "
            + ", ".join(f"{k} = {k} + %s" for k in COUNTS)
            + ", batches = batches + 1, updated_at = now()"
        )


def _typed(columns: list[str], types: list[str]) -> str:
    return ", ".join(f"{c} {t}" for c, t in zip(columns, types, strict=True))


def _select(temp: str, columns: list[str]) -> str:
    return f"(select {', '.join(columns)} from {temp}) as rows"


def _unnest(columns: list[str], types: list[str]) -> str:
    arrays = ", ".join(f"%b::{t}[]" for t in types)
    return f"unnest({arrays}) as rows({', '.join(columns)})"


def _upsert(target: str, source: str, columns: list[str], key: list[str], ts: str | None) -> str:
    """``insert ... select ... from <source> on conflict (<key>) do update`` (``ts``: the
    expression of ``ts_event``)."""
    names = [*columns, "ts_event"] if ts else columns
    select = [*columns, ts] if ts else columns
    updates = ", ".join(f"{c} = excluded.{c}" for c in names if c not in key)
    return (
        f"insert into {target} ({', '.join(names)}) select {', '.join(select)} from {source} "
        f"on conflict ({', '.join(key)}) do update set {updates}"
    )
