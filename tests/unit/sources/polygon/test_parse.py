from __future__ import annotations

import gzip
from datetime import date

import polars as pl
import pytest

from marketlake.errors import SourceError
from marketlake.quality.rules import RULES
from marketlake.sources.polygon import check_flat_file, parse_key, read_flat_file
from marketlake.sources.polygon.keys import day_key, symbol_key
from marketlake.sources.polygon.parse import RAW_PREFIX, USED, FlatChunk
from tests.unit.sources.polygon.vendor import T0, agg, gz, quote, trade


def _check(data: bytes, kind: str, dataset: str, symbol: str | None = None):  # type: ignore[no-untyped-def]
    parsed = read_flat_file(data, kind=kind, path="x.csv.gz", symbol=symbol)
    return check_flat_file(
        parsed, kind=kind, dataset=dataset, source="polygon", ingest_id="i1", price_max=1e6
    )


def test_trades_keep_fractional_sizes_conditions_and_crypto_tickers() -> None:
    data = gz("trades_v1", [trade("AAPL", "185.5", "0.5"), trade("X:BTCUSD", "42000.1", "100")])
    out = _check(data, "trades_v1", "trades")
    rows = out.rows.to_pylist()
    assert [r["symbol"] for r in rows] == ["AAPL", "X:BTCUSD"]
    assert rows[0]["size"] == 0.5
    assert rows[0]["conditions"] == ["12", "37"]
    assert rows[0]["ts_event"].isoformat().startswith("2024-01-02T14:30:00")
    assert out.quarantined.num_rows == 0


def test_bad_trade_rows_go_to_quarantine_with_reasons_others_stay() -> None:
    lines = [
        trade("AAPL", "185.5", "10"),
        trade("AAPL", "185.5", "-3"),
        trade("AAPL", "abc", "10"),
        trade("AAPL", "0", "10"),
        trade("AAPL", "185.0", "0"),
    ]
    out = _check(gz("trades_v1", lines), "trades_v1", "trades")
    assert out.rows.num_rows == 2
    q = out.quarantined.to_pylist()
    assert [(r["source_row"], r["rule_id"]) for r in q] == [
        (3, "size.invalid"),
        (4, "value.unparseable"),
        (5, "price.range"),
    ]
    assert '"price":"abc"' in q[1]["raw"]
    assert out.flagged_by_rule == {"size.zero": 1}
    assert {r["rule_id"] for r in q} <= set(RULES)
    assert out.rows_in == 5


def test_quotes_get_spread_and_mid_and_crossed_quotes_are_flagged() -> None:
    lines = [quote("MSFT", "10.0", "10.5"), quote("MSFT", "10.6", "10.4"), quote("MSFT", "0", "9")]
    out = _check(gz("quotes_v1", lines), "quotes_v1", "quotes")
    rows = out.rows.to_pylist()
    assert [(r["spread"], r["mid"]) for r in rows] == [
        (0.5, 10.25),
        (pytest.approx(-0.2), pytest.approx(10.5)),
        (None, None),
    ]
    assert rows[1]["quality_flags"] == "quote.crossed"
    assert out.flagged_by_rule == {"quote.crossed": 1}


def test_aggregates_read_close_before_high_and_index_aggs_without_volume() -> None:
    out = _check(gz("minute_aggs_v1", [agg("AAPL", 10, 12, 9, 11)]), "minute_aggs_v1", "bars")
    row = out.rows.to_pylist()[0]
    assert (row["open"], row["high"], row["low"], row["close"]) == (10, 12, 9, 11)
    assert (row["interval"], row["trade_count"]) == ("1m", 5)
    index = gzip.compress(b"ticker,open,close,high,low,window_start\nI:SPX,1,2,3,0.5,%d\n" % T0)
    out = _check(index, "day_aggs_v1", "bars")
    row = out.rows.to_pylist()[0]
    assert (row["symbol"], row["volume"], row["interval"]) == ("I:SPX", None, "1d")
    assert row["session_date"] == date(2024, 1, 2)


def test_inconsistent_bar_is_quarantined() -> None:
    out = _check(gz("day_aggs_v1", [agg("AAPL", 10, 9, 8, 11)]), "day_aggs_v1", "bars")
    assert out.quarantined["rule_id"].to_pylist() == ["ohlc.inconsistent"]


def test_per_symbol_file_without_ticker_takes_the_symbol_of_its_key() -> None:
    data = gzip.compress(
        b"volume,open,close,high,low,window_start,transactions\n1,1,1,1,1,%d,1\n" % T0
    )
    out = _check(data, "day_aggs_v1", "bars", symbol="MSFT")
    assert out.rows["symbol"].to_pylist() == ["MSFT"]


def test_truncated_gzip_is_a_clear_error() -> None:
    data = gz("trades_v1", [trade("AAPL", "1", "1")] * 50)
    with pytest.raises(SourceError, match=r"not a complete gzip.*x\.csv\.gz.*again"):
        read_flat_file(data[: len(data) // 2], kind="trades_v1", path="x.csv.gz")


def test_wrong_header_names_what_is_missing() -> None:
    with pytest.raises(SourceError, match="lacks price, size"):
        read_flat_file(gz("quotes_v1", []), kind="trades_v1", path="x.csv.gz")


def test_both_key_layouts_name_the_same_day() -> None:
    day = date(2024, 1, 2)
    per_day = parse_key(day_key("us_stocks_sip/trades_v1", day))
    per_symbol = parse_key(symbol_key("us_stocks_sip/trades_v1", day, "AAPL"))
    assert per_day is not None
    assert per_symbol is not None
    assert (per_day.day, per_day.symbol, per_day.kind) == (day, None, "trades_v1")
    assert per_day.logical_key == "us_stocks_sip/trades_v1/2024-01-02"
    assert (per_symbol.day, per_symbol.symbol) == (day, "AAPL")
    assert parse_key("us_stocks_sip/trades_v1/2024/01/readme.txt") is None


def kept(whole: pl.DataFrame) -> list[str]:
    """The columns of a tolerant read that a chunk of the ingest's typed read also has."""
    return [c for c in whole.columns if c in USED["trades_v1"] or c.startswith(RAW_PREFIX)] + [
        "source_row"
    ]


def with_raw(chunk: FlatChunk, columns: list[str]) -> pl.DataFrame:
    """A chunk's frame with the original text of every row (read back when left out)."""
    frame = chunk.frame
    if not any(c.startswith(RAW_PREFIX) for c in frame.columns):
        frame = frame.hstack(chunk.raw_of(frame["source_row"]))
    return frame.select(columns)


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 7, 1_000])
@pytest.mark.parametrize("ending", ["\n", "", "\n\n"])
def test_chunks_parse_exactly_like_the_whole_file(chunk_rows: int, ending: str) -> None:
    import io

    import polars as pl

    from marketlake.sources.polygon.parse import iter_flat_file
    from tests.unit.sources.polygon.vendor import HEADERS

    lines = [trade("AAPL", f"{100 + i}", str(i), ts=T0 + i) for i in range(6)]
    lines[2] = trade("AAPL", "x", "1", ts=T0 + 2)
    data = gzip.compress(("\n".join([HEADERS["trades_v1"], *lines]) + ending).encode())
    whole = read_flat_file(data, kind="trades_v1", path="x.csv.gz")

    chunks = list(
        iter_flat_file(io.BytesIO(data), kind="trades_v1", path="x.csv.gz", chunk_rows=chunk_rows)
    )

    assert [c.number for c in chunks] == list(range(len(chunks)))
    assert all(c.frame.height == chunk_rows for c in chunks[:-1])
    columns = kept(whole)
    assert pl.concat([with_raw(c, columns) for c in chunks]).equals(whole.select(columns))
    resumed = list(
        iter_flat_file(
            io.BytesIO(data), kind="trades_v1", path="x.csv.gz", chunk_rows=chunk_rows,
            first_chunk=1,
        )
    )  # fmt: skip
    assert [c.number for c in resumed] == [c.number for c in chunks[1:]]


def test_a_chunked_read_of_a_truncated_file_is_a_clear_error() -> None:
    import io

    from marketlake.sources.polygon.parse import iter_flat_file

    data = gz("trades_v1", [trade("AAPL", "1", "1", ts=T0 + i) for i in range(2_000)])
    with pytest.raises(SourceError, match="not a complete gzip stream"):
        list(
            iter_flat_file(
                io.BytesIO(data[: len(data) // 2]), kind="trades_v1", path="x", chunk_rows=100
            )
        )


@pytest.mark.parametrize("block", [7, 64, 1_000])
def test_lines_split_across_read_blocks_are_kept_whole(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    import polars as pl

    from marketlake.sources.polygon import parse

    monkeypatch.setattr(parse, "READ_BLOCK", block)  # small reads: lines span several blocks
    data = gz("trades_v1", [trade("MSFT", f"{10 + i}", "1", ts=T0 + i) for i in range(50)])
    whole = read_flat_file(data, kind="trades_v1", path="x.csv.gz")

    chunks = list(parse.iter_flat_file(io.BytesIO(data), kind="trades_v1", path="x", chunk_rows=4))

    assert [c.frame.height for c in chunks] == [4] * 12 + [2]
    columns = kept(whole)
    assert pl.concat([with_raw(c, columns) for c in chunks]).equals(whole.select(columns))


ODD_LINES = {
    "trades_v1": [
        trade("AAPL", "185.50", "100"),
        trade("AAPL", "-1", "5", ts=T0 + 1),  # price.range
        trade("AAPL", "185.5", "-2.0", ts=T0 + 2),  # size.invalid
        trade("AAPL", "", "1", ts=T0 + 3),  # value.missing
        trade("MSFT", " 370.25", "0", ts=T0 + 4, cond=""),  # spaces; size.zero flag
        trade("", "10", "1", ts=T0 + 5),  # no ticker
        trade("X:BTCUSD", "42000.1", "0.0001", ts=0, cond='" 14 , 41 "'),  # ts.invalid
    ],
    "quotes_v1": [
        quote("AAPL", "185.1", "185.2"),
        quote("AAPL", "185.3", "185.2", ts=T0 + 1),  # crossed: flagged
        quote("AAPL", "-1", "0", ts=T0 + 2),  # price.range
        quote("MSFT", "0", "370", ts=T0 + 3),
    ],
    "minute_aggs_v1": [
        agg("AAPL", 1, 2, 0.5, 1.5),
        agg("AAPL", 1, 0.5, 2, 1.5, ts=T0 + 60),  # ohlc.inconsistent
        agg("I:SPX", 1, 2, 0.5, 1.5, vol="", n="", ts=T0 + 120),
        agg("AAPL", 1, 2, 0.5, 1.5, vol="-5", ts=T0 + 180),  # volume.negative
    ],
}


@pytest.mark.parametrize("bad", ["", "size x"])
@pytest.mark.parametrize("chunk_rows", [2, 1_000])
@pytest.mark.parametrize("kind", sorted(ODD_LINES))
def test_chunked_read_checks_exactly_like_the_tolerant_whole_file_read(
    kind: str, chunk_rows: int, bad: str
) -> None:
    """The ingest's typed chunk read (raw text read back for rejected rows only) gives the same
    silver rows and quarantine, text and messages included, as reading every field as text."""
    import io

    import pyarrow as pa

    from marketlake.sources.polygon.parse import iter_flat_file

    lines = list(ODD_LINES[kind])
    if bad:  # a value that does not convert: that chunk is read the tolerant way
        lines.insert(1, lines[0].replace("185.50", "18x").replace("185.1", "1x8"))
        lines.insert(2, lines[0].replace(",1.5,", ",1.5e,"))
    data = gz(kind, lines)
    dataset = {"trades_v1": "trades", "quotes_v1": "quotes"}.get(kind, "bars")

    def check(frame: pl.DataFrame, chunk: FlatChunk | None = None):  # type: ignore[no-untyped-def]
        return check_flat_file(
            frame, kind=kind, dataset=dataset, source="polygon", ingest_id="i1", price_max=1e6,
            raw_of=chunk.raw_of if chunk else None,
        )  # fmt: skip

    whole = check(read_flat_file(data, kind=kind, path="x.csv.gz"))
    chunks = list(iter_flat_file(io.BytesIO(data), kind=kind, path="x", chunk_rows=chunk_rows))
    parts = [check(c.frame, c) for c in chunks]

    typed = [not any(n.startswith(RAW_PREFIX) for n in c.frame.columns) for c in chunks]
    assert all(typed) if not bad else not all(typed)

    assert whole.quarantined.num_rows > 0
    assert pa.concat_tables([p.rows for p in parts]).equals(whole.rows)
    assert pa.concat_tables([p.quarantined for p in parts]).equals(whole.quarantined)
    flagged: dict[str, int] = {}
    for p in parts:
        for rule, n in p.flagged_by_rule.items():
            flagged[rule] = flagged.get(rule, 0) + n
    assert flagged == whole.flagged_by_rule
