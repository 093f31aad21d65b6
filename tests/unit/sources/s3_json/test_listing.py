"""Which prefixes a window lists, and the window's bounds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from marketlake.config import S3JsonSettings
from marketlake.errors import SourceError
from marketlake.sources.s3_json import S3JsonClient, listing_prefixes, parse_moment


def test_dates_cover_whole_days_and_datetimes_are_utc() -> None:
    assert parse_moment("2024-01-02") == datetime(2024, 1, 2, tzinfo=UTC)
    assert parse_moment("2024-01-02", end=True) == datetime(2024, 1, 2, 23, 59, 59, 999999,
                                                            tzinfo=UTC)  # fmt: skip
    assert parse_moment("2024-01-02T13:30") == datetime(2024, 1, 2, 13, 30, tzinfo=UTC)
    assert parse_moment("2024-01-02T09:00-05:00") == datetime(2024, 1, 2, 14, tzinfo=UTC)
    with pytest.raises(SourceError, match="not a date or time"):
        parse_moment("yesterday")


def test_ragged_hours_whole_days_and_whole_months() -> None:
    hours = listing_prefixes(parse_moment("2024-01-02T22:30"), parse_moment("2024-01-03T01:00"))
    assert hours == ["2024/01/02/22/", "2024/01/02/23/", "2024/01/03/00/", "2024/01/03/01/"]

    days = listing_prefixes(parse_moment("2024-01-30T23:00"), parse_moment("2024-03-01", end=True))
    assert days == ["2024/01/30/23/", "2024/01/31/", "2024/02/", "2024/03/01/"]


def test_only_the_window_is_listed_from_a_local_folder(tmp_path: Path) -> None:
    for key in (
        "2024/01/02/12/a.json",
        "2024/01/02/13/b.json.gz",
        "2024/01/02/13/_SUCCESS",
        "2024/01/02/13/notes.txt",
        "2024/01/02/14/c.ndjson",
        "2024/01/02/15/d.json",
    ):
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_text("{}\n")  # fmt: skip
    client = S3JsonClient(f"file://{tmp_path}", S3JsonSettings())

    found = client.list_objects(parse_moment("2024-01-02T13:00"), parse_moment("2024-01-02T14:59"))

    assert [x.key for x in found] == ["2024/01/02/13/b.json.gz", "2024/01/02/14/c.ndjson"]
    assert client.listed_prefixes == ["2024/01/02/13/", "2024/01/02/14/"]
    assert all(x.size == 3 and x.etag for x in found)


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        S3JsonClient(str(tmp_path / "nope"), S3JsonSettings())
