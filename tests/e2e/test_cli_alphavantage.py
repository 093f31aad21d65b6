"""`marketlake ingest alphavantage` as a user runs it, against the local stand-in endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from marketlake.sources.alphavantage.sample import (
    INFORMATION_PREMIUM,
    daily_bars,
    daily_payload,
    information_daily_limit,
    weekly_adjusted_payload,
    write_alphavantage_payloads,
)
from tests.e2e.conftest import CLI
from tests.integration.alphavantage.vendor import KEY, Vendor, reply, serve_vendor

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
DAILY = "TIME_SERIES_DAILY"
WEEKLY = "TIME_SERIES_WEEKLY_ADJUSTED"


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    with serve_vendor() as v:
        yield v


def _env(vendor: Vendor, **extra: str) -> dict[str, str]:
    return {
        "MARKETLAKE_SOURCES__ALPHAVANTAGE__API_KEY": KEY,
        "MARKETLAKE_SOURCES__ALPHAVANTAGE__BASE_URL": vendor.url,
        "MARKETLAKE_SOURCES__ALPHAVANTAGE__CALLS_PER_MINUTE": "600",
        "MARKETLAKE_SOURCES__ALPHAVANTAGE__BACKOFF_S": "0.01",
    } | extra


def _assert_key_absent(tmp_path: Path, *outputs: str) -> None:
    for text in outputs:
        assert KEY not in text
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_ingest_daily_with_a_failing_symbol(cli: CLI, vendor: Vendor, tmp_path: Path) -> None:
    bars = daily_bars("IBM", date(2024, 1, 2), date(2024, 6, 28))
    vendor.on(DAILY, "IBM", reply(daily_payload("IBM", bars)))
    vendor.on(DAILY, "MSFT", reply(INFORMATION_PREMIUM))
    args = ("ingest", "alphavantage", "--symbols", "IBM,MSFT", "--function", DAILY)

    first = cli("--debug", *args, env=_env(vendor))
    rebuilt = cli("ingest", "alphavantage", "--from-bronze", env=_env(vendor))
    status = cli("status", env=_env(vendor))

    assert first.returncode == 1
    assert "1 of 2 symbols failed" in first.stderr
    assert "published" in first.stdout
    assert "MSFT" in first.stdout
    assert (
        "refused the request: Thank you for using Alpha Vantage! This is a premium" in first.stdout
    )
    assert "2 made by this run, 23 left today" in first.stdout
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "TIME_SERIES_DAILY:IBM" in rebuilt.stdout
    assert vendor.calls() == 2  # --from-bronze made no call
    _assert_key_absent(tmp_path, first.stdout, first.stderr, rebuilt.stdout, status.stdout)


def test_ingest_weekly_flags_the_partial_week(cli: CLI, vendor: Vendor, tmp_path: Path) -> None:
    bars = daily_bars("IBM", date(2024, 1, 2), date(2024, 8, 14))
    vendor.on(WEEKLY, "IBM", reply(weekly_adjusted_payload("IBM", bars)))

    result = cli("ingest", "alphavantage", "--symbols", "IBM", "-f", WEEKLY, env=_env(vendor))

    assert result.returncode == 0, result.stderr
    line = next(li for li in result.stdout.splitlines() if "TIME_SERIES_WEEKLY_ADJUSTED:IBM" in li)
    assert line.replace("│", " ").split()[-1] == "1"  # the week.partial column
    _assert_key_absent(tmp_path, result.stdout, result.stderr)


def test_a_spent_day_stops_the_run_with_one_clear_line(
    cli: CLI, vendor: Vendor, tmp_path: Path
) -> None:
    vendor.on(DAILY, "IBM", reply(information_daily_limit(KEY)))
    args = ("ingest", "alphavantage", "--symbols", "IBM,MSFT,AAPL")

    result = cli(*args, env=_env(vendor))
    again = cli(*args, env=_env(vendor))

    assert result.returncode == 1
    assert "3 of 3 symbols failed" in result.stderr
    assert "day's calls are spent" in result.stdout
    assert "not called" in result.stdout
    assert again.returncode == 1
    assert "daily budget of 25 Alpha Vantage calls is spent" in again.stdout
    assert vendor.calls() == 1
    _assert_key_absent(tmp_path, result.stdout, result.stderr, again.stdout, again.stderr)


def test_ingest_saved_files_then_see_the_quarantine(cli: CLI, tmp_path: Path) -> None:
    samples = write_alphavantage_payloads(tmp_path / "saved")

    first = cli("ingest", "alphavantage", "--from-files", str(tmp_path / "saved"))
    again = cli("ingest", "alphavantage", "--from-files", str(tmp_path / "saved"))
    quality = cli("quality")

    assert first.returncode == 0, first.stderr
    assert first.stdout.count("published (new)") == len(samples.files)
    assert again.stdout.count("unchanged") == len(samples.files)
    assert "value.unparseable" in quality.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--symbols", "IBM", "--function", "TIME_SERIES_INTRADAY"), "--function"),
        (("--function", DAILY), "--symbols is required"),
        (("--symbols", "IBM"), "MARKETLAKE_SOURCES__ALPHAVANTAGE__API_KEY"),
        (("--symbols", "IB M"), "'IB M' is not a symbol"),
    ],
)
def test_usage_errors_are_one_line(cli: CLI, args: tuple[str, ...], message: str) -> None:
    result = cli("ingest", "alphavantage", *args)

    assert result.returncode == 1
    assert message in result.stderr
    assert result.stderr.count("error:") == 1
    assert "Traceback" not in result.stderr
