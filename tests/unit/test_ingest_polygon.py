"""Polygon flat files from a local folder (the vendor's key layout) into the lake.

Symbol subsets of one delivery, the streamed (chunked, temporary-file) path against the in-memory
one, resume of an interrupted chunked publish, and a broken file streamed part-way.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from marketlake.config import Settings, load_settings
from marketlake.errors import SourceError
from marketlake.ingest_polygon import ingest_polygon, with_source_dir
from marketlake.ingest_polygon_publish import publish_flat_file
from marketlake.lake import open_lake
from marketlake.lake.bronze import land
from marketlake.lake.silver import read_dataset, read_progress, read_quarantine, read_records
from marketlake.sources.polygon import SOURCE, parse_key
from marketlake.sources.polygon.keys import day_key
from marketlake.sources.polygon.sample import T0, gz, trade

TRADES = "us_stocks_sip/trades_v1"
DAY1, DAY2 = date(2024, 1, 2), date(2024, 1, 3)
NS_DAY = 86_400 * 10**9


def _settings(tmp_path: Path, name: str = "data", **polygon: Any) -> Settings:
    folder = tmp_path / "flatfiles"
    folder.mkdir(exist_ok=True)
    settings = load_settings(data_dir=tmp_path / name, sources={"polygon": polygon})
    return with_source_dir(settings, folder)


def _put(tmp_path: Path, key: str, data: bytes) -> None:
    path = tmp_path / "flatfiles" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _big_day(day: date, rows: int) -> bytes:
    """A day of trades for three symbols, with a bad size (and an unparseable price) in it."""
    ts = T0 + (day - DAY1).days * NS_DAY
    symbols = ("AAPL", "MSFT", "X:BTCUSD")
    lines = [
        trade(symbols[i % 3], f"{100 + (i % 50) / 10:.2f}", str(1 + i % 7), ts=ts + i * 1000)
        for i in range(rows)
    ]
    bad = min(17, rows - 1)
    lines[bad] = trade("MSFT", "100", "-5", ts=ts + bad * 1000)
    if rows >= 20:
        lines[rows - 3] = trade("AAPL", "abc", "1", ts=ts + (rows - 3) * 1000)
    return gz("trades_v1", lines)


def _rows(settings: Settings, dataset: str = "trades") -> list[tuple[Any, ...]]:
    table = read_dataset(open_lake(settings), dataset)
    keys = ("symbol", "ts_event", "price", "size", "conditions", "trade_id", "ingest_id")
    return sorted(
        tuple(map(str, row)) for row in zip(*(table[k].to_pylist() for k in keys), strict=True)
    )


def _quarantine(settings: Settings) -> list[tuple[Any, ...]]:
    q = read_quarantine(open_lake(settings), "trades")
    keys = ("source_row", "symbol", "rule_id", "message", "raw", "ingest_id")
    return sorted(zip(*(q[k].to_pylist() for k in keys), strict=True))


def test_symbol_subsets_then_all_publish_each_row_exactly_once(tmp_path: Path) -> None:
    _put(tmp_path, day_key(TRADES, DAY1), _big_day(DAY1, 30))
    settings = _settings(tmp_path)

    first = ingest_polygon(TRADES, DAY1, DAY1, settings=settings, symbols=["AAPL"])
    aapl = _rows(settings)
    second = ingest_polygon(TRADES, DAY1, DAY1, settings=settings, symbols=["aapl", "MSFT"])
    both = _rows(settings)
    again = ingest_polygon(TRADES, DAY1, DAY1, settings=settings, symbols=["MSFT"])
    everything = ingest_polygon(TRADES, DAY1, DAY1, settings=settings)
    rows = _rows(settings)
    subset_after_all = ingest_polygon(TRADES, DAY1, DAY1, settings=settings, symbols=["AAPL"])

    assert {r[0] for r in aapl} == {"AAPL"}
    assert {r[0] for r in both} == {"AAPL", "MSFT"}
    assert [f.outcome for f in (*first.files, *second.files)] == ["published", "published"]
    assert first.files[0].ingest_id == second.files[0].ingest_id  # one delivery, published twice
    assert [f.outcome for f in again.files] == ["unchanged"]
    assert [f.outcome for f in everything.files] == ["published"]
    assert [f.outcome for f in subset_after_all.files] == ["unchanged"]
    assert len(rows) == len(set(rows)) == 28  # 30 lines, 2 quarantined
    assert {r[0] for r in rows} == {"AAPL", "MSFT", "X:BTCUSD"}
    assert len(_quarantine(settings)) == 2
    assert _rows(settings) == rows
    (record,) = read_records(open_lake(settings))
    assert (record.rows_in, record.symbols) == (30, None)
    assert len(open_lake(settings).glob("bronze/polygon/*/*.csv.gz")) == 1


def test_a_republished_day_keeps_the_symbols_published_from_the_older_delivery(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    _put(tmp_path, day_key(TRADES, DAY1), _big_day(DAY1, 30))
    ingest_polygon(TRADES, DAY1, DAY1, settings=settings, symbols=["AAPL"])
    _put(tmp_path, day_key(TRADES, DAY1), _big_day(DAY1, 45))  # re-published, more rows

    report = ingest_polygon(TRADES, DAY1, DAY1, settings=settings, symbols=["MSFT"])

    assert [f.outcome for f in report.files] == ["published"]
    rows = _rows(settings)
    assert {r[0] for r in rows} == {"AAPL", "MSFT"}
    assert {r[-1] for r in rows} == {report.files[0].ingest_id}  # the older rows are gone
    assert len(rows) == 29  # 15 AAPL + 15 MSFT of 45 lines, one bad size (MSFT)


def test_streamed_and_in_memory_paths_give_identical_silver_and_quarantine(
    tmp_path: Path,
) -> None:
    _put(tmp_path, day_key(TRADES, DAY1), _big_day(DAY1, 2_500))
    memory = _settings(tmp_path, "memory")
    streamed = _settings(tmp_path, "streamed", stream_threshold_mib=0, chunk_rows=1_000)

    a = ingest_polygon(TRADES, DAY1, DAY1, settings=memory)
    b = ingest_polygon(TRADES, DAY1, DAY1, settings=streamed)

    assert [f.outcome for f in (*a.files, *b.files)] == ["published", "published"]
    assert _rows(memory) == _rows(streamed)
    assert len(_rows(memory)) == 2_498
    assert _quarantine(memory) == _quarantine(streamed)
    assert [q[:3] for q in _quarantine(streamed)] == [
        (19, "MSFT", "size.invalid"),
        (2_499, "AAPL", "value.unparseable"),
    ]
    lake = open_lake(streamed)
    assert len(lake.glob("silver/trades/symbol=AAPL/year=2024/*.parquet")) == 3  # one per chunk
    assert lake.glob("bronze/polygon/*/*.csv.gz")  # landed from the temporary file
    assert not list((streamed.state_dir / "polygon_downloads").glob("*"))  # and that is gone
    (ra,), (rb,) = read_records(open_lake(memory)), read_records(lake)
    assert (ra.rows_in, ra.rows_out, ra.quarantined_by_rule) == (
        rb.rows_in,
        rb.rows_out,
        rb.quarantined_by_rule,
    )


def test_an_interrupted_publish_resumes_after_the_last_chunk(tmp_path: Path) -> None:
    data = _big_day(DAY1, 3_500)
    _put(tmp_path, day_key(TRADES, DAY1), data)
    clean = _settings(tmp_path, "clean", chunk_rows=1_000)
    ingest_polygon(TRADES, DAY1, DAY1, settings=clean)
    settings = _settings(tmp_path, chunk_rows=1_000)
    lake = open_lake(settings)
    flat = parse_key(day_key(TRADES, DAY1))
    assert flat is not None
    entry, _ = land(
        lake, data, source=SOURCE, logical_key=flat.logical_key, original_name=flat.key,
        extension=".csv.gz",
    )  # fmt: skip

    class CrashError(Exception):
        pass

    def crash_after_two_chunks(rows: int) -> None:
        if rows >= 2_000:
            raise CrashError

    with pytest.raises(CrashError):
        publish_flat_file(
            lake, io.BytesIO(data), flat, ingest_id=entry.ingest_id, symbols=None,
            settings=settings, supersedes=[], on_rows=crash_after_two_chunks,
        )  # fmt: skip
    progress = read_progress(lake, entry.ingest_id)
    assert progress is not None
    assert progress.next_chunk == 2

    report = ingest_polygon(TRADES, DAY1, DAY1, settings=settings)

    assert [(f.outcome, f.resumed_at_row) for f in report.files] == [("published", 2_000)]
    assert _rows(settings) == _rows(clean)
    assert _quarantine(settings) == _quarantine(clean)
    assert read_progress(lake, entry.ingest_id) is None
    assert len(lake.glob("bronze/polygon/*/*.csv.gz")) == 1


def test_a_broken_file_streamed_part_way_leaves_nothing_in_silver(tmp_path: Path) -> None:
    whole = _big_day(DAY2, 20_000)
    _put(tmp_path, day_key(TRADES, DAY1), _big_day(DAY1, 10))
    _put(tmp_path, day_key(TRADES, DAY2), whole[: len(whole) * 3 // 4])
    settings = _settings(tmp_path, stream_threshold_mib=0, chunk_rows=1_000)

    report = ingest_polygon(TRADES, DAY1, DAY2, settings=settings)

    assert [f.outcome for f in report.files] == ["published", "failed"]
    assert "not a complete gzip" in str(report.failed[0].error)
    assert "2024-01-03.csv.gz" in str(report.failed[0].error)
    lake = open_lake(settings)
    assert {r[-1] for r in _rows(settings)} == {report.files[0].ingest_id}
    assert not lake.glob("silver/_progress/*.json")


def test_local_folder_lists_skips_unchanged_and_supersedes_a_replaced_day(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    _put(tmp_path, day_key(TRADES, DAY1), _big_day(DAY1, 6))
    _put(tmp_path, day_key(TRADES, DAY2), _big_day(DAY2, 6))

    first = ingest_polygon(TRADES, DAY1, date(2024, 1, 4), settings=settings)
    again = ingest_polygon(TRADES, DAY1, DAY2, settings=settings)
    _put(tmp_path, day_key(TRADES, DAY2), _big_day(DAY2, 9))
    replaced = ingest_polygon(TRADES, DAY1, DAY2, settings=settings)

    assert [(f.day, f.outcome) for f in first.files] == [
        (DAY1, "published"),
        (DAY2, "published"),
        (date(2024, 1, 4), "missing"),
    ]
    assert [f.outcome for f in again.files] == ["unchanged", "unchanged"]
    assert [f.outcome for f in replaced.files] == ["unchanged", "published"]
    assert len(_rows(settings)) == 5 + 8  # one bad size per day
    assert len(read_records(open_lake(settings))) == 2


def test_a_missing_source_folder_is_one_clear_error(tmp_path: Path) -> None:
    settings = with_source_dir(load_settings(data_dir=tmp_path / "data"), tmp_path / "nope")
    with pytest.raises(SourceError, match="folder does not exist") as info:
        ingest_polygon(TRADES, DAY1, DAY1, settings=settings)
    assert "--source-dir" in str(info.value)


def test_silver_files_read_back_as_the_lake_writer_s(tmp_path: Path) -> None:
    """The ingest's own Parquet settings (no dictionary or statistics on trade ids) change how
    files are encoded, never what a reader gets back."""
    import pyarrow.parquet as pq

    from marketlake.ingest_polygon_publish import write_silver
    from marketlake.lake.silver import write_parquet_encoded
    from marketlake.sources.polygon import check_flat_file, read_flat_file

    lines = [trade("AAPL", f"{100 + i / 100:.2f}", str(i % 9), ts=T0 + i) for i in range(300)]
    lines[7] = trade("AAPL", "101", "2", ts=T0 + 7, cond="")
    parsed = read_flat_file(gz("trades_v1", lines), kind="trades_v1", path="x")
    rows = check_flat_file(
        parsed, kind="trades_v1", dataset="trades", source=SOURCE, ingest_id="i1", price_max=1e6
    ).rows
    lake = open_lake(_settings(tmp_path))

    write_silver(lake, "a.parquet", rows)
    write_parquet_encoded(lake, "b.parquet", rows)

    ours, theirs = lake.read_parquet("a.parquet"), lake.read_parquet("b.parquet")
    assert ours.num_rows == 300
    assert ours.equals(theirs)
    meta = pq.ParquetFile(lake.full("a.parquet")).metadata.row_group(0)
    names = rows.schema.names
    assert meta.column(names.index("ts_event")).statistics is not None  # pruning by time stays
