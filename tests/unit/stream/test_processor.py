"""Which delivered messages are applied, skipped, counted duplicate, late or dead-lettered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from marketlake.config import StreamSettings
from marketlake.stream.messages import Tick, encode
from marketlake.stream.processor import Processor
from marketlake.stream.sink import Batch

TS = 1_704_205_800_000_000_000
DAY = 86_400 * 10**9


@dataclass
class Msg:
    subject: str
    data: bytes
    reply: str


class Feed:
    """Messages as the broker delivers them, numbered by stream sequence."""

    def __init__(self) -> None:
        self.seq = 0

    def tick(self, symbol: str, ts: int, price: float, seq: int = 0) -> Msg:
        return self.raw(symbol, encode(Tick(symbol, ts, price, 10.0, "trade", seq)))

    def raw(self, symbol: str, data: bytes) -> Msg:
        self.seq += 1
        reply = f"$JS.ACK.TICKS.d.1.{self.seq}.{self.seq}.{TS + self.seq}.0"
        return Msg(f"marketlake.ticks.{symbol.replace('.', '~')}", data, reply)


def processor(**settings: object) -> Processor:
    return Processor(StreamSettings(unit="bar", windows=[2], ema_spans=[2], **settings), {}, 0)


def settle(
    proc: Processor, msgs: list[Msg], applied: frozenset[tuple[str, int, int]] = frozenset()
) -> Batch:
    batch = proc.apply(msgs)  # type: ignore[arg-type]
    proc.settle(batch, set(applied))
    return batch


def test_ticks_in_order_are_applied_with_their_values() -> None:
    feed, proc = Feed(), processor()
    batch = settle(proc, [feed.tick("BRK.B", TS, 10.0), feed.tick("BRK.B", TS + 1, 12.0)])
    assert batch.counts["applied"] == 2
    assert [row[0] for row in batch.values] == ["BRK.B", "BRK.B"]
    sma_2 = [row[6] for row in batch.values]
    assert sma_2 == [None, 11.0]
    assert (batch.first_seq, batch.last_seq) == (1, 2)
    assert len(batch.state_rows) == 1  # one symbol's state, frozen for the commit


def test_redelivered_messages_at_or_below_the_applied_sequence_are_skipped() -> None:
    feed = Feed()
    msgs = [feed.tick("A", TS + i, 10.0 + i) for i in range(4)]
    proc = Processor(StreamSettings(unit="bar", windows=[2], ema_spans=[]), {}, 2)
    batch = settle(proc, msgs)
    assert batch.counts["redelivered"] == 2
    assert batch.counts["applied"] == 2


def test_malformed_messages_are_dead_lettered_with_the_reason_and_do_not_block() -> None:
    feed, proc = Feed(), processor()
    batch = settle(
        proc,
        [feed.raw("A", b"{oops"), feed.raw("A", b'{"symbol": "B", "ts_event": 1, "price": 1, '
                                           b'"size": 1}'), feed.tick("A", TS, 10.0)],
    )  # fmt: skip
    assert batch.counts["malformed"] == 2
    assert batch.counts["applied"] == 1
    reasons = [d.headers["Marketlake-Reason"] for d in batch.dead]
    assert reasons == ["json.invalid", "symbol.mismatch"]
    first = batch.dead[0]
    assert first.subject == "marketlake.dead.ticks"
    assert first.payload == b"{oops"
    assert first.headers["Marketlake-Stream-Seq"] == "1"
    assert first.headers["Nats-Msg-Id"].endswith(":1")  # a retried dead letter is stored once


def test_late_and_duplicate_ticks_are_told_apart_and_never_applied() -> None:
    feed, proc = Feed(), processor()
    settle(proc, [feed.tick("A", TS + 10, 10.0), feed.tick("A", TS + 20, 11.0)])
    batch = settle(
        proc,
        [
            feed.tick("A", TS + 20, 11.0),  # the last applied tick again
            feed.tick("A", TS + 10, 10.0),  # applied earlier: in the values table
            feed.tick("A", TS + 15, 9.0),  # never seen, older than the last: late
            feed.tick("A", TS + 20, 11.5, seq=1),  # same instant, next seq: applied
        ],
        applied=frozenset({("A", TS + 10, 0)}),
    )
    assert batch.counts == {
        "applied": 1, "duplicate": 2, "late": 1, "malformed": 0, "redelivered": 0
    }  # fmt: skip
    (late,) = batch.dead
    assert late.subject == "marketlake.late.ticks"
    assert late.headers["Marketlake-Reason"] == "tick.late"
    assert "before its last applied tick" in late.headers["Marketlake-Detail"]


def test_a_tick_published_twice_in_one_batch_is_applied_once() -> None:
    feed, proc = Feed(), processor()
    batch = settle(
        proc,
        [feed.tick("A", TS, 10.0), feed.tick("A", TS + 1, 11.0), feed.tick("A", TS, 10.0)],
    )
    assert (batch.counts["applied"], batch.counts["duplicate"], batch.counts["late"]) == (2, 1, 0)


def test_late_ticks_are_only_counted_when_the_setting_says_so() -> None:
    feed, proc = Feed(), processor(late_ticks="count")
    batch = settle(proc, [feed.tick("A", TS + 5, 10.0), feed.tick("A", TS, 9.0)])
    assert batch.counts["late"] == 1
    assert batch.dead == []


@pytest.mark.parametrize("unit", ["day", "bar"])
def test_a_new_session_makes_the_previous_one_final(unit: str) -> None:
    feed = Feed()
    proc = Processor(
        StreamSettings(unit=unit, windows=[2], ema_spans=[], session_timezone="UTC"), {}, 0
    )
    batch = settle(
        proc,
        [
            feed.tick("A", TS, 10.0),
            feed.tick("A", TS + 60 * 10**9, 11.0),
            feed.tick("A", TS + DAY, 12.0),
        ],
    )
    day = date(2024, 1, 2).toordinal()
    assert batch.closed == [("A", day)]
    assert set(batch.sessions) == {("A", day), ("A", day + 1)}
    # The session row holds the values after its latest tick.
    assert batch.sessions[("A", day)][4] == 11.0
    # In day unit, SMA(2) of the new session = mean of yesterday's close and today's price.
    assert batch.values[-1][6] == (11.0 + 12.0) / 2
