"""Parsing Alpha Vantage replies: classification, exact numbers, bar times, partial weeks."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketlake.errors import SourceError
from marketlake.sources.alphavantage import classify_reply, parse_series, read_series_info
from marketlake.sources.alphavantage.parse import parse_number, week_is_over
from marketlake.sources.alphavantage.sample import (
    ERROR_MESSAGE,
    INFORMATION_BURST,
    INFORMATION_DEMO_KEY,
    INFORMATION_PREMIUM,
    NOTE_RATE_LIMIT,
    daily_bars,
    daily_payload,
    information_daily_limit,
    payload_bytes,
    weekly_adjusted_payload,
)
from marketlake.sources.csv_daily import parse_daily_csv


def _entry(o: str, h: str, lo: str, c: str, v: str) -> dict[str, str]:
    return {"1. open": o, "2. high": h, "3. low": lo, "4. close": c, "5. volume": v}


def _daily(entries: dict[str, Any], *, zone: str = "US/Eastern") -> bytes:
    meta = {
        "1. Information": "Daily Prices (open, high, low, close) and Volumes",
        "2. Symbol": "IBM",
        "3. Last Refreshed": max(entries),
        "4. Output Size": "Compact",
        "5. Time Zone": zone,
    }
    return json.dumps({"Meta Data": meta, "Time Series (Daily)": entries}).encode()


def _weekly(last_refreshed: str, days: list[str]) -> bytes:
    entry = {
        "1. open": "10.0",
        "2. high": "11.0",
        "3. low": "9.0",
        "4. close": "10.5",
        "5. adjusted close": "10.4",
        "6. volume": "1000",
        "7. dividend amount": "0.0000",
    }
    meta = {
        "1. Information": "Weekly Adjusted Prices and Volumes",
        "2. Symbol": "IBM",
        "3. Last Refreshed": last_refreshed,
        "4. Time Zone": "US/Eastern",
    }
    series = dict.fromkeys(days, entry)
    return json.dumps({"Meta Data": meta, "Weekly Adjusted Time Series": series}).encode()


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (ERROR_MESSAGE, "invalid"),
        (INFORMATION_PREMIUM, "refused"),
        (INFORMATION_DEMO_KEY, "refused"),
        (NOTE_RATE_LIMIT, "rate_limit"),
        (INFORMATION_BURST, "rate_limit"),
        (information_daily_limit("K"), "daily_limit"),
        ({}, "unknown"),
    ],
)
def test_errors_in_disguise_are_recognised(body: dict[str, str], kind: str) -> None:
    assert classify_reply(json.dumps(body).encode()).kind == kind


def test_a_series_and_non_json_are_told_apart() -> None:
    assert classify_reply(_daily({"2024-01-02": _entry("1", "2", "1", "2", "3")})).kind == "data"
    reply = classify_reply(b"<html>Bad gateway</html>")
    assert reply.kind == "unknown"
    assert "not JSON" in reply.message


@given(
    st.integers(0, 12).flatmap(
        lambda p: st.decimals(allow_nan=False, allow_infinity=False, places=p)
    )
)
def test_numbers_parse_exactly(value: Decimal) -> None:
    text = str(value)
    assert parse_number(text) == float(Decimal(text))


@pytest.mark.parametrize(
    "text", ["NaN", "nan", "Infinity", "-inf", "1e999", "", " ", "1_000", "12.5x", "1,234", "0x1A"]
)
def test_non_decimal_text_never_passes(text: str) -> None:
    assert parse_number(text) is None


def test_decimal_text_is_rounded_once() -> None:
    # 0.1 + 0.2 style error cannot creep in: the text is the value.
    assert parse_number("0.3") == 0.3
    assert parse_number("123.4567") == float(Decimal("123.4567"))
    assert parse_number("1e3") == 1000.0


def test_bad_entries_keep_their_place_with_a_rule() -> None:
    data = _daily(
        {
            "2024-01-05": _entry("10", "11", "9", "10.5", "100"),
            "2024-01-04": _entry("10", "11", "9", "NaN", "100"),
            "2024-02-30": _entry("10", "11", "9", "10.5", "100"),
            "2024-01-03": {"1. open": "10", "2. high": "11"},
            "2024-01-02": "not an entry",
        }
    )

    rows = parse_series(data).rows

    assert rows["source_row"].to_list() == [1, 2, 3, 4, 5]
    assert rows["parse_rule"].to_list() == [
        None,
        "value.unparseable",
        "date.invalid",
        "record.malformed",
        "record.malformed",
    ]
    assert '4. close="NaN"' in rows["parse_message"][1]
    assert "lacks 3. low, 4. close, 5. volume" in rows["parse_message"][3]
    assert json.loads(rows["raw"][4]) == {"2024-01-02": "not an entry"}
    assert json.loads(rows["raw"][1]) == {"2024-01-04": _entry("10", "11", "9", "NaN", "100")}
    assert rows["session_date"][3] == date(2024, 1, 3)  # the date stays with the bad entry


def test_a_duplicated_date_is_kept_twice_for_validation() -> None:
    entry = json.dumps(_entry("10", "11", "9", "10.5", "100"))
    meta = json.dumps({"2. Symbol": "IBM", "3. Last Refreshed": "2024-01-02"})
    data = (
        f'{{"Meta Data": {meta}, "Time Series (Daily)": '
        f'{{"2024-01-02": {entry}, "2024-01-02": {entry}}}}}'
    ).encode()

    rows = parse_series(data).rows

    assert rows.height == 2
    assert rows["session_date"].to_list() == [date(2024, 1, 2)] * 2


def test_daily_bars_have_the_csv_sources_bar_key() -> None:
    """The same day from Alpha Vantage and from a daily CSV is the same (ts_event, session_date)."""
    days = ["2024-03-08", "2024-03-11", "2024-11-01", "2024-11-04"]  # around both DST changes
    data = _daily({d: _entry("10", "11", "9", "10.5", "100") for d in days})
    csv = "Date,Open,High,Low,Close,Adj Close,Volume\n" + "".join(
        f"{d},10,11,9,10.5,10.5,100\n" for d in days
    )

    av = parse_series(data).rows.sort("session_date")
    yahoo = parse_daily_csv(csv.encode(), symbol="IBM").rows.sort("session_date")

    assert av.select("ts_event", "session_date").equals(yahoo.select("ts_event", "session_date"))
    assert av["ts_event"].dt.hour().to_list() == [5, 4, 4, 5]  # New York midnight in UTC


def test_weekly_bars_start_on_monday_and_keep_the_vendors_date() -> None:
    data = _weekly("2024-03-15", ["2024-03-15", "2024-03-08", "2024-03-28"])  # 28th: Thursday

    rows = parse_series(data).rows.sort("session_date")

    assert rows["session_date"].to_list() == [
        date(2024, 3, 8),
        date(2024, 3, 15),
        date(2024, 3, 28),
    ]
    starts = rows["ts_event"].dt.convert_time_zone("America/New_York")
    assert starts.dt.date().to_list() == [date(2024, 3, 4), date(2024, 3, 11), date(2024, 3, 25)]
    assert starts.dt.hour().to_list() == [0, 0, 0]


@pytest.mark.parametrize(
    ("last_refreshed", "partial"),
    [
        ("2024-03-13", True),  # Wednesday: the week goes on
        ("2024-03-15", False),  # Friday, a date alone: after the close
        ("2024-03-15 15:59:00", True),  # Friday before the close
        ("2024-03-15 16:00:00", False),
        ("2024-03-18", False),  # a later week
    ],
)
def test_only_an_unfinished_newest_week_is_flagged(last_refreshed: str, partial: bool) -> None:
    day = min(date(2024, 3, 15), date.fromisoformat(last_refreshed[:10])).isoformat()
    data = _weekly(last_refreshed, [day, "2024-03-08"])

    rows = parse_series(data).rows

    assert rows["partial_week"].to_list() == [partial, False]
    assert week_is_over(date.fromisoformat(day), last_refreshed) is not partial


def test_series_info_comes_from_meta_data() -> None:
    bars = daily_bars("MSFT", date(2024, 1, 2), date(2024, 1, 31))

    daily = read_series_info(payload_bytes(daily_payload("MSFT", bars)))
    weekly = read_series_info(payload_bytes(weekly_adjusted_payload("MSFT", bars)))

    assert (daily.function, daily.symbol, daily.output_size, daily.timezone) == (
        "TIME_SERIES_DAILY",
        "MSFT",
        "full",
        "America/New_York",
    )
    assert (weekly.function, weekly.output_size) == ("TIME_SERIES_WEEKLY_ADJUSTED", None)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (json.dumps(ERROR_MESSAGE).encode(), "an error reply \\(Invalid API call"),
        (b"[1, 2]", "not a JSON object"),
        (b"{", "not a JSON reply"),
        (_daily({"2024-01-02": _entry("1", "2", "1", "2", "3")}, zone="Mars/Base"), "time zone"),
    ],
)
def test_a_reply_that_is_not_a_series_is_a_source_error(data: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse_series(data, path="x.json")


def test_weekly_sample_columns_are_parsed() -> None:
    bars = daily_bars("IBM", date(2024, 1, 2), date(2024, 3, 1))
    payload = weekly_adjusted_payload("IBM", bars, dividend=1.5)

    rows = parse_series(payload_bytes(payload)).rows
    series = payload["Weekly Adjusted Time Series"]

    expected = pl.Series([float(e["7. dividend amount"]) for e in series.values()])
    assert rows["dividend"].to_list() == expected.to_list()
    assert rows["adj_close"].to_list() == [float(e["5. adjusted close"]) for e in series.values()]
    assert 1.5 in rows["dividend"].to_list()
