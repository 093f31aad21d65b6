"""Reading objects (format by content) and parsing timestamps and numbers."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pytest

from marketlake.errors import SourceError
from marketlake.sources.s3_json.parse import parse_number, parse_timestamp, read_records

ROWS = [{"symbol": "MSFT", "n": 1}, {"symbol": "IBM", "n": 2}]


def _ns(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp()) * 10**9  # type: ignore[misc]


@pytest.mark.parametrize("zipped", [False, True])
@pytest.mark.parametrize("shape", ["ndjson", "array", "pretty-array"])
def test_format_is_decided_by_content(shape: str, zipped: bool) -> None:
    text = {
        "ndjson": "\n".join(json.dumps(r) for r in ROWS) + "\n",
        "array": json.dumps(ROWS),
        "pretty-array": "\n  " + json.dumps(ROWS, indent=2),
    }[shape]
    data = gzip.compress(text.encode()) if zipped else text.encode()

    records = read_records(data, path="x.json")

    assert [r.value for r in records] == ROWS
    assert [r.source_row for r in records] == [1, 2]
    assert all(r.error is None for r in records)


def test_a_broken_line_is_kept_as_a_malformed_record_and_blank_lines_skipped() -> None:
    data = b'{"symbol": "A"}\n\n{"symbol": "B"\n{"symbol": "C"}\n'

    records = read_records(data, path="x.json")

    assert [(r.source_row, r.error is None) for r in records] == [(1, True), (3, False), (4, True)]
    assert records[1].raw == '{"symbol": "B"'
    assert "not valid JSON" in (records[1].error or "")


def test_one_pretty_printed_object_is_one_record() -> None:
    records = read_records(b'{\n  "symbol": "A",\n  "n": 1\n}\n', path="x.json")

    assert [r.value for r in records] == [{"symbol": "A", "n": 1}]


def test_a_corrupt_gzip_or_a_broken_array_fails_the_object_with_its_path() -> None:
    cut = gzip.compress(b'{"a": 1}\n' * 100)[:-10]
    with pytest.raises(SourceError, match="not a complete gzip stream") as caught:
        read_records(cut, path="s3://b/p/2024/01/02/03/x.json.gz")
    assert "s3://b/p/2024/01/02/03/x.json.gz" in str(caught.value)
    with pytest.raises(SourceError, match="array is not valid JSON"):
        read_records(b'[{"a": 1}, {"a": ]', path="x.json")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-02T14:30:00Z", _ns(2024, 1, 2, 14, 30)),
        ("2024-01-02T09:30:00-05:00", _ns(2024, 1, 2, 14, 30)),
        ("2024-01-02T14:30:00", _ns(2024, 1, 2, 14, 30)),  # naive = UTC
        ("2024-01-02", _ns(2024, 1, 2)),
        ("2024-01-02T14:30:00.123456789Z", _ns(2024, 1, 2, 14, 30) + 123_456_789),
        (1704205800, _ns(2024, 1, 2, 14, 30)),  # seconds
        (1704205800.5, _ns(2024, 1, 2, 14, 30) + 500_000_000),
        (1704205800123, _ns(2024, 1, 2, 14, 30) + 123_000_000),  # milliseconds
        (1704205800123456, _ns(2024, 1, 2, 14, 30) + 123_456_000),  # microseconds
        (1704205800123456789, _ns(2024, 1, 2, 14, 30) + 123_456_789),  # nanoseconds
        ("1704205800", _ns(2024, 1, 2, 14, 30)),
    ],
)
def test_timestamps(value: object, expected: int) -> None:
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize("value", ["yesterday", "", True, None, [1], 0, -5, "NaN", 10**25])
def test_invalid_timestamps(value: object) -> None:
    with pytest.raises(ValueError, match=r"is not a time|outside 1970"):
        parse_timestamp(value)


def test_numbers() -> None:
    assert parse_number("12.5") == 12.5
    assert parse_number(3) == 3.0
    assert parse_number(None) is None
    for bad in ("abc", True, {"v": 1}):
        with pytest.raises(ValueError, match="is not a number"):
            parse_number(bad)
