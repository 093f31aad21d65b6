"""Ingest of HDF5 tick files into silver trades: nothing lost, nothing twice, resumable."""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

import h5py
import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from marketlake.config import Settings, load_settings
from marketlake.errors import SourceError
from marketlake.ingest_hdf5 import ingest_hdf5
from marketlake.lake import Lake, open_lake
from marketlake.lake.bronze import read_manifest
from marketlake.lake.silver import (
    progress_key,
    read_dataset,
    read_quarantine,
    read_records,
    record_key,
)
from marketlake.ops.ledger import read_ledger
from marketlake.sources.hdf5_ticks.sample import EsSample, write_es_h5

CHUNK = 1_000


def small(tmp_path: Path, name: str = "data", **hdf5: object) -> Settings:
    return load_settings(data_dir=tmp_path / name, sources={"hdf5": {"chunk_rows": CHUNK, **hdf5}})


@pytest.fixture
def es(tmp_path: Path) -> EsSample:
    """5,500 trades over a March roll (ESH1 -> ESM1), with NaN prices and times going back."""
    return write_es_h5(
        tmp_path / "in" / "ES.h5",
        trades=5_500,
        start=date(2021, 3, 8),
        trades_per_day=700,
        faults=3,
        seed=1,
    )


def frame(table: pa.Table) -> pl.DataFrame:
    out = pl.from_arrow(table)
    assert isinstance(out, pl.DataFrame)
    return out


def silver_files(lake: Lake) -> dict[str, bytes]:
    keys = lake.glob("silver/trades/*/*/*.parquet") + lake.glob("silver/_quarantine/*/*.parquet")
    return {k: lake.read_bytes(k) for k in keys}


def test_every_row_lands_once_in_silver_or_quarantine(tmp_path: Path, es: EsSample) -> None:
    settings = small(tmp_path)
    report = ingest_hdf5(es.path, settings=settings)
    [result] = report.keys
    assert (result.key, result.outcome, result.error) == ("tick/trades", "published", None)
    lake = open_lake(settings)
    silver, quarantine = frame(read_dataset(lake, "trades")), frame(read_quarantine(lake))

    assert silver.height + quarantine.height == es.rows["tick/trades"]
    [record] = read_records(lake)
    assert record.rows_in == record.rows_out + record.rows_quarantined == 5_500
    assert record.quarantined_by_rule == {"ts.unsorted": 3, "value.missing": 3}
    assert record.flagged_by_rule == {"size.zero": es.zero_size}
    expected = {(f.row, f.rule_id) for f in es.faults if f.key == "tick/trades"}
    assert set(zip(quarantine["source_row"], quarantine["rule_id"], strict=True)) == expected

    # Contracts as the file has them; the source names the key; zero-size trades are kept.
    assert sorted(silver["symbol"].unique()) == es.contracts == ["ESH1", "ESM1"]
    assert silver["source"].unique().to_list() == ["hdf5:tick/trades"]
    assert silver.filter(pl.col("size") == 0)["quality_flags"].unique().to_list() == ["size.zero"]

    # Files are per symbol and year, named by ingest and chunk; in chunk order, each symbol's
    # trades never go back in time, and every file is in the record.
    assert sorted(record.partitions) == sorted(lake.glob("silver/trades/*/*/*.parquet"))
    for symbol in es.contracts:
        keys = sorted(lake.glob(f"silver/trades/symbol={symbol}/year=2021/*.parquet"))
        assert all(k.rsplit("/", 1)[1].startswith(f"{record.ingest_id}-0000") for k in keys)
        ts = pl.concat([frame(lake.read_parquet(k)) for k in keys])["ts_event"]
        assert ts.is_sorted()
    assert not lake.exists(progress_key(record.ingest_id))


def test_a_second_run_does_nothing(tmp_path: Path, es: EsSample) -> None:
    settings = small(tmp_path)
    ingest_hdf5(es.path, settings=settings)
    lake = open_lake(settings)
    before = silver_files(lake)
    again = ingest_hdf5(es.path, settings=settings)
    assert again.landed == "already"
    assert [k.outcome for k in again.keys] == ["unchanged"]
    assert silver_files(lake) == before
    assert [r.status for r in read_ledger(lake) if r.run_id == again.run_id] == ["skipped"] * 2
    assert len(read_manifest(lake)) == 1


def test_an_interrupted_ingest_resumes_and_ends_as_an_uninterrupted_one(
    tmp_path: Path, es: EsSample
) -> None:
    settings = small(tmp_path)

    def stop_after_two_chunks(what: str, done: int, total: int) -> None:
        if what == "tick/trades" and done >= 2 * CHUNK:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest_hdf5(es.path, settings=settings, on_progress=stop_after_two_chunks)
    lake = open_lake(settings)
    assert read_records(lake) == []  # not published: the record is written last
    assert lake.glob("silver/_progress/*.json")

    resumed = ingest_hdf5(es.path, settings=settings)
    assert resumed.keys[0].outcome == "published"
    assert resumed.keys[0].resumed_at_row == 2 * CHUNK
    assert lake.glob("silver/_progress/*.json") == []

    clean = small(tmp_path, "clean")
    ingest_hdf5(es.path, settings=clean)
    assert silver_files(lake) == silver_files(open_lake(clean))
    [record] = read_records(lake)
    assert record.rows_in == 5_500


def test_a_crash_after_the_record_is_harmless(tmp_path: Path, es: EsSample) -> None:
    settings = small(tmp_path)
    report = ingest_hdf5(es.path, settings=settings)
    lake = open_lake(settings)
    ingest_id = report.keys[0].ingest_id
    assert ingest_id is not None
    lake.write_json(progress_key(ingest_id), {"stale": True})
    assert ingest_hdf5(es.path, settings=settings).keys[0].outcome == "unchanged"
    assert not lake.exists(progress_key(ingest_id))
    lake.remove(record_key(ingest_id))  # crashed before the record: published again
    before = silver_files(lake)
    assert ingest_hdf5(es.path, settings=settings).keys[0].outcome == "published"
    assert silver_files(lake) == before


def test_both_datasets_and_the_filtered_view_is_derivable(tmp_path: Path, es: EsSample) -> None:
    settings = small(tmp_path)
    keys = ["tick/trades", "tick/trades_filter0vol"]
    report = ingest_hdf5(es.path, settings=settings, keys=keys)
    assert [(k.key, k.outcome) for k in report.keys] == [(k, "published") for k in keys]
    silver = frame(read_dataset(open_lake(settings), "trades"))
    columns = ["ts_event", "symbol", "price", "size"]
    unfiltered = silver.filter(pl.col("source") == "hdf5:tick/trades")
    derived = unfiltered.filter(pl.col("quality_flags").is_null()).select(columns)
    filtered = silver.filter(pl.col("source") == "hdf5:tick/trades_filter0vol").select(columns)
    assert derived.sort(columns).equals(filtered.sort(columns))
    assert filtered.height == es.rows["tick/trades_filter0vol"] - 6


def test_symbol_of_a_file_without_contracts(tmp_path: Path) -> None:
    sample = write_es_h5(
        tmp_path / "mes.h5", trades=300, trades_per_day=300, contracts=False, filtered_key=None
    )
    report = ingest_hdf5(sample.path, settings=small(tmp_path))
    assert report.keys[0].outcome == "published"
    lake = open_lake(small(tmp_path))
    assert frame(read_dataset(lake, "trades"))["symbol"].unique().to_list() == ["MES"]

    other = small(tmp_path, "other")
    ingest_hdf5(sample.path, settings=other, symbol="mes1 ")
    assert frame(read_dataset(open_lake(other), "trades"))["symbol"].unique().to_list() == ["MES1"]


def test_bronze_holds_the_file_once_by_link_or_copy(tmp_path: Path, es: EsSample) -> None:
    linked = small(tmp_path)
    report = ingest_hdf5(es.path, settings=linked)
    bronze = Path(open_lake(linked).full(report.bronze_key))
    assert report.landed == "linked"
    assert os.stat(bronze).st_ino == os.stat(es.path).st_ino  # no second copy of the bytes
    assert not os.stat(bronze).st_mode & stat.S_IWUSR  # and it cannot change under bronze
    [entry] = read_manifest(open_lake(linked))
    assert (entry.sha256, entry.bronze_key) == (report.sha256, report.bronze_key)
    assert entry.logical_key == "ES.h5/tick/trades"

    copied = small(tmp_path, "copied", bronze="copy")
    report = ingest_hdf5(es.path, settings=copied)
    bronze = Path(open_lake(copied).full(report.bronze_key))
    assert report.landed == "copied"
    assert os.stat(bronze).st_ino != os.stat(es.path).st_ino
    assert bronze.read_bytes() == es.path.read_bytes()


def test_a_new_file_under_the_same_name_replaces_the_old_rows(tmp_path: Path, es: EsSample) -> None:
    settings = small(tmp_path)
    first = ingest_hdf5(es.path, settings=settings)
    newer = write_es_h5(es.path, trades=700, start=date(2021, 6, 1), trades_per_day=700, seed=9)
    second = ingest_hdf5(newer.path, settings=settings)
    assert second.sha256 != first.sha256
    lake = open_lake(settings)
    silver = frame(read_dataset(lake, "trades"))
    assert silver.height == 700
    assert silver["ingest_id"].unique().to_list() == [second.keys[0].ingest_id]
    assert read_quarantine(lake).num_rows == 0  # the old delivery's rejects went with it
    assert [r.ingest_id for r in read_records(lake)] == [second.keys[0].ingest_id]


def test_unknown_layout_fails_naming_keys_and_dtypes(tmp_path: Path) -> None:
    path = tmp_path / "odd.h5"
    with h5py.File(path, "w") as f:
        f["prices"] = np.zeros((5, 2))
    settings = small(tmp_path)
    with pytest.raises(SourceError, match=r"unknown layout.*prices \(a 5x2 float64 array"):
        ingest_hdf5(path, settings=settings)
    [row] = read_ledger(open_lake(settings))
    assert row.status == "failed"
    assert "unknown layout" in str(row.error)
    with pytest.raises(SourceError, match="no such file"):
        ingest_hdf5(tmp_path / "missing.h5", settings=settings)
