"""The client's pacing, back-off and secrecy, against the local stand-in endpoint.

Waiting is observed through the ``sleep``/``clock`` the client is given: a clock that moves only
when the client sleeps, so the waits are exact and the tests take no time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date

import pytest

from marketlake.config import AlphaVantageSettings, Settings
from marketlake.errors import SourceError
from marketlake.sources.alphavantage.client import AlphaVantageClient, DownloadError
from marketlake.sources.alphavantage.sample import daily_bars, daily_payload
from tests.integration.alphavantage.vendor import KEY, Vendor, reply, serve_vendor, with_vendor

pytestmark = pytest.mark.integration
DAILY = "TIME_SERIES_DAILY"


class Clock:
    """A clock that moves only when slept on; remembers every wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def vendor() -> Iterator[Vendor]:
    with serve_vendor() as v:
        yield v


def _settings(settings: Settings, vendor: Vendor, **overrides: object) -> AlphaVantageSettings:
    return with_vendor(settings, vendor, **overrides).sources.alphavantage


def _payload() -> dict[str, object]:
    return daily_payload("IBM", daily_bars("IBM", date(2024, 1, 2), date(2024, 1, 12)))


def test_calls_are_paced_to_calls_per_minute(settings: Settings, vendor: Vendor) -> None:
    vendor.on(DAILY, "IBM", reply(_payload()))
    clock = Clock()
    av = _settings(settings, vendor, calls_per_minute=2)

    with AlphaVantageClient(av, sleep=clock.sleep, clock=clock) as client:
        for _ in range(3):
            client.fetch(DAILY, "IBM")

    assert clock.waits == [60.0]  # the third call waits for the first to leave the minute
    assert vendor.calls() == 3


def test_server_errors_back_off_exponentially(settings: Settings, vendor: Vendor) -> None:
    vendor.on(DAILY, "IBM", reply(b"", status=503))
    clock = Clock()
    av = _settings(settings, vendor, retries=3, backoff_s=0.5)

    with (
        AlphaVantageClient(av, sleep=clock.sleep, clock=clock) as client,
        pytest.raises(DownloadError, match=r"HTTP 503 Service Unavailable, after 3 retries"),
    ):
        client.fetch(DAILY, "IBM")

    assert clock.waits == [0.5, 1.0, 2.0]
    assert vendor.calls() == 4


def test_a_client_error_is_not_retried(settings: Settings, vendor: Vendor) -> None:
    vendor.on(DAILY, "IBM", reply(b"", status=404))
    clock = Clock()

    with (
        AlphaVantageClient(_settings(settings, vendor), sleep=clock.sleep, clock=clock) as client,
        pytest.raises(SourceError, match="HTTP 404"),
    ):
        client.fetch(DAILY, "IBM")
    assert vendor.calls() == 1


def test_every_call_is_counted_before_it_is_made(settings: Settings, vendor: Vendor) -> None:
    vendor.on(DAILY, "IBM", reply(b"", status=500), reply(_payload()))
    counted: list[int] = []

    with AlphaVantageClient(
        _settings(settings, vendor), before_call=lambda: counted.append(vendor.calls())
    ) as client:
        client.fetch(DAILY, "IBM", output_size="compact")

    assert counted == [0, 1]
    assert vendor.requests[-1]["outputsize"] == "compact"


def test_the_key_never_reaches_the_logs(
    settings: Settings, vendor: Vendor, caplog: pytest.LogCaptureFixture
) -> None:
    vendor.on(DAILY, "IBM", reply(_payload()))
    caplog.set_level(logging.DEBUG)

    with AlphaVantageClient(_settings(settings, vendor)) as client:
        client.fetch(DAILY, "IBM")

    assert "HTTP Request" in caplog.text  # the HTTP library logged the URL...
    assert KEY not in caplog.text  # ...without the key
    assert "apikey=***" in caplog.text
