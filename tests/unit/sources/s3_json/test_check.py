"""The rules on JSON records: every record ends in silver or quarantine, with its rule id."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest

from marketlake.config import QualitySettings, S3JsonSettings
from marketlake.sources.s3_json import check_anomalies, check_indicators, check_prices
from marketlake.sources.s3_json.parse import Record, read_records

PATTERN = re.compile(S3JsonSettings().symbol_pattern)


def _records(*rows: Any) -> list[Record]:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    return read_records("\n".join(lines).encode(), path="test.json")


def _bar(symbol: str = "MSFT", **over: Any) -> dict[str, Any]:
    return {"symbol": symbol, "timestamp": "2024-01-02T14:00:00Z", "open": 10, "high": 11,
            "low": 9, "close": 10.5, "volume": 100} | over  # fmt: skip


def _prices(*rows: Any, interval: str = "1h") -> Any:
    return check_prices(
        _records(*rows), pattern=PATTERN, interval=interval, source="s3_json", ingest_id="i1",
        quality=QualitySettings(),
    )  # fmt: skip


@pytest.mark.parametrize("symbol", ["BRK.B", "BF-B", "ESZ4", "ESH24", "X:BTCUSD", "C:EURUSD", "A"])
def test_valid_symbols(symbol: str) -> None:
    checked = _prices(_bar(symbol))
    assert checked.rows["symbol"].to_pylist() == [symbol]


@pytest.mark.parametrize("symbol", ["msft", "TOOLONG", "", 42, "MS FT"])
def test_invalid_symbols(symbol: object) -> None:
    checked = _prices(_bar(symbol))  # type: ignore[arg-type]
    assert checked.quarantined["rule_id"].to_pylist() == ["symbol.invalid"]
    assert checked.rows.num_rows == 0


def test_each_price_rule_and_row_accounting() -> None:
    rows = [
        _bar(),
        '{"symbol": "MSFT", "timestamp": ',
        [1, 2],
        {"timestamp": "2024-01-02T14:00:00Z", "open": 1},
        _bar(timestamp="not a time"),
        _bar(close="n/a"),
        _bar(open=None),
        _bar(high=2_000_000, open=1_500_000, close=1_500_000),
        _bar(high=8),
        _bar(volume=-1),
        _bar("IBM", volume=0),
        {"symbol": "IBM", "timestamp": "2024-01-02T15:00:00Z"},
    ]
    checked = _prices(*rows)

    rules = dict(zip(checked.quarantined["source_row"].to_pylist(),
                     checked.quarantined["rule_id"].to_pylist(), strict=True))  # fmt: skip
    assert rules == {
        2: "record.malformed", 3: "record.malformed", 4: "record.malformed", 5: "ts.invalid",
        6: "value.unparseable", 7: "value.missing", 8: "price.range", 9: "ohlc.inconsistent",
        10: "volume.negative", 12: "record.malformed",
    }  # fmt: skip
    assert checked.rows_in == len(rows)
    assert checked.rows["symbol"].to_pylist() == ["IBM", "MSFT"]
    assert checked.rows["quality_flags"].to_pylist() == ["volume.zero", None]
    assert checked.flagged_by_rule == {"volume.zero": 1}
    raw = checked.quarantined["raw"].to_pylist()
    assert raw[0] == '{"symbol": "MSFT", "timestamp":'  # the original line (trimmed)


def test_the_last_of_duplicate_records_wins() -> None:
    checked = _prices(_bar(close=10.1), _bar(close=10.2), _bar(close=10.3))

    assert checked.rows["close"].to_pylist() == [10.3]
    assert checked.quarantined["rule_id"].to_pylist() == ["date.duplicate"] * 2
    assert "record 3" in checked.quarantined["message"][0].as_py()


def test_session_date_is_the_utc_date_for_daily_bars_and_new_york_for_intraday() -> None:
    late = "2024-01-03T02:00:00Z"  # 21:00 the day before in New York
    daily = _prices(_bar(timestamp="2024-01-03"), interval="1d")
    intraday = _prices(_bar(timestamp=late), _bar("X:BTCUSD", timestamp=late), interval="1h")

    assert daily.rows["session_date"].to_pylist() == [date(2024, 1, 3)]
    by_symbol = dict(zip(intraday.rows["symbol"].to_pylist(),
                         intraday.rows["session_date"].to_pylist(), strict=True))  # fmt: skip
    assert by_symbol == {"MSFT": date(2024, 1, 2), "X:BTCUSD": date(2024, 1, 3)}


def test_indicators_are_long_and_bad_values_quarantined_one_by_one() -> None:
    rows = [
        {"symbol": "MSFT", "timestamp": "2024-01-02T14:00:00Z", "RSI": 55, "sma_20": 10.5,
         "macd": -0.2, "macd_signal": -0.1, "sma_200": None},
        {"symbol": "MSFT", "timestamp": "2024-01-02T15:00:00Z", "rsi": 100.5, "ema_12": 0,
         "sma_50": float("inf"), "macd": "x", "interval": "15m"},
        {"symbol": "msft", "timestamp": "2024-01-02T15:00:00Z", "rsi": 50},
        {"symbol": "MSFT", "timestamp": "2024-01-02T16:00:00Z", "sma_200": None},
    ]  # fmt: skip
    checked = check_indicators(
        _records(*rows), pattern=PATTERN, interval="1h", source="s3_json", ingest_id="i1"
    )

    good = sorted((r["name"], r["value"], r["interval"]) for r in checked.rows.to_pylist())
    assert good == [("macd", -0.2, "1h"), ("macd_signal", -0.1, "1h"), ("rsi", 55.0, "1h"),
                    ("sma_20", 10.5, "1h")]  # fmt: skip
    bad = sorted(zip(checked.quarantined["source_row"].to_pylist(),
                     checked.quarantined["rule_id"].to_pylist(), strict=True))  # fmt: skip
    assert bad == [
        (2, "indicator.range"), (2, "indicator.range"), (2, "indicator.range"),
        (2, "value.unparseable"), (3, "symbol.invalid"), (4, "record.malformed"),
    ]  # fmt: skip
    messages = " ".join(checked.quarantined["message"].to_pylist())
    assert "rsi 100.5 not in [0, 100]" in messages
    assert "ema_12 0.0 must be > 0" in messages
    assert "sma_50 inf is not finite" in messages
    assert checked.rows_in == 4 + 6


def test_anomalies_keep_every_other_field_as_details() -> None:
    rows = [
        {"symbol": "ESZ4", "timestamp": 1704204000, "anomaly_type": "volume_spike",
         "value": "7.5", "severity": "high", "window": 20, "threshold": 5},
        {"symbol": "AAPL", "timestamp": "2024-01-02T14:00:00Z", "kind": "gap"},
        {"symbol": "AAPL", "timestamp": "2024-01-02T14:00:00Z", "score": 1},
        {"symbol": "AAPL", "timestamp": "2024-01-02T14:00:00Z", "type": "gap", "score": "high"},
    ]  # fmt: skip
    checked = check_anomalies(_records(*rows), pattern=PATTERN, source="s3_json", ingest_id="i1")

    out = {r["symbol"]: r for r in checked.rows.to_pylist()}
    assert (out["ESZ4"]["kind"], out["ESZ4"]["score"], out["ESZ4"]["severity"]) == (
        "volume_spike", 7.5, "high")  # fmt: skip
    assert json.loads(out["ESZ4"]["details"]) == {"window": 20, "threshold": 5}
    assert (out["AAPL"]["kind"], out["AAPL"]["score"], out["AAPL"]["details"]) == (
        "gap",
        None,
        None,
    )
    assert checked.quarantined["rule_id"].to_pylist() == ["record.malformed", "value.unparseable"]
