"""The tick message: round trip, subjects, and the reason given for each kind of bad message."""

from __future__ import annotations

import json
from datetime import date

import pytest

from marketlake.stream.messages import (
    Malformed,
    Tick,
    decode,
    encode,
    subject_token,
    symbol_of_token,
)

TS = 1_704_205_800_000_000_000


def test_trades_and_bars_round_trip_exactly() -> None:
    trade = Tick("BRK.B", TS, 412.3456789012345, 100.0, "trade", 2)
    bar = Tick(
        "AAPL", TS, 185.64, 81234.0, "bar", 0, date(2024, 1, 2).toordinal(), 185.1, 186.0,
        184.9, 185.5,
    )  # fmt: skip
    for tick in (trade, bar):
        back = decode(encode(tick, published_ns=TS + 5), tick.symbol)
        assert back.price == tick.price  # shortest round-trip form: bit for bit
        assert (back.kind, back.seq, back.session, back.size) == (
            tick.kind, tick.seq, tick.session, tick.size
        )  # fmt: skip
        assert back.published_ns == TS + 5
    assert decode(encode(bar)).vwap == 185.5


def test_symbols_with_dots_get_a_subject_token_and_back() -> None:
    assert subject_token("BRK.B") == "BRK~B"
    assert symbol_of_token("BRK~B") == "BRK.B"
    assert subject_token("X:BTCUSD") == "X:BTCUSD"


def body(**fields: object) -> bytes:
    base: dict[str, object] = {"symbol": "AAPL", "ts_event": TS, "price": 10.0, "size": 5}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None}).encode()


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"{not json", "json.invalid"),
        (b"\xff\xfe", "json.invalid"),
        (b"[1, 2]", "json.invalid"),
        (body(v=2), "version.unknown"),
        (body(symbol="a b"), "symbol.invalid"),
        (body(symbol=["AAPL"]), "symbol.invalid"),
        (body(symbol="MSFT"), "symbol.mismatch"),
        (body(ts_event=None), "field.missing"),
        (body(ts_event="2024-01-02"), "field.type"),
        (body(ts_event=-5), "ts.invalid"),
        (body(ts_event=TS * 1000), "ts.invalid"),
        (body(seq=-1), "field.type"),
        (body(price=None), "field.missing"),
        (body(price=True), "field.type"),
        (body(price=0), "price.invalid"),
        (body(price=-3.5), "price.invalid"),
        (body(size=-1), "size.invalid"),
        (body(size="many"), "field.type"),
        (body(kind="quote"), "kind.unknown"),
        (body(session="2024-13-01"), "session.invalid"),
        (
            body(kind="bar", price=None, size=None, open=10, high=9, low=8, close=9.5, volume=1),
            "ohlc.inconsistent",
        ),
        (
            body(kind="bar", price=None, size=None, open=10, high=11, low=9, volume=1),
            "field.missing",
        ),
    ],
)
def test_a_bad_message_names_its_reason(payload: bytes, code: str) -> None:
    with pytest.raises(Malformed) as caught:
        decode(payload, "AAPL")
    assert caught.value.code == code
    assert caught.value.detail  # a sentence for the dead-letter header


def test_integers_are_accepted_where_numbers_are_expected() -> None:
    tick = decode(body(price=10, size=3), "AAPL")
    assert (tick.price, tick.size, tick.kind, tick.seq) == (10.0, 3.0, "trade", 0)
