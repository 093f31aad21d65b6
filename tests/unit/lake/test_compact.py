"""Compaction: fewer files, the same rows, re-ingest and retract still exact, crash-safe."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from marketlake.bars.reader import iter_trade_chunks, scan_trade_files
from marketlake.config import Settings, load_settings
from marketlake.ingest_hdf5 import ingest_hdf5
from marketlake.lake import Lake, open_lake
from marketlake.lake.compact import (
    Journal,
    compact,
    journal_key,
    read_journals,
    recover_compactions,
)
from marketlake.lake.silver import (
    read_dataset,
    read_records,
    retract_chunked_ingest,
    retract_ingest,
)
from marketlake.serve import loader
from marketlake.sources.hdf5_ticks.sample import EsSample, write_es_h5
from tests.unit.serve.support import minute_bars, publish

SILVER = "silver/trades/*/*/*.parquet"


def small(tmp_path: Path, name: str) -> Settings:
    # 1,000-row chunks: the 5,500 trades land as several files per partition
    return load_settings(data_dir=tmp_path / name, sources={"hdf5": {"chunk_rows": 1_000}})


@pytest.fixture
def es(tmp_path: Path) -> EsSample:
    return write_es_h5(
        tmp_path / "in" / "ES.h5", trades=5_500, start=date(2021, 3, 8), trades_per_day=700, seed=2
    )


@pytest.fixture
def ingested(tmp_path: Path, es: EsSample) -> tuple[Settings, Lake]:
    settings = small(tmp_path, "data")
    ingest_hdf5(es.path, settings=settings)
    return settings, open_lake(settings)


def rows(lake: Lake) -> pl.DataFrame:
    frame = pl.from_arrow(read_dataset(lake, "trades"))
    assert isinstance(frame, pl.DataFrame)
    return frame.sort(pl.all())


def loaded(settings: Settings) -> pl.DataFrame:
    loader.cache_clear()
    return loader.read_trades(None, settings=settings).sort(pl.all())


def bar_input(lake: Lake, symbol: str) -> np.ndarray:
    files = scan_trade_files(lake, symbol)
    chunks = iter_trade_chunks(lake, files, symbol=symbol, source="hdf5:tick/trades")
    return np.concatenate([np.stack([c.ts, c.price, c.size]) for c in chunks], axis=1)


def test_compaction_merges_files_and_changes_no_row(ingested: tuple[Settings, Lake]) -> None:
    settings, lake = ingested
    before_files, before = lake.glob(SILVER), rows(lake)
    before_bars = {s: bar_input(lake, s) for s in ("ESH1", "ESM1")}

    report = compact(lake)
    after_files = lake.glob(SILVER)
    assert len(before_files) > len(after_files) == 2  # one file per contract partition
    assert report.files_in == len(before_files)
    assert report.rows == before.height
    assert rows(lake).equals(before)
    assert loaded(settings).equals(before)
    for symbol, arrays in before_bars.items():  # the bars reader sees the same trades, in order
        np.testing.assert_array_equal(bar_input(lake, symbol), arrays)
    [record] = read_records(lake)
    assert sorted(record.partitions) == after_files  # the record lists the merged files

    assert compact(lake).merged == []  # idempotent
    assert lake.glob(SILVER) == after_files


def test_reingest_after_compaction_equals_reingest_alone(
    tmp_path: Path, es: EsSample, ingested: tuple[Settings, Lake]
) -> None:
    settings, lake = ingested
    compact(lake)
    ingest_hdf5(es.path, settings=settings, reprocess=True)

    alone = small(tmp_path, "alone")
    ingest_hdf5(es.path, settings=alone)
    ingest_hdf5(es.path, settings=alone, reprocess=True)
    other = open_lake(alone)
    assert rows(lake).equals(rows(other))
    assert [k.rsplit("/", 1)[1] for k in lake.glob(SILVER)] == [
        k.rsplit("/", 1)[1] for k in other.glob(SILVER)
    ]

    # Retracting the ingest still removes every one of its rows, merged or not.
    compact(lake)
    [record] = read_records(lake)
    retract_chunked_ingest(lake, dataset="trades", ingest_id=record.ingest_id)
    assert lake.glob(SILVER) == []
    assert read_records(lake) == []


def test_a_crash_after_the_commit_shows_every_row_once_and_is_finished_later(
    ingested: tuple[Settings, Lake],
) -> None:
    settings, lake = ingested
    before, before_files = rows(lake), lake.glob(SILVER)

    def crash(journal: Journal) -> None:
        raise KeyboardInterrupt  # between renaming the merged file in and deleting its inputs

    with pytest.raises(KeyboardInterrupt):
        compact(lake, on_merge=crash)
    [journal] = read_journals(lake)
    assert set(journal.inputs) < set(before_files)
    assert journal.output in lake.glob(SILVER)
    assert loaded(settings).equals(before)  # inputs hidden by the journal: no duplicate

    report = compact(lake)
    assert report.recovered == 1
    assert read_journals(lake) == []
    assert len(lake.glob(SILVER)) == 2
    assert rows(lake).equals(before)
    assert loaded(settings).equals(before)


def test_a_crash_before_the_commit_leaves_the_inputs_as_they_were(
    ingested: tuple[Settings, Lake], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, lake = ingested
    before, before_files = rows(lake), lake.glob(SILVER)

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("marketlake.lake.compact._commit", fail)
    with pytest.raises(OSError, match="disk full"):
        compact(lake)
    assert lake.glob(SILVER) == before_files
    assert loaded(settings).equals(before)
    assert read_journals(lake) == []
    assert [p.name for p in Path(lake.full("silver/trades")).rglob(".tmp-*")] == []
    monkeypatch.undo()

    # A journal whose output never appeared (killed mid-write) is rolled back.
    ghost = Journal(
        "trades", "x", inputs=before_files[:2], output="silver/trades/x.parquet", rows=1
    )
    lake.write_json(journal_key("trades", ghost.output), ghost.__dict__)
    assert loaded(settings).equals(before)
    assert recover_compactions(lake) == 1
    assert read_journals(lake) == []
    assert lake.glob(SILVER) == before_files


def test_the_compact_command_says_what_it_merged(ingested: tuple[Settings, Lake]) -> None:
    from typer.testing import CliRunner

    from marketlake.cli.main import app

    settings, lake = ingested
    files = len(lake.glob(SILVER))
    args = ["--data-dir", str(settings.data_dir), "compact", "--dataset", "trades"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"merged {files} files into 2" in result.output
    again = CliRunner().invoke(app, args)
    assert "merged 0 files into 0" in again.output


def bars_by_day(lake: Lake) -> None:
    for i, day in enumerate([date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)]):
        publish(lake, "bars", f"day{i}", minute_bars("AAA", [day]) + minute_bars("BBB", [day]))


def read_all(settings: Settings) -> pl.DataFrame:
    loader.cache_clear()
    return loader.read_bars(None, settings=settings)


def direct_bars(lake: Lake) -> pl.DataFrame:
    frame = pl.from_arrow(read_dataset(lake, "bars"))
    assert isinstance(frame, pl.DataFrame)
    return frame.filter(pl.col("interval") == "1m").sort("symbol", "ts_event")


def test_served_copies_give_the_loader_one_file_per_partition(
    settings: Settings, lake: Lake
) -> None:
    bars_by_day(lake)  # one ingest a day: three small files per partition
    silver = {k: lake.read_bytes(k) for k in lake.glob("silver/bars/*/*/*.parquet")}
    before = read_all(settings)

    report = compact(lake, datasets=("bars",))
    assert report.served == 2
    assert report.merged == []  # silver itself is untouched: files stay named by ingest
    assert {k: lake.read_bytes(k) for k in lake.glob("silver/bars/*/*/*.parquet")} == silver
    assert read_all(settings).equals(before)
    assert compact(lake, datasets=("bars",)).served == 0  # current copies are kept

    # The loader reads the copy: break it and the read fails.
    [copy, _] = lake.glob("silver/_serve/bars/*/*/*.parquet")
    good = lake.read_bytes(copy)
    lake.write_bytes(copy, b"broken")
    with pytest.raises(pl.exceptions.ComputeError):
        read_all(settings)
    lake.write_bytes(copy, good)


def test_a_reingest_or_retraction_is_seen_at_once_despite_served_copies(
    settings: Settings, lake: Lake
) -> None:
    bars_by_day(lake)
    compact(lake, datasets=("bars",))
    publish(lake, "bars", "day1", minute_bars("AAA", [date(2024, 1, 3)], minutes=1, base=7.0))
    got = read_all(settings)
    assert got.equals(direct_bars(lake))
    assert got.height == 3 * 4 * 2 - 4 - 3  # BBB's day gone, AAA's day down to one bar

    retract_ingest(lake, dataset="bars", ingest_id="day2")
    assert read_all(settings).equals(direct_bars(lake))
    compact(lake, datasets=("bars",))
    assert len(lake.glob("silver/_serve/bars/*/*/*.parquet")) == 1  # BBB has a single file now
    assert read_all(settings).equals(direct_bars(lake))
