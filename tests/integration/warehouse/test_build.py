"""A real dbt build over three years of seeded silver bars, checked against Polars."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import polars.selectors as cs
import pytest

from marketlake.config import Settings
from marketlake.lake.store import Lake, open_lake
from marketlake.ops.ledger import Run, read_ledger
from marketlake.warehouse import BuildResult, build_warehouse
from marketlake.warehouse.dbt_runner import PROJECT_DIR

from . import reference
from .sample_silver import OVERLAP, Sample, publish_sample
from .support import (
    make_settings,
    project_models,
    project_unit_tests,
    read_table,
    refuse_network,
)

pytestmark = pytest.mark.integration

MARTS = project_models("marts")  # every mart is exported to gold


def in_utc(frame: pl.DataFrame) -> pl.DataFrame:
    """Instants labelled "UTC" (DuckDB labels them with the host's zone name, e.g. Etc/UTC)."""
    return frame.with_columns(cs.datetime(time_zone="*").dt.convert_time_zone("UTC"))


@dataclass(frozen=True)
class Built:
    settings: Settings
    lake: Lake
    result: BuildResult
    run: Run
    daily: pl.DataFrame  # the Polars reference of fct_daily_bars
    sample: Sample


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """One warehouse built from the sample silver, offline, shared by this module's tests."""
    settings = make_settings(tmp_path_factory.mktemp("warehouse"))
    lake = open_lake(settings)
    sample = publish_sample(lake)
    run = Run(lake)
    with pytest.MonkeyPatch.context() as patch:
        refuse_network(patch)
        result = build_warehouse(settings, run=run)
    return Built(settings, lake, result, run, reference.daily_bars(lake), sample)


def test_build_reports_models_tests_and_exports(built: Built) -> None:
    result = built.result
    assert result.models_built == len(project_models())
    assert result.tests_failed == 0
    assert result.nodes_failed == []
    assert result.tests_passed > 50
    assert result.unit_tests_passed == project_unit_tests()
    assert result.warehouse_path == built.settings.duckdb_path
    assert set(result.exports) == MARTS
    for model, url in result.exports.items():
        assert url == f"{built.settings.gold_uri}/{model}.parquet"
        assert Path(url).is_file()
    assert not list(Path(built.settings.gold_uri).glob(".tmp-*"))


def test_build_writes_one_ledger_row_per_step(built: Built) -> None:
    rows = [r for r in read_ledger(built.lake) if r.run_id == built.run.run_id]
    assert [(r.step, r.target, r.status) for r in rows] == [
        ("build", "dbt:duckdb", "ok"),
        ("export", built.settings.gold_uri, "ok"),
    ]
    build, export = rows
    assert build.rows_out == built.result.models_built
    assert build.details["tests_failed"] == 0
    assert build.details["unit_tests_passed"] == project_unit_tests()
    assert export.rows_out == sum(export.details[m] for m in MARTS)


def test_dbt_writes_nothing_into_the_installed_project(built: Built) -> None:
    assert sorted(p.name for p in PROJECT_DIR.iterdir()) == [
        "dbt_project.yml",
        "macros",
        "models",
        "snapshots",
        "tests",
    ]
    state = built.settings.state_dir / "dbt"
    assert (state / "profiles.yml").is_file()
    assert (state / "logs" / "dbt.log").stat().st_size > 0
    assert (state / "target" / "run_results.json").is_file()


def test_schemas_are_exactly_the_layers(built: Built) -> None:
    tables = read_table(
        built.settings,
        "information_schema.tables where table_schema not in ('information_schema', 'pg_catalog')",
    )
    schemas = set(tables["table_schema"].to_list())
    assert schemas == {"silver", "staging", "intermediate", "snapshots", "marts"}


@pytest.mark.parametrize("period", ["weekly", "monthly", "quarterly", "yearly"])
def test_period_aggregates_match_polars(built: Built, period: str) -> None:
    actual = read_table(built.settings, f"marts.agg_bars_{period}")
    expected = reference.period_bars(built.daily, period)
    assert expected["labels"].max() == 1  # a period never carries two labels
    assert actual.height == expected.height
    assert reference.mismatches(actual, expected.drop("labels"), reference.KEYS) == []


def test_iso_week_spanning_two_years_is_one_row(built: Built) -> None:
    weekly = read_table(built.settings, "marts.agg_bars_weekly")
    week = weekly.filter(pl.col("symbol") == "X:BTCUSD", pl.col("period_label") == "2020-W53")
    assert week.height == 1
    row = week.row(0, named=True)
    assert row["period_start"] == date(2020, 12, 28)
    assert (row["first_session_date"], row["last_session_date"]) == (
        date(2020, 12, 28),
        date(2021, 1, 3),
    )
    assert row["trading_days"] == 7


def test_fct_daily_bars_matches_polars(built: Built) -> None:
    actual = read_table(built.settings, "marts.fct_daily_bars")
    expected = built.daily.select(
        "symbol",
        "session_date",
        "open",
        "high",
        "low",
        "close",
        "adj_close",
        "volume",
        "source",
        "ingest_id",
    )
    assert actual.height == expected.height
    assert reference.mismatches(actual, expected, ["symbol", "session_date"]) == []
    assert actual["bar_key"].n_unique() == actual.height
    assert actual.select(
        (pl.col("date_key") == pl.col("session_date").dt.strftime("%Y%m%d").cast(pl.Int32)).all()
    ).item()


def test_overlapping_deliveries_keep_the_latest_landed(built: Built) -> None:
    fct = read_table(built.settings, "marts.fct_daily_bars").filter(pl.col("symbol") == "AAA")
    in_overlap = pl.col("session_date").is_between(*OVERLAP)
    assert set(fct.filter(in_overlap)["ingest_id"].to_list()) == {built.sample.aaa_new}
    assert set(fct.filter(pl.col("session_date") < OVERLAP[0])["ingest_id"].to_list()) == {
        built.sample.aaa_old
    }
    # Both deliveries hold the same bars in the overlap; staging keeps one row per bar.
    stg = read_table(built.settings, "staging.stg_silver__bars").filter(pl.col("symbol") == "AAA")
    assert stg.height == fct.height
    assert stg.filter(in_overlap)["ingest_id"].unique().to_list() == [built.sample.aaa_new]


def test_redelivery_with_other_bar_times_wins_per_session(built: Built) -> None:
    fct = read_table(built.settings, "marts.fct_daily_bars").filter(pl.col("symbol") == "BRK.B")
    march = fct.filter(pl.col("session_date").is_between(date(2021, 3, 1), date(2021, 3, 31)))
    assert march.height > 15
    assert set(march["ingest_id"].to_list()) == {built.sample.brk_march}
    assert set(march["source"].to_list()) == {"polygon"}


def test_dim_date_is_a_gapless_iso_calendar(built: Built) -> None:
    dim = read_table(built.settings, "marts.dim_date").sort("date_day")
    first, last = built.daily["session_date"].min(), built.daily["session_date"].max()
    assert dim["date_day"].to_list() == pl.date_range(first, last, eager=True).to_list()
    expected = dim.select(
        date_key=pl.col("date_day").dt.strftime("%Y%m%d").cast(pl.Int32),
        iso_year=pl.col("date_day").dt.iso_year(),
        iso_week=pl.col("date_day").dt.week(),
        day_of_week=pl.col("date_day").dt.weekday(),
        week_start=pl.col("date_day").dt.truncate("1w"),
        quarter_start=pl.col("date_day").dt.truncate("1q"),
        day_name=pl.col("date_day").dt.strftime("%A"),
        month_name=pl.col("date_day").dt.strftime("%B"),
        is_weekend=pl.col("date_day").dt.weekday() >= 6,
        has_bars=pl.col("date_day").is_in(built.daily["session_date"].unique().implode()),
    )
    for column in expected.columns:
        assert dim[column].cast(expected[column].dtype).to_list() == expected[column].to_list()


def test_dim_symbol_covers_every_symbol_with_its_sources(built: Built) -> None:
    dim = read_table(built.settings, "marts.dim_symbol").sort("symbol")
    assert dim["symbol"].to_list() == ["AAA", "BBB", "BRK.B", "X:BTCUSD"]
    sources = dict(zip(dim["symbol"], dim["sources"], strict=True))
    assert sources == {
        "AAA": "csv_daily",
        "BBB": "csv_daily,polygon",  # its 1m bars came from polygon
        "BRK.B": "csv_daily,polygon",
        "X:BTCUSD": "polygon",
    }
    days = built.daily.group_by("symbol").agg(pl.len().alias("n")).sort("symbol")
    assert dim["trading_days"].to_list() == days["n"].to_list()
    fct = read_table(built.settings, "marts.fct_daily_bars")
    assert set(fct["symbol_key"].to_list()) == set(dim["symbol_key"].to_list())


def test_parquet_exports_equal_the_warehouse_tables(built: Built) -> None:
    for model, url in built.result.exports.items():
        table = in_utc(read_table(built.settings, f"marts.{model}"))
        exported = in_utc(pl.read_parquet(url))
        assert exported.schema == table.schema, model
        assert exported.equals(table.sort(table.columns)), model


def test_building_again_gives_identical_exports(built: Built) -> None:
    before = {m: Path(url).read_bytes() for m, url in built.result.exports.items()}
    again = build_warehouse(built.settings)
    assert again.exports == built.result.exports
    after = {m: Path(url).read_bytes() for m, url in again.exports.items()}
    assert after == before


def test_the_loader_serves_one_bar_per_time_as_gold_does(built: Built) -> None:
    # A backtest reads bars through the loader; it must see the bars gold chose, one per time.
    import marketlake

    gold = in_utc(read_table(built.settings, "marts.fct_prices")).rename(
        {"bar_interval": "interval"}
    )
    keys = ["symbol", "interval", "ts_event"]
    cols = [*keys, "close", "ingest_id"]
    for (symbol, interval), expected in gold.group_by("symbol", "interval"):
        eager = marketlake.read_bars(symbol, interval=interval, settings=built.settings)
        lazy = marketlake.scan_bars(symbol, interval=interval, settings=built.settings).collect()
        for actual in (eager, lazy):
            assert actual.select(cols).equals(expected.sort("ts_event").select(cols)), symbol
    every = marketlake.read_bars(None, interval=None, settings=built.settings)
    assert every.height == gold.height
    assert every.select(pl.struct(keys).is_duplicated().any()).item() is False
