"""Turning delivered messages into a batch to commit: the rules of which ticks are applied.

For each message, in delivery order:

1. Its stream sequence is at or below the last one PostgreSQL has applied: a redelivery of a
   message already applied. Skipped, counted ``redelivered``.
2. It is malformed (see :mod:`marketlake.stream.messages`): counted ``malformed`` and
   dead-lettered to ``stream.dead_subject`` with the reason. Never blocks the stream.
3. Its ``(symbol, ts_event, seq)`` was applied already (it is the symbol's last applied tick,
   or older and present in the values table): a re-published tick. Counted ``duplicate``, not
   applied again.
4. Otherwise, if it is older than the symbol's last applied tick (or names a session before
   the symbol's current one): a **late** tick. Never applied (the averages only move
   forward); counted ``late`` and, with ``stream.late_ticks: dead-letter``, published to
   ``stream.late_subject`` with the reason.
5. Otherwise it is applied: the symbol's state moves (O(1)), a row of values is added.

:meth:`Processor.apply` decides 1, 2, 5 and the last-tick case of 3 alone; ticks older than
their symbol's last one wait in ``Batch.older`` until :meth:`Processor.settle` is told which of
them the values table holds (one query, and only when there are any).
"""

from __future__ import annotations

from typing import Protocol

from marketlake.config import StreamSettings
from marketlake.stream.broker import delivery_of
from marketlake.stream.messages import Malformed, Tick, decode, symbol_of_token
from marketlake.stream.sessions import SessionClock
from marketlake.stream.sink import Batch, DeadLetter, session_date, spec_of
from marketlake.stream.state import SymbolState

MAX_DETAIL = 400


class Delivered(Protocol):
    """What the processor reads of a delivered message (nats-py's ``Msg`` has it)."""

    subject: str
    data: bytes
    reply: str


class Processor:
    """Applies messages to the per-symbol states (see the module doc).

    Args:
        settings: The stream settings (unit, windows, subjects, late rule).
        states: Every symbol's state, as PostgreSQL holds it; updated in place.
        last_seq: The last stream sequence PostgreSQL has applied.
    """

    def __init__(
        self, settings: StreamSettings, states: dict[str, SymbolState], last_seq: int
    ) -> None:
        self.settings = settings
        self.spec = spec_of(settings)
        self.states = states
        self.last_seq = last_seq
        self.clock = SessionClock(settings.session_timezone, settings.session_rollover)
        self.prefix = len(settings.subject_prefix) + 1
        self.dead_late = settings.late_ticks == "dead-letter"
        self._symbols: dict[str, str] = {}

    def apply(self, messages: list[Delivered]) -> Batch:
        """Apply a batch of messages: the rows, states, counts and dead letters to commit.

        Ticks older than their symbol's last one are left in ``older`` for :meth:`settle`.
        """
        batch = Batch()
        counts, dead, rows, older = batch.counts, batch.dead, batch.values, batch.older
        states, changed, closed = self.states, batch.states, batch.closed
        ends: dict[tuple[str, int], tuple[int, float]] = {}  # a session's last row, volume
        clock, subject_symbol = self.clock, self._subject_symbol
        last_seq = self.last_seq
        for msg in messages:
            sseq, stored_ns = delivery_of(msg.reply)
            if sseq <= last_seq:
                counts["redelivered"] += 1
                continue
            last_seq = sseq
            try:
                tick = decode(msg.data, subject_symbol(msg.subject))
            except Malformed as bad:
                counts["malformed"] += 1
                dead.append(self._dead(self.settings.dead_subject, msg, sseq, bad))
                continue
            symbol, ts, seq = tick.symbol, tick.ts_event, tick.seq
            state = states.get(symbol)
            if state is None:
                state = states[symbol] = SymbolState(self.spec)
            session = tick.session if tick.session is not None else clock(ts)
            last_ts = state.last_ts
            if (
                ts < last_ts
                or (ts == last_ts and seq <= state.last_seq)
                or (session < state.session)
            ):
                if ts == last_ts and seq == state.last_seq:
                    counts["duplicate"] += 1
                else:
                    older.append((msg, sseq, tick, _late(tick, state, session)))
                continue
            previous = state.session
            new_session, values = state.apply(tick, session)
            if new_session and previous >= 0:
                closed.append((symbol, previous))
            day = session_date(session)
            rows.append(
                (symbol, ts, seq, day, tick.price, tick.size, *values, sseq,
                 tick.published_ns or stored_ns)
            )  # fmt: skip
            ends[(symbol, session)] = (len(rows) - 1, state.volume)
            changed[symbol] = state
        for index, volume in ends.values():
            row = rows[index]
            batch.sessions[(row[0], row[3].toordinal())] = (
                row[0], row[3], row[1], row[2], row[4], volume, *row[6:-2], False, row[-2]
            )  # fmt: skip
        counts["applied"] = len(rows)
        batch.first_seq = _first_seq(messages, self.last_seq)
        batch.last_seq = self.last_seq = last_seq
        return batch

    def settle(self, batch: Batch, applied: set[tuple[str, int, int]]) -> None:
        """Count the batch's older ticks as duplicates (their key is in ``applied``: the
        values table or this batch) or late (dead-lettered when the setting says so), then
        freeze the batch's states for writing."""
        keys = {(row[0], row[1], row[2]) for row in batch.values} if batch.older else set()
        for msg, sseq, tick, why in batch.older:
            key = (tick.symbol, tick.ts_event, tick.seq)
            if key in applied or key in keys:
                batch.counts["duplicate"] += 1
                continue
            batch.counts["late"] += 1
            if self.dead_late:
                batch.dead.append(self._dead(self.settings.late_subject, msg, sseq, why))
        batch.older.clear()
        batch.freeze()

    def _subject_symbol(self, subject: str) -> str:
        symbol = self._symbols.get(subject)
        if symbol is None:
            symbol = self._symbols[subject] = symbol_of_token(subject[self.prefix :])
        return symbol

    def _dead(self, subject: str, msg: Delivered, sseq: int, reason: Malformed) -> DeadLetter:
        detail = " ".join(reason.detail.split())[:MAX_DETAIL]
        headers = {
            "Marketlake-Reason": reason.code,
            "Marketlake-Detail": detail,
            "Marketlake-Subject": msg.subject,
            "Marketlake-Stream-Seq": str(sseq),
            "Nats-Msg-Id": f"{self.settings.stream_name}:{sseq}",
        }
        return DeadLetter(subject, msg.data, headers)


def _first_seq(messages: list[Delivered], applied: int) -> int:
    """The first stream sequence of the batch not applied before (0: none)."""
    for msg in messages:
        seq = delivery_of(msg.reply)[0]
        if seq > applied:
            return seq
    return 0


def _late(tick: Tick, state: SymbolState, session: int) -> Malformed:
    if session < state.session:
        return Malformed(
            "tick.late",
            f"session {session_date(session)} of {tick.symbol} is before its current session "
            f"{session_date(state.session)}",
        )
    return Malformed(
        "tick.late",
        f"ts_event {tick.ts_event} seq {tick.seq} of {tick.symbol} is before its last applied "
        f"tick (ts_event {state.last_ts} seq {state.last_seq})",
    )
