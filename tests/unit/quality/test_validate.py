import polars as pl
import pytest

from marketlake.config import QualitySettings
from marketlake.quality import RULES, Validated, validate_bars
from marketlake.sources.csv_daily import parse_daily_csv

HEADER = "Date,Open,High,Low,Close,Adj Close,Volume"


def validate(lines: list[str], **quality: float) -> Validated:
    parsed = parse_daily_csv("\n".join([HEADER, *lines]).encode(), symbol="MSFT").rows
    return validate_bars(
        parsed,
        dataset="bars",
        source="csv_daily",
        interval="1d",
        ingest_id="i1",
        quality=QualitySettings(**quality),
    )


def good(day: int, close: float = 10.0, volume: int = 100) -> str:
    return f"2020-01-{day:02d},{close},{close * 1.01},{close * 0.99},{close},{close},{volume}"


def rules_of(v: Validated) -> dict[int, str]:
    q = v.quarantined.to_pydict()
    return dict(zip(q["source_row"], q["rule_id"], strict=True))


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("2020-01-09,10,10.1,9.9,0.005,10,100", "price.range"),
        ("2020-01-09,10,10.1,9.9,2000000,10,100", "price.range"),
        ("2020-01-09,10,9.8,9.9,10,10,100", "ohlc.inconsistent"),  # high < low
        ("2020-01-09,10,10.1,10.05,10,10,100", "ohlc.inconsistent"),  # low > close
        ("2020-01-09,10,10.1,9.9,10.2,10,100", "ohlc.inconsistent"),  # close > high
        ("2020-01-09,10,10.1,9.9,10,10,-5", "volume.negative"),
        ("2020-01-09,10,10.1,9.9,,10,100", "value.missing"),
        ("2020-01-09,10,10.1,9.9,10,10,", "value.missing"),
    ],
)
def test_error_rules_quarantine_with_reason(line: str, rule: str) -> None:
    v = validate([good(2), good(3), line, good(10)])
    assert rules_of(v) == {4: rule}
    assert v.rows.num_rows == 3
    assert v.quarantined["severity"].to_pylist() == ["ERROR"]
    assert v.quarantined["raw"].to_pylist()[0].startswith('{"Date":"2020-01-09"')


def test_every_broken_rule_is_named_in_the_message() -> None:
    v = validate(["2020-01-09,10,9.8,9.9,0.001,10,-1"])
    assert rules_of(v) == {2: "price.range"}  # first in catalogue order
    message = v.quarantined["message"].to_pylist()[0]
    for rule in ("price.range", "ohlc.inconsistent", "volume.negative"):
        assert rule in message


def test_duplicate_dates_keep_the_last_line() -> None:
    v = validate([good(2, 10.0), good(3, 11.0), good(3, 12.0), good(3, 13.0), good(6)])
    assert rules_of(v) == {3: "date.duplicate", 4: "date.duplicate"}
    kept = pl.from_arrow(v.rows).filter(pl.col("session_date").dt.day() == 3)  # type: ignore[union-attr]
    assert kept["close"].to_list() == [13.0]
    assert "line 5, which is kept" in v.quarantined["message"].to_pylist()[0]


def test_duplicate_of_a_broken_row_is_not_a_duplicate() -> None:
    v = validate([good(3), "2020-01-03,10,9,9.9,10,10,100"])  # second breaks OHLC
    assert rules_of(v) == {3: "ohlc.inconsistent"}
    assert v.rows.num_rows == 1


def test_warnings_keep_the_row_and_flag_it() -> None:
    lines = [good(d) for d in range(2, 10)]
    lines[3] = good(5, close=1000.0)  # 100x off
    lines[5] = good(7, volume=0)
    v = validate(lines)
    assert v.quarantined.num_rows == 0
    flags = dict(
        zip(
            [d.day for d in v.rows["session_date"].to_pylist()],
            v.rows["quality_flags"].to_pylist(),
            strict=True,
        )
    )
    assert flags == {
        2: None,
        3: None,
        4: None,
        5: "price.jump",
        6: None,
        7: "volume.zero",
        8: None,
        9: None,
    }
    assert v.flagged_by_rule == {"price.jump": 1, "volume.zero": 1}


def test_jump_threshold_is_a_setting() -> None:
    lines = [good(d) for d in range(2, 9)]
    lines[3] = good(5, close=150.0)  # 15x
    assert validate(lines).flagged_by_rule == {}
    assert validate(lines, jump_factor=10).flagged_by_rule == {"price.jump": 1}


def test_rows_in_equals_silver_plus_quarantine_and_schema_is_canonical() -> None:
    v = validate([good(2), "garbage", good(2), "2020-01-03,null,null,null,null,null,null"])
    assert v.rows_in == 4
    assert (v.rows.num_rows, v.quarantined.num_rows) == (1, 3)
    assert v.rows.column_names[:4] == ["ts_event", "session_date", "interval", "symbol"]
    assert set(v.quarantined["rule_id"].to_pylist()) <= set(RULES)
