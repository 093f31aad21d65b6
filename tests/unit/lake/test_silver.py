from datetime import date

import pyarrow as pa
import pytest

from marketlake.lake import Lake
from marketlake.lake.silver import (
    get_record,
    publish_ingest,
    read_dataset,
    read_quarantine,
    retract_ingest,
)
from marketlake.schemas import BARS, QUARANTINE


def bars(symbol: str, days: list[date], ingest_id: str, close: float = 10.0) -> pa.Table:
    n = len(days)
    return pa.table(
        {
            "ts_event": pa.array([d.isoformat() for d in days])
            .cast(pa.timestamp("s"))
            .cast(BARS.field("ts_event").type),
            "session_date": days,
            "interval": ["1d"] * n,
            "symbol": [symbol] * n,
            "open": [close] * n,
            "high": [close] * n,
            "low": [close] * n,
            "close": [close] * n,
            "volume": [1.0] * n,
            "vwap": [None] * n,
            "trade_count": [None] * n,
            "adj_close": [None] * n,
            "dividend": [None] * n,
            "split_factor": [None] * n,
            "source": ["test"] * n,
            "ingest_id": [ingest_id] * n,
            "quality_flags": [None] * n,
        }
    ).cast(BARS)


def quarantine(ingest_id: str, n: int) -> pa.Table:
    return pa.table(
        {
            "dataset": ["bars"] * n,
            "ingest_id": [ingest_id] * n,
            "source_row": list(range(2, n + 2)),
            "symbol": ["X"] * n,
            "rule_id": ["row.null"] * n,
            "severity": ["ERROR"] * n,
            "message": ["m"] * n,
            "raw": ["{}"] * n,
        }
    ).cast(QUARANTINE)


def publish(lake: Lake, rows: pa.Table, ingest_id: str, q: int = 0, **kw: object) -> None:
    publish_ingest(
        lake,
        dataset="bars",
        source="test",
        ingest_id=ingest_id,
        rows=rows,
        quarantined=quarantine(ingest_id, q),
        rows_in=rows.num_rows + q,
        flagged_by_rule={},
        **kw,  # type: ignore[arg-type]
    )


def test_partitions_by_symbol_and_year_with_files_named_by_ingest(lake: Lake) -> None:
    days = [date(2020, 12, 31), date(2021, 1, 4)]
    publish(lake, pa.concat_tables([bars("MSFT", days, "i1"), bars("X:BTCUSD", days, "i1")]), "i1")
    assert lake.glob("silver/bars/*/*/*.parquet") == [
        "silver/bars/symbol=MSFT/year=2020/i1.parquet",
        "silver/bars/symbol=MSFT/year=2021/i1.parquet",
        "silver/bars/symbol=X%3ABTCUSD/year=2020/i1.parquet",
        "silver/bars/symbol=X%3ABTCUSD/year=2021/i1.parquet",
    ]
    assert read_dataset(lake, "bars").num_rows == 4


def test_republishing_replaces_exactly_its_own_rows(lake: Lake) -> None:
    publish(lake, bars("MSFT", [date(2020, 1, 2), date(2021, 1, 4)], "i1"), "i1", q=2)
    publish(lake, bars("MSFT", [date(2020, 1, 3)], "i2"), "i2")
    # i1 again, now only 2021: its 2020 file goes, i2's 2020 file stays
    publish(lake, bars("MSFT", [date(2021, 1, 4)], "i1", close=11.0), "i1", q=1)
    assert lake.glob("silver/bars/*/*/*.parquet") == [
        "silver/bars/symbol=MSFT/year=2020/i2.parquet",
        "silver/bars/symbol=MSFT/year=2021/i1.parquet",
    ]
    table = read_dataset(lake, "bars")
    assert sorted(zip(table["ingest_id"].to_pylist(), table["close"].to_pylist(), strict=True)) == [
        ("i1", 11.0),
        ("i2", 10.0),
    ]
    assert read_quarantine(lake).num_rows == 1
    record = get_record(lake, "i1")
    assert record is not None
    assert (record.rows_in, record.rows_out, record.rows_quarantined) == (2, 1, 1)


def test_superseded_delivery_is_retracted(lake: Lake) -> None:
    publish(lake, bars("MSFT", [date(2020, 1, 2)], "old"), "old", q=1)
    publish(lake, bars("MSFT", [date(2020, 1, 2)], "new", close=12.0), "new", supersedes=["old"])
    assert read_dataset(lake, "bars")["ingest_id"].to_pylist() == ["new"]
    assert get_record(lake, "old") is None
    assert read_quarantine(lake).num_rows == 0
    retract_ingest(lake, dataset="bars", ingest_id="absent")  # nothing there: no error


def test_row_accounting_is_enforced(lake: Lake) -> None:
    with pytest.raises(AssertionError, match="row accounting"):
        publish_ingest(
            lake,
            dataset="bars",
            source="test",
            ingest_id="i",
            rows=bars("A", [date(2020, 1, 2)], "i"),
            quarantined=quarantine("i", 0),
            rows_in=5,
            flagged_by_rule={},
        )
