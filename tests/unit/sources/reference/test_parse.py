"""Parsing reference files: every entry ends in rows or quarantine, with the right as-of."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from marketlake.config import S3JsonSettings
from marketlake.errors import SourceError
from marketlake.sources.reference import (
    ParsedReference,
    format_of,
    parse_as_of,
    parse_reference,
)
from marketlake.sources.reference.parse import Format

PATTERN = S3JsonSettings().symbol_pattern
LANDED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def parse(data: str, fmt: Format = "csv", as_of: datetime | None = None) -> ParsedReference:
    return parse_reference(
        data.encode(),
        path="f",
        fmt=fmt,
        ingest_id="i1",
        symbol_pattern=PATTERN,
        default_as_of=LANDED,
        as_of=as_of,
    )


def test_csv_rows_take_their_as_of_column_else_the_landing_time() -> None:
    parsed = parse(
        "Symbol,Name,Asset_Class,Sector,Unused,as_of\n"
        "MSFT,Microsoft,Equity,Tech,x,2024-01-02\n"
        "BRK.B,Berkshire,equity,,y,2024-03-04T15:30:00-05:00\n"
        "IBM,IBM,equity,Tech,z,\n"
    )
    rows = parsed.rows.to_pylist()
    assert [r["symbol"] for r in rows] == ["MSFT", "BRK.B", "IBM"]
    assert [r["ts_event"] for r in rows] == [
        datetime(2024, 1, 2, tzinfo=UTC),
        datetime(2024, 3, 4, 20, 30, tzinfo=UTC),
        LANDED,
    ]
    assert rows[0]["asset_class"] == "equity"
    assert rows[1]["sector"] is None  # empty text is null
    assert rows[0]["exchange"] is None  # absent column
    assert {r["source"] for r in rows} == {"reference"}
    assert {r["ingest_id"] for r in rows} == {"i1"}
    assert parsed.quarantined.num_rows == 0
    assert parsed.rows_in == 3


def test_the_as_of_option_overrides_the_column() -> None:
    when = datetime(2025, 1, 1, tzinfo=UTC)
    parsed = parse("symbol,as_of\nMSFT,2024-01-02\n", as_of=when)
    assert parsed.rows["ts_event"].to_pylist() == [when]


def test_bad_entries_are_quarantined_with_their_rule_and_text() -> None:
    parsed = parse(
        "symbol,name,as_of\n"
        "msft,lower case,2024-01-02\n"
        ",no symbol,2024-01-02\n"
        "IBM,too,many,fields\n"
        "AAPL,bad date,2024-13-45\n"
        "SPY,first,2024-01-02\n"
        "\n"
        "SPY,second,2024-01-02\n"
    )
    assert parsed.rows_in == 6
    assert parsed.rows_in == parsed.rows.num_rows + parsed.quarantined.num_rows
    assert parsed.rows.to_pylist()[0]["name"] == "second"  # the last entry of SPY wins
    quarantined = parsed.quarantined.to_pylist()
    assert [(q["source_row"], q["symbol"], q["rule_id"]) for q in quarantined] == [
        (2, "msft", "symbol.invalid"),
        (3, None, "record.malformed"),
        (4, None, "record.malformed"),
        (5, "AAPL", "record.malformed"),
        (6, "SPY", "record.malformed"),
    ]
    assert {q["dataset"] for q in quarantined} == {"symbols"}
    assert json.loads(quarantined[0]["raw"]) == {
        "symbol": "msft",
        "name": "lower case",
        "as_of": "2024-01-02",
    }
    assert "2024-13-45" in quarantined[3]["message"]


def test_json_arrays_wrapped_objects_and_lines_are_read() -> None:
    records = [{"SYMBOL": "MSFT", "sector": "Tech"}, "not an object", {"name": "no symbol"}]
    for text in (
        json.dumps(records),
        json.dumps({"symbols": records}),
        "\n".join(json.dumps(r) for r in records) + "\n{broken\n",
    ):
        parsed = parse(text, fmt="json")
        assert parsed.rows["symbol"].to_pylist() == ["MSFT"]
        assert parsed.rows["sector"].to_pylist() == ["Tech"]
        rules = parsed.quarantined["rule_id"].to_pylist()
        assert set(rules) == {"record.malformed"}
        assert parsed.rows_in == parsed.rows.num_rows + len(rules)


def test_unreadable_files_fail_with_a_hint() -> None:
    with pytest.raises(SourceError, match="no symbol column"):
        parse("ticker,name\nMSFT,Microsoft\n")
    with pytest.raises(SourceError, match="neither an array"):
        parse('"just a string"', fmt="json")
    with pytest.raises(SourceError, match="format"):
        format_of("symbols.xlsx")
    assert format_of("S.CSV") == "csv"
    assert format_of("s.jsonl") == "json"


def test_as_of_texts() -> None:
    assert parse_as_of("2024-01-02") == datetime(2024, 1, 2, tzinfo=UTC)
    assert parse_as_of("2024-01-02T03:04:05Z") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_as_of("2024-01-02 03:04") == datetime(2024, 1, 2, 3, 4, tzinfo=UTC)
    with pytest.raises(ValueError, match="month"):
        parse_as_of("2024-13-01")
