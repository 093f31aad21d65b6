"""Ingesting reference files into the lake: history kept, idempotent, nothing lost."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from marketlake.config import Settings
from marketlake.ingest_reference import ingest_symbols
from marketlake.lake import Lake
from marketlake.lake.bronze import read_manifest
from marketlake.lake.silver import read_dataset, read_quarantine
from marketlake.ops.ledger import Run
from marketlake.orchestrate.demo_reference import demo_reference


def silver_symbols(lake: Lake) -> pl.DataFrame:
    frame = pl.from_arrow(read_dataset(lake, "symbols"))
    assert isinstance(frame, pl.DataFrame)
    return frame.sort("ts_event", "symbol")


def test_demo_deliveries_accumulate_as_history(
    settings: Settings, lake: Lake, tmp_path: Path
) -> None:
    demo = demo_reference(settings, tmp_path / "samples", Run(lake))
    assert demo.first.outcome == "published"
    assert demo.second.outcome == "published"
    frame = silver_symbols(lake)
    assert frame.height == 2 * demo.samples.valid_entries  # the second does not replace the first
    changed = frame.filter(pl.col("symbol") == demo.samples.changed_symbol)
    assert changed["ts_event"].dt.date().to_list() == [
        demo.samples.first_as_of,
        demo.samples.second_as_of,
    ]
    assert changed["name"].n_unique() == 2
    assert changed["sector"].n_unique() == 2
    quarantine = read_quarantine(lake, "symbols")
    assert sorted(quarantine["rule_id"].to_pylist()) == ["record.malformed", "symbol.invalid"]
    for result in (demo.first, demo.second):
        record = result.record
        assert record is not None
        assert record.rows_in == record.rows_out + record.rows_quarantined


def test_running_the_demo_again_lands_nothing(
    settings: Settings, lake: Lake, tmp_path: Path
) -> None:
    demo_reference(settings, tmp_path / "samples", Run(lake))
    before = (read_manifest(lake, "reference"), silver_symbols(lake))
    again = demo_reference(settings, tmp_path / "samples", Run(lake))
    assert (again.first.outcome, again.second.outcome) == ("unchanged", "unchanged")
    assert not again.first.landed_new
    assert read_manifest(lake, "reference") == before[0]
    assert silver_symbols(lake).equals(before[1])


def test_the_landing_time_is_the_default_as_of(
    settings: Settings, lake: Lake, tmp_path: Path
) -> None:
    path = tmp_path / "ref.csv"
    path.write_text("symbol,name\nMSFT,Microsoft\n")
    result = ingest_symbols(path, settings=settings)
    (entry,) = read_manifest(lake, "reference")
    assert result.ingest_id == entry.ingest_id
    landed = datetime.fromisoformat(entry.landed_at)
    assert silver_symbols(lake)["ts_event"].to_list() == [landed]


def test_the_same_file_with_another_as_of_is_another_delivery(
    settings: Settings, lake: Lake, tmp_path: Path
) -> None:
    path = tmp_path / "ref.json"
    path.write_text('[{"symbol": "MSFT", "name": "Microsoft"}]')
    one = datetime(2024, 1, 1, tzinfo=UTC)
    two = datetime(2024, 6, 1, tzinfo=UTC)
    assert ingest_symbols(path, settings=settings, as_of=one).outcome == "published"
    assert ingest_symbols(path, settings=settings, as_of=two).outcome == "published"
    assert ingest_symbols(path, settings=settings, as_of=two).outcome == "unchanged"
    assert silver_symbols(lake)["ts_event"].to_list() == [one, two]


def test_failures_are_reported_not_raised(settings: Settings, tmp_path: Path) -> None:
    missing = ingest_symbols(tmp_path / "nope.csv", settings=settings)
    assert missing.outcome == "failed"
    assert "cannot read" in str(missing.error)
    wrong = tmp_path / "ref.txt"
    wrong.write_text("symbol\nMSFT\n")
    assert "format" in str(ingest_symbols(wrong, settings=settings).error)
