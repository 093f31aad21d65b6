"""Builds that have nothing to build, break a test, or find the warehouse locked."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime

import polars as pl
import pytest

from marketlake.config import Settings
from marketlake.errors import WarehouseError, WarehouseLockedError
from marketlake.lake.store import Lake
from marketlake.ops.ledger import Run, read_ledger
from marketlake.warehouse import build_warehouse
from marketlake.warehouse.duckdb_target import connect, prepare_silver

from .sample_silver import calendar_days, daily_bars, land_delivery, publish
from .support import project_models, project_unit_tests, read_table

pytestmark = pytest.mark.integration


def test_an_empty_lake_builds_empty_marts(settings: Settings, offline: None) -> None:
    result = build_warehouse(settings)

    assert result.models_built == len(project_models())
    assert result.tests_failed == 0
    assert result.unit_tests_passed == project_unit_tests()  # unit tests bring their own rows
    for model, url in result.exports.items():
        if model == "dim_source":  # the sources marketlake reads, with no delivery yet
            assert pl.read_parquet(url)["deliveries"].sum() == 0
            continue
        assert pl.read_parquet(url).height == 0, model
        assert read_table(settings, f"marts.{model}").height == 0, model


def test_a_failing_data_test_raises_and_names_it(settings: Settings, lake: Lake) -> None:
    days = calendar_days(date(2024, 1, 1), date(2024, 1, 31), weekends=False)
    ingest_id = land_delivery(lake, source="csv_daily", logical_key="BAD.csv", content=b"bad")
    bars = daily_bars("BAD", days, seed=1, source="csv_daily", ingest_id=ingest_id).to_pylist()
    bars[3]["high"], bars[3]["low"] = bars[3]["low"], bars[3]["high"]  # high < low
    publish(lake, pl.DataFrame(bars).to_arrow())
    run = Run(lake)

    with pytest.raises(WarehouseError) as caught:
        build_warehouse(settings, run=run)

    message = str(caught.value)
    assert "stg_silver__bars_high_at_least_low" in message
    assert "Got 1 result" in message
    assert str(settings.state_dir / "dbt" / "logs" / "dbt.log") in message
    assert not caught.value.transient
    [row] = [r for r in read_ledger(lake) if r.run_id == run.run_id]
    assert (row.step, row.status) == ("build", "failed")
    assert row.details["tests_failed"] >= 1
    assert not (settings.data_dir / "gold").exists()  # nothing exported from a failed build


@pytest.fixture
def locked(settings: Settings) -> Iterator[None]:
    """Another process holding the DuckDB file open for writing."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
            "print('ready', flush=True); sys.stdin.read()",
            str(settings.duckdb_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)


def test_a_locked_warehouse_is_a_transient_error(settings: Settings, locked: None) -> None:
    with pytest.raises(WarehouseLockedError) as caught:
        build_warehouse(settings)

    assert caught.value.transient
    assert caught.value.hint is not None
    assert "another process" in caught.value.message
    assert caught.value.context["path"] == str(settings.duckdb_path)


def test_landed_at_is_read_as_an_instant(settings: Settings, lake: Lake) -> None:
    ingest_id = land_delivery(lake, source="csv_daily", logical_key="ONE.csv", content=b"one")
    days = [date(2024, 1, 2)]
    publish(lake, daily_bars("ONE", days, seed=1, source="csv_daily", ingest_id=ingest_id))
    con = connect(settings.duckdb_path)
    try:
        summary = prepare_silver(con, lake)
        row = con.execute("select ingest_id, landed_at from silver.ingests").fetchall()
    finally:
        con.close()
    assert (summary.bars_mode, summary.bar_files, summary.bar_rows, summary.ingests) == (
        "view",
        1,
        1,
        1,
    )
    [(got_id, landed_at)] = row
    assert got_id == ingest_id
    assert abs(landed_at - datetime.now(UTC)).total_seconds() < 600
