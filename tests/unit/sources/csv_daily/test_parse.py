from datetime import UTC, date, datetime

import polars as pl
import pytest

from marketlake.errors import SourceError
from marketlake.sources.csv_daily import parse_daily_csv

HEADER = "Date,Open,High,Low,Close,Adj Close,Volume"


def parse(text: str, **kw: object) -> pl.DataFrame:
    return parse_daily_csv(text.encode(), symbol="MSFT", **kw).rows  # type: ignore[arg-type]


def test_every_data_line_is_one_row_with_its_line_number() -> None:
    rows = parse(
        f"{HEADER}\n"
        "2020-01-02,1,2,0.5,1.5,1.4,100\n"  # line 2
        "\n"  # line 3: blank, not a row
        "2020-01-06,1,2\n"  # line 4: malformed
        "2020-01-07,1,2,0.5,1.5,1.4,100,9\n"  # line 5: malformed
        "2020-01-08,1,2,0.5,1.5,1.4,100\n"  # line 6
    )
    assert rows["source_row"].to_list() == [2, 4, 5, 6]
    assert rows["parse_rule"].to_list() == [None, "row.malformed", "row.malformed", None]
    assert rows.filter(pl.col("source_row") == 4)["raw"].item() == '{"line": "2020-01-06,1,2"}'
    assert "3 fields, the header has 7" in rows["parse_message"][1]


def test_values_are_parsed_exactly_and_raw_text_is_kept() -> None:
    rows = parse(f"{HEADER}\n2020-01-02,160.320007,161.0,159.5,160.619995,155.48,22634600\n")
    row = rows.row(0, named=True)
    assert (row["open"], row["close"], row["adj_close"], row["volume"]) == (
        160.320007,
        160.619995,
        155.48,
        22634600.0,
    )
    assert row["session_date"] == date(2020, 1, 2)
    assert '"Close":"160.619995"' in row["raw"]


def test_ts_event_is_the_exchange_midnight_in_utc() -> None:
    rows = parse(f"{HEADER}\n2020-01-02,1,2,0.5,1.5,1.4,1\n2020-07-01,1,2,0.5,1.5,1.4,1\n")
    assert rows["ts_event"].to_list() == [
        datetime(2020, 1, 2, 5, tzinfo=UTC),  # EST
        datetime(2020, 7, 1, 4, tzinfo=UTC),  # EDT
    ]
    tokyo = parse(f"{HEADER}\n2020-01-02,1,2,0.5,1.5,1.4,1\n", timezone="Asia/Tokyo")
    assert tokyo["ts_event"].to_list() == [datetime(2020, 1, 1, 15, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("line", "rule", "message"),
    [
        ("2020-01-03,null,null,null,null,null,null", "row.null", "every price and volume is null"),
        ("2020-02-30,1,2,0.5,1.5,1.4,100", "date.invalid", "2020-02-30 is not a valid"),
        ("01/03/2020,1,2,0.5,1.5,1.4,100", "date.invalid", "01/03/2020"),
        ("2020-01-03,1,2,0.5,1.5x,1.4,100", "value.unparseable", "close=1.5x"),
    ],
)
def test_unreadable_rows_are_marked_not_dropped(line: str, rule: str, message: str) -> None:
    rows = parse(f"{HEADER}\n{line}\n")
    assert rows["parse_rule"].to_list() == [rule]
    assert message in rows["parse_message"].item()


def test_partial_nulls_are_values_not_parse_errors() -> None:
    rows = parse(f"{HEADER}\n2020-01-03,1,2,0.5,1.5,null,\n")
    assert rows["parse_rule"].to_list() == [None]
    assert rows["adj_close"].to_list() == [None]
    assert rows["volume"].to_list() == [None]


def test_tolerant_header_bom_crlf_and_no_adj_close() -> None:
    data = "\ufeffdate,OPEN,High,Low,Close,Volume,Extra\r\n2020-01-02,1,2,0.5,1.5,100,x\r\n"
    rows = parse(data)
    assert rows["close"].to_list() == [1.5]
    assert rows["adj_close"].to_list() == [None]
    assert rows["parse_rule"].to_list() == [None]


def test_web_table_copies_with_footnote_stars_and_thousands_separators() -> None:
    data = (
        "Date,Open,High,Low,Close*,Adj Close**,Volume\n"
        '2020-01-02,"1,001.5",1002,999,1000,990,"22,634,600"\n'
    )
    rows = parse(data)
    assert rows.select("open", "close", "adj_close", "volume").row(0) == (
        1001.5,
        1000.0,
        990.0,
        22634600.0,
    )


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (b"Date,Open,High\n2020-01-02,1,2\n", "header lacks Low, Close, Volume"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "header lacks|not a readable CSV"),
    ],
)
def test_unusable_files_raise_with_the_path(data: bytes, match: str) -> None:
    with pytest.raises(SourceError, match=match) as info:
        parse_daily_csv(data, symbol="X", path="/data/X.csv")
    assert info.value.context["path"] == "/data/X.csv"
    assert info.value.hint
