"""A real dbt build over a small silver bars_info, checked against numpy, scipy and Python."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl
import pytest
from scipy import stats

from marketlake.analytics import bar_stats
from marketlake.config import Settings
from marketlake.lake.store import Lake, open_lake
from marketlake.warehouse import BuildResult, build_warehouse
from marketlake.warehouse.duckdb_target import prepare_silver
from tests.unit.analytics.sample import sample_bars_info, write_bars_info, write_continuous

from .support import make_settings, read_table, refuse_network

pytestmark = pytest.mark.integration

SERIES = bar_stats.SERIES
BAR_MARTS = {"fct_bars_info", "agg_bar_counts_weekly", "agg_bar_returns_monthly"}
BAR_MARTS |= {"agg_bar_kind_stability"}


@dataclass(frozen=True)
class Built:
    settings: Settings
    result: BuildResult
    silver: pl.DataFrame  # every bars_info row written
    returns: pl.DataFrame  # the Python reference: complete bars with log returns


def silver_bars() -> tuple[pl.DataFrame, pl.DataFrame]:
    """ES from the current writer, NQ from an older one (no complete, bar_threshold, source)."""
    es = sample_bars_info("ES", weeks=8)
    nq = sample_bars_info("NQ", weeks=8, seed=5).drop("complete", "bar_threshold", "source")
    return es, nq


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    settings = make_settings(tmp_path_factory.mktemp("bar_stats"))
    lake = open_lake(settings)
    es, nq = silver_bars()
    write_bars_info(lake, es)
    write_bars_info(lake, nq, run_key="older")
    write_continuous(lake)
    with pytest.MonkeyPatch.context() as patch:
        refuse_network(patch)
        result = build_warehouse(settings)
    silver = pl.concat([es, nq], how="diagonal_relaxed")
    return Built(settings, result, silver, bar_stats.bar_returns(silver))


def mart(built: Built, name: str) -> pl.DataFrame:
    return read_table(built.settings, f"marts.{name}")


def test_bar_statistics_marts_build_test_and_export(built: Built) -> None:
    assert built.result.tests_failed == 0
    assert built.result.nodes_failed == []
    assert built.result.unit_tests_passed >= 3  # the bar-statistics unit tests among them
    assert set(built.result.exports) >= BAR_MARTS
    for name in BAR_MARTS:
        exported = pl.read_parquet(built.result.exports[name])
        assert exported.height == mart(built, name).height > 0, name


def test_every_silver_bar_is_in_fct_bars_info_with_its_python_return(built: Built) -> None:
    fct = mart(built, "fct_bars_info")
    assert fct.height == built.silver.height
    incomplete = fct.filter(~pl.col("is_complete"))
    assert incomplete.height == 4  # the last bar of each ES series; the older NQ files say none
    assert incomplete["log_return"].null_count() == 4
    assert (
        fct.filter(pl.col("symbol") == "NQ")["source"].null_count()
        == fct.filter(pl.col("symbol") == "NQ").height
    )
    complete = fct.filter(pl.col("is_complete")).sort([*SERIES, "bar_number"], nulls_last=True)
    expected = built.returns.sort(SERIES, nulls_last=True, maintain_order=True)
    assert complete.height == expected.height
    got = complete["log_return"].to_numpy()
    want = expected["log_return"].to_numpy()
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=0, atol=1e-12)


def test_monthly_variance_equals_numpys_sample_variance(built: Built) -> None:
    monthly = mart(built, "agg_bar_returns_monthly")
    assert monthly.height >= 16  # 8 series x 2-3 months
    for row in monthly.iter_rows(named=True):
        key = [pl.col(c).is_null() if row[c] is None else pl.col(c) == row[c] for c in SERIES]
        values = (
            built.returns.filter(*key, pl.col("month_start") == row["month_start"])["log_return"]
            .drop_nulls()
            .to_numpy()
        )
        assert row["return_count"] == len(values)
        assert row["variance_return"] == pytest.approx(np.var(values, ddof=1), rel=1e-9, abs=1e-15)
        assert row["std_return"] == pytest.approx(stats.tstd(values), rel=1e-9, abs=1e-15)
        assert row["mean_return"] == pytest.approx(values.mean(), rel=1e-9, abs=1e-15)


def test_weekly_counts_and_stability_equal_the_python_functions(built: Built) -> None:
    weekly = mart(built, "agg_bar_counts_weekly")
    expected = bar_stats.weekly_bar_counts(built.returns)
    keys = [*SERIES, "week_start"]
    assert (
        weekly.select(*keys, "period_label", "bar_count")
        .sort(keys, nulls_last=True)
        .equals(expected.sort(keys, nulls_last=True))
    )

    stability = mart(built, "agg_bar_kind_stability").sort(SERIES, nulls_last=True)
    reference = bar_stats.count_stability(
        expected, bar_stats.monthly_return_variance(built.returns)
    ).sort(SERIES, nulls_last=True)
    assert stability.height == reference.height == 8
    for column in ("mean_weekly_count", "std_weekly_count", "cv_weekly_count"):
        assert stability[column].to_list() == pytest.approx(reference[column].to_list(), rel=1e-9)
    assert stability["cv_monthly_variance"].to_list() == pytest.approx(
        reference["cv_monthly_variance"].to_list(), rel=1e-9
    )
    assert stability["stability_rank"].to_list() == reference["stability_rank"].to_list()
    steadiest = stability.filter(pl.col("stability_rank") == 1)
    assert steadiest["kind"].to_list() == ["time", "time"]  # one per symbol


def test_remote_lakes_are_copied_with_missing_columns_filled() -> None:
    lake = Lake(f"memory://marketlake-test-{uuid.uuid4().hex}")
    _, nq = silver_bars()
    write_bars_info(lake, nq)
    con = duckdb.connect()
    try:
        summary = prepare_silver(con, lake)
        complete = con.execute("select count(*), count(complete) from silver.bars_info").fetchone()
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    finally:
        con.close()
    assert summary.modes["bars_info"] == "table"
    assert summary.modes["bars"] == "empty"
    assert summary.bars_info_rows == nq.height
    assert complete == (nq.height, 0)  # the column exists, as nulls: staging counts them complete
    assert {"bars", "bars_info", "continuous", "continuous_rolls", "ingests"} <= tables
