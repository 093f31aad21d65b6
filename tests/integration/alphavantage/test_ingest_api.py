"""`ingest_alphavantage` against a real local HTTP server replaying recorded replies."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from marketlake.config import Settings
from marketlake.errors import ConfigError
from marketlake.ingest_alphavantage import CallBudget, ingest_alphavantage, rebuild_alphavantage
from marketlake.lake import Lake, open_lake
from marketlake.lake.bronze import read_manifest
from marketlake.lake.silver import read_dataset, read_quarantine, read_records
from marketlake.sources.alphavantage.sample import (
    ERROR_MESSAGE,
    INFORMATION_DEMO_KEY,
    INFORMATION_PREMIUM,
    NOTE_RATE_LIMIT,
    daily_bars,
    daily_payload,
    information_daily_limit,
    weekly_adjusted_payload,
)
from tests.integration.alphavantage.vendor import KEY, Vendor, reply, serve_vendor, with_vendor

pytestmark = pytest.mark.integration

DAILY = "TIME_SERIES_DAILY"
WEEKLY = "TIME_SERIES_WEEKLY_ADJUSTED"


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    with serve_vendor() as v:
        yield v


def _daily(symbol: str, end: date = date(2024, 3, 20)) -> dict[str, object]:
    return daily_payload(symbol, daily_bars(symbol, date(2024, 1, 2), end))


def _bars(lake: Lake) -> pl.DataFrame:
    frame = pl.from_arrow(read_dataset(lake, "bars"))
    assert isinstance(frame, pl.DataFrame)
    return frame


def _lake_bytes(settings: Settings) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in settings.data_dir.rglob("*") if p.is_file()]


def test_daily_series_land_in_bronze_and_silver(settings: Settings, vendor: Vendor) -> None:
    ibm, msft = _daily("IBM"), _daily("MSFT")
    vendor.on(DAILY, "IBM", reply(ibm))
    vendor.on(DAILY, "MSFT", reply(msft))
    settings = with_vendor(settings, vendor)

    report = ingest_alphavantage(["ibm", "MSFT"], function=DAILY, settings=settings)

    assert [f.outcome for f in report.files] == ["published", "published"]
    assert report.calls == 2
    assert vendor.requests[0]["apikey"] == KEY  # the key does reach the vendor...
    bars = _bars(open_lake(settings))
    series = ibm["Time Series (Daily)"]
    assert isinstance(series, dict)
    assert bars.filter(pl.col("symbol") == "IBM").height == len(series)
    assert set(bars["interval"]) == {"1d"}
    assert set(bars["source"]) == {"alphavantage"}
    row = bars.filter(pl.col("symbol") == "IBM").sort("session_date").row(-1, named=True)
    entry = series[row["session_date"].isoformat()]
    assert row["close"] == float(entry["4. close"])
    assert row["volume"] == float(entry["5. volume"])
    keys = [e.logical_key for e in read_manifest(open_lake(settings), "alphavantage")]
    assert sorted(keys) == ["TIME_SERIES_DAILY/IBM/full", "TIME_SERIES_DAILY/MSFT/full"]
    for path, data in _lake_bytes(settings):  # ...and nowhere else
        assert KEY.encode() not in data, path
        assert KEY not in str(path)


def test_weekly_adjusted_series_carry_adjusted_close_and_dividend(
    settings: Settings, vendor: Vendor
) -> None:
    bars = daily_bars("IBM", date(2024, 1, 2), date(2024, 8, 14))  # ends on a Wednesday
    payload = weekly_adjusted_payload("IBM", bars)
    vendor.on(WEEKLY, "IBM", reply(payload))
    settings = with_vendor(settings, vendor)

    report = ingest_alphavantage(["IBM"], function=WEEKLY, settings=settings)

    assert report.files[0].outcome == "published"
    record = report.files[0].record
    assert record is not None
    assert record.flagged_by_rule == {"week.partial": 1}
    silver = _bars(open_lake(settings)).sort("session_date")
    assert set(silver["interval"]) == {"1w"}
    assert silver["split_factor"].is_null().all()
    entries = payload["Weekly Adjusted Time Series"]
    paid = {d for d, e in entries.items() if float(e["7. dividend amount"]) > 0}
    assert paid  # the sample pays quarterly
    got = {r["session_date"].isoformat(): r for r in silver.iter_rows(named=True)}
    for day, entry in entries.items():
        assert got[day]["adj_close"] == float(entry["5. adjusted close"])
        assert got[day]["dividend"] == float(entry["7. dividend amount"])
    assert silver["quality_flags"][-1] == "week.partial"
    assert silver["quality_flags"][:-1].is_null().all()
    # ts_event: Monday 00:00 New York of the bar's week, in UTC.
    assert silver["ts_event"][-1].isoformat() == "2024-08-12T04:00:00+00:00"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (ERROR_MESSAGE, "rejected the request: Invalid API call"),
        (
            INFORMATION_PREMIUM,
            "refused the request: Thank you for using Alpha Vantage! This is a premium",
        ),
        (INFORMATION_DEMO_KEY, "refused the request: The **demo** API key"),
    ],
)
def test_an_error_in_disguise_fails_its_symbol_only(
    settings: Settings, vendor: Vendor, body: dict[str, str], expected: str
) -> None:
    vendor.on(DAILY, "BAD", reply(body))
    vendor.on(DAILY, "IBM", reply(_daily("IBM")))
    settings = with_vendor(settings, vendor)

    report = ingest_alphavantage(["BAD", "IBM"], function=DAILY, settings=settings)

    assert [f.outcome for f in report.files] == ["failed", "published"]
    assert expected in str(report.files[0].error)
    assert "symbol=BAD" in str(report.files[0].error)
    assert vendor.calls("BAD") == 1  # not retried: retrying cannot help
    lake = open_lake(settings)
    assert set(_bars(lake)["symbol"]) == {"IBM"}
    assert [e.symbol for e in read_manifest(lake, "alphavantage")] == ["IBM"]


def test_a_rate_limit_note_waits_and_retries(settings: Settings, vendor: Vendor) -> None:
    vendor.on(DAILY, "IBM", reply(NOTE_RATE_LIMIT), reply(_daily("IBM")))
    settings = with_vendor(settings, vendor)

    report = ingest_alphavantage(["IBM"], function=DAILY, settings=settings)

    assert report.files[0].outcome == "published"
    assert vendor.calls("IBM") == 2
    assert CallBudget(open_lake(settings), 100).used() == 2  # both calls count


def test_rate_limits_beyond_max_wait_fail_the_symbol(settings: Settings, vendor: Vendor) -> None:
    vendor.on(DAILY, "IBM", reply(NOTE_RATE_LIMIT))
    settings = with_vendor(settings, vendor, calls_per_minute=300, max_wait_s=0.5)

    report = ingest_alphavantage(["IBM"], function=DAILY, settings=settings)

    assert report.files[0].outcome == "failed"
    assert "still rate limited" in str(report.files[0].error)
    assert 2 <= vendor.calls("IBM") <= 4  # waits of 0.2 s, 0.4 s... within 0.5 s in all
    assert read_records(open_lake(settings)) == []


def test_a_server_error_is_retried(settings: Settings, vendor: Vendor) -> None:
    vendor.on(DAILY, "IBM", reply(b"<html>oops</html>", status=500), reply(_daily("IBM")))
    settings = with_vendor(settings, vendor)

    report = ingest_alphavantage(["IBM"], function=DAILY, settings=settings)

    assert report.files[0].outcome == "published"
    assert vendor.calls("IBM") == 2


def test_a_timeout_is_retried_then_fails_the_symbol(settings: Settings, vendor: Vendor) -> None:
    vendor.on(DAILY, "SLOW", reply(_daily("SLOW"), delay_s=1.5))
    vendor.on(DAILY, "IBM", reply(_daily("IBM")))
    settings = with_vendor(settings, vendor, timeout_s=0.3, retries=1)

    report = ingest_alphavantage(["SLOW", "IBM"], function=DAILY, settings=settings)

    assert [f.outcome for f in report.files] == ["failed", "published"]
    assert "no answer within timeout_s=0.3s, after 1 retries" in str(report.files[0].error)
    assert vendor.calls("SLOW") == 2


def test_a_malformed_value_is_quarantined_with_its_entry(
    settings: Settings, vendor: Vendor
) -> None:
    payload = _daily("IBM")
    series = payload["Time Series (Daily)"]
    assert isinstance(series, dict)
    series["2024-02-15"]["2. high"] = "1O2.5"
    vendor.on(DAILY, "IBM", reply(payload))
    settings = with_vendor(settings, vendor)

    report = ingest_alphavantage(["IBM"], function=DAILY, settings=settings)

    record = report.files[0].record
    assert record is not None
    assert record.rows_in == len(series)
    assert record.rows_out == len(series) - 1
    assert record.quarantined_by_rule == {"value.unparseable": 1}
    quarantined = read_quarantine(open_lake(settings)).to_pylist()
    assert json.loads(quarantined[0]["raw"]) == {"2024-02-15": series["2024-02-15"]}
    assert '2. high="1O2.5"' in quarantined[0]["message"]
    assert date(2024, 2, 15) not in _bars(open_lake(settings))["session_date"].to_list()


def test_the_daily_budget_is_counted_across_runs(settings: Settings, vendor: Vendor) -> None:
    for symbol in ("IBM", "MSFT", "AAPL"):
        vendor.on(DAILY, symbol, reply(_daily(symbol)))
    settings = with_vendor(settings, vendor, calls_per_day=2)

    first = ingest_alphavantage(["IBM"], function=DAILY, settings=settings)
    second = ingest_alphavantage(["MSFT", "AAPL", "IBM"], function=DAILY, settings=settings)

    assert first.calls_left == 1
    assert [f.outcome for f in second.files] == ["published", "failed", "failed"]
    assert "daily budget of 2 Alpha Vantage calls is spent" in str(second.files[1].error)
    assert "not called" in str(second.files[2].error)
    assert vendor.calls() == 2
    assert second.calls_left == 0
    state = list((settings.data_dir / "lake" / "_state" / "alphavantage").glob("calls-*.json"))
    assert len(state) == 1
    assert json.loads(state[0].read_text())["calls"] == 2


def test_a_daily_limit_reply_stops_calls_and_hides_the_key(
    settings: Settings, vendor: Vendor
) -> None:
    vendor.on(DAILY, "IBM", reply(information_daily_limit(KEY)))
    vendor.on(DAILY, "MSFT", reply(_daily("MSFT")))
    settings = with_vendor(settings, vendor)

    report = ingest_alphavantage(["IBM", "MSFT"], function=DAILY, settings=settings)

    assert [f.outcome for f in report.files] == ["failed", "failed"]
    assert "day's calls are spent" in str(report.files[0].error)
    assert KEY not in str(report.files[0].error)
    assert vendor.calls() == 1  # MSFT was not called
    assert report.calls_left == 0
    for path, data in _lake_bytes(settings):  # ledger rows hold the errors: redacted
        assert KEY.encode() not in data, path


def test_a_newer_download_supersedes_the_older_one(settings: Settings, vendor: Vendor) -> None:
    vendor.on(
        DAILY,
        "IBM",
        reply(_daily("IBM", date(2024, 3, 20))),
        reply(_daily("IBM", date(2024, 3, 22))),
    )
    settings = with_vendor(settings, vendor)

    first = ingest_alphavantage(["IBM"], function=DAILY, settings=settings)
    second = ingest_alphavantage(["IBM"], function=DAILY, settings=settings)

    assert second.files[0].outcome == "published"
    assert second.files[0].ingest_id != first.files[0].ingest_id
    bars = _bars(open_lake(settings))
    assert bars.height == bars["session_date"].n_unique()  # no duplicated bars
    assert bars["session_date"].max() == date(2024, 3, 22)
    assert set(bars["ingest_id"]) == {second.files[0].ingest_id}
    assert [r.ingest_id for r in read_records(open_lake(settings))] == [second.files[0].ingest_id]


def test_the_same_reply_again_lands_nothing(settings: Settings, vendor: Vendor) -> None:
    vendor.on(DAILY, "IBM", reply(_daily("IBM")))
    settings = with_vendor(settings, vendor)

    ingest_alphavantage(["IBM"], function=DAILY, settings=settings)
    before = _bars(open_lake(settings))
    again = ingest_alphavantage(["IBM"], function=DAILY, settings=settings)

    assert again.files[0].outcome == "unchanged"
    assert not again.files[0].landed_new
    assert _bars(open_lake(settings)).equals(before)


def test_silver_is_rebuilt_from_bronze_without_a_call(settings: Settings, vendor: Vendor) -> None:
    vendor.on(DAILY, "IBM", reply(_daily("IBM")))
    vendor.on(
        WEEKLY,
        "IBM",
        reply(
            weekly_adjusted_payload("IBM", daily_bars("IBM", date(2024, 1, 2), date(2024, 3, 20)))
        ),
    )
    settings = with_vendor(settings, vendor)
    ingest_alphavantage(["IBM"], function=DAILY, settings=settings)
    ingest_alphavantage(["IBM"], function=WEEKLY, settings=settings)
    lake = open_lake(settings)
    before = _bars(lake).sort("interval", "session_date")
    calls = vendor.calls()
    for part in (settings.data_dir / "lake" / "silver").rglob("*"):
        if part.is_file():
            part.unlink()

    report = rebuild_alphavantage(settings=settings)

    assert [f.outcome for f in report.files] == ["published", "published"]
    assert vendor.calls() == calls
    assert _bars(lake).sort("interval", "session_date").equals(before)


def test_no_key_is_a_config_error(settings: Settings, vendor: Vendor) -> None:
    settings = with_vendor(settings, vendor, api_key=None)

    with pytest.raises(ConfigError, match="MARKETLAKE_SOURCES__ALPHAVANTAGE__API_KEY"):
        ingest_alphavantage(["IBM"], function=DAILY, settings=settings)
    assert vendor.calls() == 0


def test_a_call_that_cannot_connect_is_not_counted(settings: Settings, vendor: Vendor) -> None:
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = with_vendor(settings, vendor, base_url=f"http://127.0.0.1:{port}/query", retries=1)

    report = ingest_alphavantage(["IBM"], function=DAILY, settings=settings)

    assert "cannot connect" in str(report.files[0].error)
    assert report.calls == 2
    assert report.calls_left == 100


def test_the_budget_day_is_the_new_york_day(lake: Lake) -> None:
    late = CallBudget(lake, 5, now=lambda: datetime(2026, 11, 24, 4, 30, tzinfo=UTC))
    next_day = CallBudget(lake, 5, now=lambda: datetime(2026, 11, 24, 5, 30, tzinfo=UTC))

    late.spend()
    late.spend()

    assert late.day() == "2026-11-23"  # 23:30 in New York
    assert late.used() == 2
    assert next_day.day() == "2026-11-24"
    assert next_day.used() == 0
    assert lake.exists("_state/alphavantage/calls-2026-11-23.json")
