"""Bar statistics: returns within a series, weekly counts, monthly variance, ACF, normality."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.diagnostic import acorr_ljungbox
from statsmodels.tsa.stattools import acf

from marketlake.analytics import bar_stats
from marketlake.analytics.bar_stats import SERIES, bar_returns, bar_statistics

from .sample import sample_bars_info

TOL = 1e-12


def bar(
    ts_end: datetime, close: float, *, kind: str = "tick", threshold: float = 100.0, **kw: object
) -> dict[str, object]:
    row: dict[str, object] = {
        "ts_start": ts_end,
        "ts_end": ts_end,
        "symbol": "ES",
        "kind": kind,
        "threshold": threshold,
        "open": close,
        "high": close,
        "low": close,
        "close": close,
        "volume": 1.0,
        "tick_count": 1,
        "complete": True,
        "source": "s",
    }
    return row | kw


def frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(rows).with_columns(
        pl.col("ts_start", "ts_end").cast(pl.Datetime("ns", "UTC"))
    )


def at(day: int, hour: int = 15, month: int = 1, year: int = 2021) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.fixture(scope="module")
def sample() -> pl.DataFrame:
    return sample_bars_info("ES")


def test_returns_never_cross_series_and_skip_incomplete_bars() -> None:
    rows = [
        bar(at(5), 200.0),  # out of order on purpose
        bar(at(4), 100.0),
        bar(at(6), 50.0, complete=False),
        bar(at(4, 16), 400.0, kind="dollar", threshold=1e6),
        bar(at(5, 16), 300.0, source="other"),
    ]
    returns = bar_returns(frame(rows))

    by_series = {
        (r["kind"], r["source"]): r["log_return"]
        for r in returns.filter(pl.col("log_return").is_not_null()).iter_rows(named=True)
    }
    assert by_series == {("tick", "s"): pytest.approx(np.log(2.0), abs=TOL)}
    assert returns.height == 4  # the incomplete bar is left out
    assert returns.filter(pl.col("kind") == "dollar")["log_return"].to_list() == [None]


def test_files_without_complete_or_source_count_every_bar() -> None:
    old = frame([bar(at(4), 100.0), bar(at(5), 110.0)]).drop("complete", "source")
    returns = bar_returns(old)
    assert returns["log_return"].to_list()[1] == pytest.approx(np.log(1.1), abs=TOL)


def test_weekly_counts_keep_iso_weeks_and_count_empty_weeks_as_zero() -> None:
    rows = [
        bar(at(28, month=12, year=2020), 1.0),  # Monday of 2020-W53
        bar(at(1), 1.0),  # Friday 2021-01-01: still 2020-W53
        bar(at(12), 1.0),  # 2021-W02
        bar(at(29, month=12, year=2020), 1.0, kind="dollar"),
        bar(at(5), 1.0, kind="dollar"),  # 2021-W01: the tick series has none that week
        bar(at(13), 1.0, kind="dollar"),
        bar(at(19), 1.0, kind="time"),  # 2021-W03: outside the tick series' span
    ]
    weekly = bar_stats.weekly_bar_counts(bar_returns(frame(rows)))
    tick = weekly.filter(pl.col("kind") == "tick")
    assert tick["period_label"].to_list() == ["2020-W53", "2021-W01", "2021-W02"]
    assert tick["bar_count"].to_list() == [2, 0, 1]
    assert weekly.filter(pl.col("kind") == "time")["bar_count"].to_list() == [1]


def test_time_bars_are_the_steadiest_weekly_count(sample: pl.DataFrame) -> None:
    result = bar_statistics(sample, nlags=5, min_returns=30)
    ranked = result.stability.sort("stability_rank")
    assert ranked["kind"][0] == "time"
    assert ranked["cv_weekly_count"][0] < 0.05 < ranked["cv_weekly_count"][1]
    for row in result.stability.iter_rows(named=True):
        counts = result.weekly.filter(
            pl.col("kind") == row["kind"], pl.col("threshold") == row["threshold"]
        )["bar_count"].to_numpy()
        assert row["weeks"] == len(counts)
        assert row["cv_weekly_count"] == pytest.approx(counts.std(ddof=1) / counts.mean(), abs=TOL)


def test_monthly_variance_is_numpys_sample_variance(sample: pl.DataFrame) -> None:
    returns = bar_returns(sample)
    monthly = bar_stats.monthly_return_variance(returns)
    assert monthly.height >= 12  # four series over three months
    for row in monthly.iter_rows(named=True):
        values = (
            returns.filter(
                *(pl.col(c) == row[c] for c in SERIES), pl.col("month_start") == row["month_start"]
            )["log_return"]
            .drop_nulls()
            .to_numpy()
        )
        assert row["return_count"] == len(values)
        assert row["variance_return"] == pytest.approx(np.var(values, ddof=1), rel=1e-9, abs=TOL)
        assert row["std_return"] == pytest.approx(stats.tstd(values), rel=1e-9, abs=TOL)


def test_acf_equals_statsmodels_and_the_textbook_formula(sample: pl.DataFrame) -> None:
    returns = bar_returns(sample)
    result = bar_stats.autocorrelations(returns, nlags=5, min_returns=30)
    assert set(result["lag"].to_list()) == {1, 2, 3, 4, 5}
    for key, values in bar_stats.series_returns(returns).items():
        mine = result.filter(*(pl.col(c) == v for c, v in zip(SERIES, key, strict=True)))
        x = values - values.mean()
        textbook = [np.sum(x[k:] * x[:-k]) / np.sum(x * x) for k in range(1, 6)]
        assert mine["acf"].to_list() == pytest.approx(acf(values, nlags=5)[1:], abs=TOL)
        assert mine["acf"].to_list() == pytest.approx(textbook, abs=1e-10)
        assert mine["bound"][0] == pytest.approx(1.96 / np.sqrt(len(values)), rel=1e-3)


def test_normality_equals_scipy_and_the_jarque_bera_formula(sample: pl.DataFrame) -> None:
    returns = bar_returns(sample)
    tests = bar_stats.return_tests(returns, nlags=5, min_returns=30)
    for key, values in bar_stats.series_returns(returns).items():
        row = tests.filter(*(pl.col(c) == v for c, v in zip(SERIES, key, strict=True))).row(
            0, named=True
        )
        jb = stats.jarque_bera(values)
        n, s, k = len(values), stats.skew(values), stats.kurtosis(values)
        assert (row["jb_stat"], row["jb_pvalue"]) == pytest.approx((jb.statistic, jb.pvalue))
        assert row["jb_stat"] == pytest.approx(n / 6 * (s**2 + k**2 / 4), rel=1e-9)
        assert (row["skew"], row["excess_kurtosis"]) == pytest.approx((s, k), abs=TOL)
        lb = acorr_ljungbox(values, lags=[5])
        assert row["lb_pvalue"] == pytest.approx(lb["lb_pvalue"].iloc[-1], abs=TOL)


def test_tests_tell_fat_tails_and_serial_correlation_apart() -> None:
    rng = np.random.default_rng(11)
    noise = rng.normal(size=2000)
    ar = np.empty(2000)
    ar[0] = 0.0
    for i in range(1, 2000):
        ar[i] = 0.5 * ar[i - 1] + noise[i]
    fat = rng.standard_t(3, 2000)

    assert bar_stats.normality(noise)["jb_pvalue"] > 0.01
    assert bar_stats.normality(fat)["jb_pvalue"] < 0.001
    assert bar_stats.normality(fat)["excess_kurtosis"] > 1.0
    assert bar_stats.ljung_box(noise, 10)["lb_pvalue"] > 0.01
    assert bar_stats.ljung_box(ar, 10)["lb_pvalue"] < 0.001
    assert bar_stats.autocorrelation(ar, 3)[0] == pytest.approx(0.5, abs=0.05)


def test_short_series_get_counts_but_no_acf_or_tests() -> None:
    rows = [bar(at(d), 100.0 + d) for d in range(4, 9)]
    result = bar_statistics(frame(rows), nlags=5, min_returns=30)
    assert result.stability["bar_count"].to_list() == [5]
    assert result.acf.height == 0
    [row] = result.tests.iter_rows(named=True)
    assert row["n"] == 4
    assert row["jb_pvalue"] is None


def test_an_empty_frame_gives_empty_statistics() -> None:
    empty = frame([bar(at(4), 1.0)]).clear()
    result = bar_statistics(empty, nlags=5, min_returns=30)
    assert result.stability.height == result.acf.height == result.tests.height == 0


def test_bar_dates_are_utc_dates_of_the_close() -> None:
    late = datetime(2021, 1, 31, 23, 30, tzinfo=UTC)  # still January in UTC
    returns = bar_returns(frame([bar(late, 1.0)]))
    assert returns["bar_date"].to_list() == [date(2021, 1, 31)]
    assert returns["month_start"].to_list() == [date(2021, 1, 1)]
