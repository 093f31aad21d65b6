"""Retries with back-off, and bounded concurrent downloads, against a stand-in filesystem."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from marketlake.config import PolygonSettings
from marketlake.errors import SourceError
from marketlake.sources.polygon.client import DownloadError, Listed, PolygonClient
from marketlake.sources.polygon.keys import day_key, parse_key


class FlakyFS:
    """Fails each key ``failures[key]`` times with ``error``, then serves its bytes."""

    def __init__(self, files: dict[str, bytes], failures: dict[str, int], error: Exception) -> None:
        self.files, self.failures, self.error = files, dict(failures), error
        self.calls: list[str] = []

    def cat_file(self, path: str) -> bytes:
        key = path.split("/", 1)[1]
        self.calls.append(key)
        if self.failures.get(key, 0) > 0:
            self.failures[key] -= 1
            raise self.error
        if key not in self.files:
            raise FileNotFoundError(path)
        return self.files[key]


def _listed(day: int, size: int = 0) -> Listed:
    flat = parse_key(day_key("us_stocks_sip/trades_v1", date(2024, 1, day)))
    assert flat is not None
    return Listed(flat, size, None)


def _client(fs: Any, retries: int = 3) -> tuple[PolygonClient, list[float]]:
    delays: list[float] = []
    client = PolygonClient(
        PolygonSettings(retries=retries, backoff_s=1.0, backoff_max_s=3.0, concurrency=2),
        sleep=delays.append,
    )
    client.fs = fs
    return client, delays


def test_transient_errors_are_retried_with_growing_back_off() -> None:
    key = _listed(2).file.key
    fs = FlakyFS({key: b"abc"}, {key: 3}, ConnectionError("reset by peer"))
    client, delays = _client(fs)
    assert client.fetch(_listed(2)) == b"abc"
    assert len(delays) == 3
    assert delays[0] <= 1.0 < delays[2] <= 3.0  # doubled, capped at backoff_max_s


def test_a_short_read_is_retried_then_reported() -> None:
    key = _listed(2).file.key
    client, delays = _client(FlakyFS({key: b"ab"}, {}, ConnectionError()), retries=2)
    with pytest.raises(DownloadError, match=r"after 3 attempts: short read: 2 of 5 bytes"):
        client.fetch(_listed(2, size=5))
    assert len(delays) == 2


def test_fetch_all_yields_every_file_and_an_error_for_the_one_that_is_gone() -> None:
    files = {_listed(d).file.key: f"day{d}".encode() for d in (2, 3, 5)}
    client, _ = _client(FlakyFS(files, {}, ConnectionError()))
    got = {x.file.day.day: data for x, data in client.fetch_all([_listed(d) for d in (2, 3, 4, 5)])}
    assert got[2] == b"day2"
    assert got[5] == b"day5"
    assert isinstance(got[4], SourceError)
    assert "gone" in str(got[4])


def test_ingest_without_credentials_says_which_settings_to_set(tmp_path: Any) -> None:
    from marketlake.config import load_settings
    from marketlake.errors import ConfigError
    from marketlake.ingest_polygon import ingest_polygon

    settings = load_settings(data_dir=tmp_path)
    with pytest.raises(ConfigError, match="MARKETLAKE_SOURCES__POLYGON__ACCESS_KEY_ID"):
        ingest_polygon(
            "us_stocks_sip/trades_v1", date(2024, 1, 2), date(2024, 1, 2), settings=settings
        )


def test_unknown_dataset_is_refused_with_the_choices(tmp_path: Any) -> None:
    from marketlake.config import load_settings
    from marketlake.ingest_polygon import ingest_polygon

    settings = load_settings(data_dir=tmp_path)
    with pytest.raises(SourceError, match="trades_v1, quotes_v1"):
        ingest_polygon("us_stocks_sip/ticks", date(2024, 1, 2), date(2024, 1, 2), settings=settings)
