"""Ingest of daily CSVs end to end on a local lake: nothing lost, nothing landed twice."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from marketlake.config import Settings
from marketlake.ingest import ingest_csv
from marketlake.lake import Lake
from marketlake.lake.bronze import read_manifest
from marketlake.lake.silver import read_dataset, read_quarantine, read_records, record_key
from marketlake.ops.ledger import read_ledger
from marketlake.sources.csv_daily.sample import SampleSet, write_daily_csvs


@pytest.fixture
def samples(tmp_path: Path) -> SampleSet:
    return write_daily_csvs(
        tmp_path / "csv",
        symbols=("MSFT", "IBM", "^GSPC"),
        start=date(2020, 1, 1),
        end=date(2022, 12, 31),
    )


def silver_bytes(lake: Lake) -> dict[str, bytes]:
    keys = lake.glob("silver/bars/*/*/*.parquet") + lake.glob("silver/_quarantine/*/*.parquet")
    return {k: lake.read_bytes(k) for k in keys}


def test_every_injected_fault_ends_in_quarantine_or_flagged(
    settings: Settings, lake: Lake, samples: SampleSet
) -> None:
    report = ingest_csv([str(samples.files[0].parent)], settings=settings)
    assert report.failed == []
    silver = pl.from_arrow(read_dataset(lake, "bars"))
    quarantine = pl.from_arrow(read_quarantine(lake))
    assert isinstance(silver, pl.DataFrame)
    assert isinstance(quarantine, pl.DataFrame)

    # count in = count silver + count quarantined, file by file and in total
    assert silver.height + quarantine.height == samples.data_lines
    for record in read_records(lake):
        assert record.rows_in == record.rows_out + record.rows_quarantined

    found = {(r["symbol"], r["source_row"]): r["rule_id"] for r in quarantine.iter_rows(named=True)}
    flagged = silver.filter(pl.col("quality_flags").is_not_null())
    for fault in samples.faults:
        if fault.kind == "quarantine":
            assert found.get((fault.symbol, fault.line)) == fault.rule_id, fault
        else:
            dates = flagged.filter(
                (pl.col("symbol") == fault.symbol)
                & pl.col("quality_flags").str.contains(fault.rule_id, literal=True)
            )
            assert dates.height >= 1, fault
    expected_errors = sum(f.kind == "quarantine" for f in samples.faults)
    assert quarantine.height == expected_errors  # nothing clean was quarantined
    assert flagged.height == sum(f.kind == "flag" for f in samples.faults)
    # one row per symbol and date in silver
    assert silver.select(pl.struct("symbol", "session_date").is_unique().all()).item()
    assert sorted(silver["symbol"].unique()) == ["IBM", "MSFT", "^GSPC"]


def test_second_ingest_lands_nothing_and_changes_nothing(
    settings: Settings, lake: Lake, samples: SampleSet
) -> None:
    first = ingest_csv([str(p) for p in samples.files], settings=settings)
    before = silver_bytes(lake)
    second = ingest_csv([str(p) for p in samples.files], settings=settings)
    assert [f.outcome for f in first.files] == ["published"] * 3
    assert [(f.outcome, f.landed_new) for f in second.files] == [("unchanged", False)] * 3
    assert silver_bytes(lake) == before
    assert len(read_manifest(lake)) == 3
    statuses = [r.status for r in read_ledger(lake) if r.run_id == second.run_id]
    assert statuses == ["skipped"] * 3

    # reprocessing on purpose gives the same silver, byte for byte
    ingest_csv([str(p) for p in samples.files], settings=settings, reprocess=True)
    assert silver_bytes(lake) == before


def test_interrupted_publish_is_resumed(settings: Settings, lake: Lake, samples: SampleSet) -> None:
    report = ingest_csv([str(samples.files[0])], settings=settings)
    before = silver_bytes(lake)
    ingest_id = report.files[0].ingest_id
    assert ingest_id is not None
    # a crash after writing silver but before the record: the record is missing
    lake.remove(record_key(ingest_id))
    again = ingest_csv([str(samples.files[0])], settings=settings)
    assert again.files[0].outcome == "published"
    assert not again.files[0].landed_new
    assert silver_bytes(lake) == before


def test_a_new_export_of_a_file_replaces_the_old_rows(
    settings: Settings, lake: Lake, tmp_path: Path
) -> None:
    path = tmp_path / "MSFT.csv"
    header = "Date,Open,High,Low,Close,Adj Close,Volume\n"
    path.write_text(
        header + "2020-01-02,1,2,0.5,1.5,1.4,100\n2020-01-03,null,null,null,null,null,null\n"
    )
    ingest_csv([str(path)], settings=settings)
    path.write_text(header + "2020-01-02,1,2,0.5,1.6,1.4,100\n2020-01-03,1,2,0.5,1.7,1.4,100\n")
    report = ingest_csv([str(path)], settings=settings)
    assert report.files[0].outcome == "published"
    assert read_dataset(lake, "bars")["close"].to_pylist() == [1.6, 1.7]
    assert read_quarantine(lake).num_rows == 0  # the old delivery's rejects went with it
    assert len(lake.glob("bronze/csv_daily/*/*")) == 2  # both raw versions are kept

    # landing the old bytes again does not bring the old rows back
    path.write_text(
        header + "2020-01-02,1,2,0.5,1.5,1.4,100\n2020-01-03,null,null,null,null,null,null\n"
    )
    assert ingest_csv([str(path)], settings=settings).files[0].outcome == "superseded"
    assert read_dataset(lake, "bars")["close"].to_pylist() == [1.6, 1.7]


def test_one_bad_file_does_not_stop_the_others(
    settings: Settings, lake: Lake, samples: SampleSet, tmp_path: Path
) -> None:
    folder = samples.files[0].parent
    (folder / "EMPTY.csv").write_text("")
    (folder / "WRONG.csv").write_text("ticker,price\nMSFT,1\n")
    report = ingest_csv([str(folder), str(tmp_path / "missing.csv")], settings=settings)
    outcomes = {Path(f.path).name: f.outcome for f in report.files}
    assert outcomes == {
        "missing.csv": "failed",
        "EMPTY.csv": "failed",
        "WRONG.csv": "failed",
        "IBM.csv": "published",
        "MSFT.csv": "published",
        "^GSPC.csv": "published",
    }
    errors = {Path(f.path).name: str(f.error) for f in report.failed}
    assert "empty" in errors["EMPTY.csv"]
    assert "header lacks Date, Open, High, Low, Close, Volume" in errors["WRONG.csv"]
    assert "no CSV file found" in errors["missing.csv"]
    failed_rows = [r for r in read_ledger(lake) if r.status == "failed"]
    assert len(failed_rows) == 3
    assert all(r.error for r in failed_rows)


def test_symbol_option_is_for_one_file(settings: Settings, samples: SampleSet) -> None:
    from marketlake.errors import SourceError

    with pytest.raises(SourceError, match="--symbol"):
        ingest_csv([str(p) for p in samples.files], settings=settings, symbol="X")
    report = ingest_csv([str(samples.files[0])], settings=settings, symbol="MSFT2")
    assert report.files[0].symbol == "MSFT2"
