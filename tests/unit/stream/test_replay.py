"""Silver rows as ticks: the rows gold keeps, in time order, with stable identities."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from marketlake.stream.replay import bar_ticks, latest_bars, trade_ticks


def bars(rows: list[tuple[str, str, str, float, str]]) -> pl.DataFrame:
    """(symbol, ts_event ISO, session, close, ingest_id) daily bars."""
    return pl.DataFrame(
        {
            "symbol": [r[0] for r in rows],
            "interval": ["1d"] * len(rows),
            "ts_event": [datetime.fromisoformat(r[1]).replace(tzinfo=UTC) for r in rows],
            "session_date": [date.fromisoformat(r[2]) for r in rows],
            "open": [r[3] for r in rows],
            "high": [r[3] + 1 for r in rows],
            "low": [r[3] - 1 for r in rows],
            "close": [r[3] for r in rows],
            "volume": [100.0] * len(rows),
            "vwap": [None] * len(rows),
            "ingest_id": [r[4] for r in rows],
        },
        schema_overrides={"ts_event": pl.Datetime("ns", "UTC"), "vwap": pl.Float64},
    )


def test_the_latest_landed_delivery_wins_per_bar_and_per_session() -> None:
    frame = bars(
        [
            ("AAA", "2024-01-02T14:30", "2024-01-02", 10.0, "old"),
            ("AAA", "2024-01-02T14:30", "2024-01-02", 11.0, "new"),  # same bar, later landing
            ("AAA", "2024-01-03T14:30", "2024-01-03", 12.0, "old"),
            ("AAA", "2024-01-03T05:00", "2024-01-03", 13.0, "new"),  # same session, other time
            ("BBB", "2024-01-02T14:30", "2024-01-02", 50.0, "zzz"),  # landed time unknown
        ]
    )
    kept = latest_bars(frame, {"old": 1, "new": 2})
    assert kept.select("symbol", "close").rows() == [
        ("AAA", 11.0),
        ("BBB", 50.0),
        ("AAA", 13.0),
    ]  # in time order, across symbols
    ticks = list(bar_ticks(kept))
    assert [t.session for t in ticks] == [
        date(2024, 1, 2).toordinal(),
        date(2024, 1, 2).toordinal(),
        date(2024, 1, 3).toordinal(),
    ]
    assert ticks[0].kind == "bar"
    assert ticks[0].high == 12.0


def test_trades_sharing_an_instant_are_numbered_in_silver_order() -> None:
    ts = [datetime(2024, 1, 2, 14, 30, tzinfo=UTC)] * 3 + [datetime(2024, 1, 2, 14, 29, tzinfo=UTC)]
    frame = pl.DataFrame(
        {
            "symbol": ["A", "A", "B", "A"],
            "ts_event": ts,
            "price": [1.0, 2.0, 3.0, 0.5],
            "size": [1.0, 1.0, 1.0, None],
        },
        schema_overrides={"ts_event": pl.Datetime("ns", "UTC")},
    )
    ticks = list(trade_ticks(frame))
    assert [(t.symbol, t.price, t.seq) for t in ticks] == [
        ("A", 0.5, 0),
        ("A", 1.0, 0),
        ("A", 2.0, 1),
        ("B", 3.0, 0),
    ]
    assert ticks[0].size == 0.0
