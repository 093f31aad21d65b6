"""Bar statistics: which bar kind samples the market most evenly (AFML ch. 2 exercises).

Pure functions on Polars frames of silver ``bars_info`` rows. A *series* is one symbol x kind
x threshold x source (the trades the bars were built from, as the bars step names its runs).
Statistics use complete bars only, and log returns are taken close-to-close within a series,
never across two. Weeks and months are UTC calendar periods of the bars'
close time (``ts_end``), as in the warehouse marts ``agg_bar_counts_weekly``,
``agg_bar_returns_monthly`` and ``agg_bar_kind_stability``, which these functions reproduce.

The autocorrelation (statsmodels), the Ljung-Box test (on it) and the normality
statistics (scipy: skew, excess kurtosis, Jarque-Bera) are computed here only: a statistics
library does them better than SQL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

SERIES = ["symbol", "kind", "threshold", "source"]
# Bars are ordered by close time; the other columns only break ties, as in fct_bars_info.
ORDER = ["ts_end", "ts_start", "open", "high", "low", "close", "volume", "tick_count"]
CONFIDENCE_Z = 1.959963984540054  # two-sided 95% bound of an ACF of white noise: z / sqrt(n)


@dataclass(frozen=True)
class BarStatistics:
    """Every bar statistic of a set of series, one frame per kind of figure."""

    returns: pl.DataFrame  # complete bars with bar_date, week_start, month_start, log_return
    weekly: pl.DataFrame  # bar counts per series and ISO week
    stability: pl.DataFrame  # per series: weekly-count and monthly-variance stability
    monthly: pl.DataFrame  # return count, mean, variance, std per series and month
    acf: pl.DataFrame  # autocorrelation per series and lag 1..k
    tests: pl.DataFrame  # per series: normality (skew, kurtosis, Jarque-Bera) and Ljung-Box


def bar_returns(bars: pl.DataFrame) -> pl.DataFrame:
    """Complete bars in series order, with their UTC date, week, month and log return.

    Args:
        bars: Silver ``bars_info`` rows (``complete`` and ``source`` may be absent).

    Returns:
        The complete bars sorted by series and close time, with ``bar_date`` (UTC date of
        ``ts_end``), ``week_start`` (ISO Monday), ``month_start`` and ``log_return`` =
        ln(close / previous close of the series), null on each series' first bar.
    """
    # Files written before these columns existed: every bar complete, source unknown.
    if "complete" not in bars.columns:
        bars = bars.with_columns(complete=pl.lit(True))
    if "source" not in bars.columns:
        bars = bars.with_columns(source=pl.lit(None, pl.String))
    complete = pl.col("complete").fill_null(True)
    previous = pl.col("close").shift(1).over(SERIES)
    positive = (previous > 0) & (pl.col("close") > 0)
    bar_date = pl.col("ts_end").dt.convert_time_zone("UTC").dt.date()
    return (
        bars.filter(complete)
        .sort([*SERIES, *ORDER])
        .with_columns(bar_date=bar_date)
        .with_columns(
            week_start=pl.col("bar_date").dt.truncate("1w"),
            month_start=pl.col("bar_date").dt.truncate("1mo"),
            log_return=pl.when(positive).then((pl.col("close") / previous).log()),
        )
    )


def weekly_bar_counts(returns: pl.DataFrame) -> pl.DataFrame:
    """Complete bars per series and ISO week, empty weeks of the symbol counted as 0.

    A week in which the symbol has bars of another series but none of this one counts 0,
    within the series' own first..last week; weeks without any bar of the symbol are left out.

    Args:
        returns: The output of :func:`bar_returns`.

    Returns:
        One row per series and ``week_start`` with ``period_label`` ('2024-W05') and
        ``bar_count``, sorted.
    """
    counts = returns.group_by([*SERIES, "week_start"]).agg(bar_count=pl.len())
    symbol_weeks = counts.select("symbol", "week_start").unique()
    spans = counts.group_by(SERIES).agg(
        first_week=pl.col("week_start").min(), last_week=pl.col("week_start").max()
    )
    grid = spans.join(symbol_weeks, on="symbol").filter(
        pl.col("week_start").is_between(pl.col("first_week"), pl.col("last_week"))
    )
    return (
        grid.join(counts, on=[*SERIES, "week_start"], how="left", nulls_equal=True)
        .select(
            *SERIES,
            "week_start",
            period_label=pl.col("week_start").dt.strftime("%G-W%V"),
            bar_count=pl.col("bar_count").fill_null(0).cast(pl.Int64),
        )
        .sort([*SERIES, "week_start"])
    )


def monthly_return_variance(returns: pl.DataFrame) -> pl.DataFrame:
    """Count, mean, sample variance and std of log returns per series and month (UTC).

    A return belongs to the month of the bar that closes it.

    Args:
        returns: The output of :func:`bar_returns`.

    Returns:
        One row per series and ``month_start``; variance and std (n - 1) are null below two
        returns.
    """
    r = pl.col("log_return")
    return (
        returns.group_by([*SERIES, "month_start"])
        .agg(
            bar_count=pl.len(),
            return_count=r.count(),
            mean_return=r.mean(),
            variance_return=r.var(ddof=1),
            std_return=r.std(ddof=1),
        )
        .sort([*SERIES, "month_start"])
    )


def count_stability(weekly: pl.DataFrame, monthly: pl.DataFrame) -> pl.DataFrame:
    """Per series: how steady its weekly bar count and its monthly return variance are.

    Args:
        weekly: The output of :func:`weekly_bar_counts`.
        monthly: The output of :func:`monthly_return_variance`.

    Returns:
        One row per series: ``weeks``, ``bar_count``, mean / std / coefficient of variation
        (std / mean) of the weekly counts, ``stability_rank`` within the symbol (1 = lowest CV,
        ties share a rank), and mean / std / CV of the monthly variances.
    """
    count = pl.col("bar_count").cast(pl.Float64)
    counts = weekly.group_by(SERIES).agg(
        weeks=pl.len(),
        bar_count=pl.col("bar_count").sum(),
        mean_weekly_count=count.mean(),
        std_weekly_count=count.std(ddof=1),
        min_weekly_count=pl.col("bar_count").min(),
        max_weekly_count=pl.col("bar_count").max(),
    )
    variance = pl.col("variance_return")
    variances = monthly.group_by(SERIES).agg(
        months=variance.count(),
        mean_monthly_variance=variance.mean(),
        std_monthly_variance=variance.std(ddof=1),
    )
    cv = pl.col("std_weekly_count") / pl.col("mean_weekly_count")
    return (
        counts.join(variances, on=SERIES, how="left", nulls_equal=True)
        .with_columns(cv_weekly_count=cv)
        .with_columns(
            stability_rank=pl.col("cv_weekly_count").rank("min").over("symbol"),
            cv_monthly_variance=pl.when(pl.col("mean_monthly_variance") > 0).then(
                pl.col("std_monthly_variance") / pl.col("mean_monthly_variance")
            ),
        )
        .sort([*SERIES])
    )


def series_returns(returns: pl.DataFrame) -> dict[tuple[Any, ...], np.ndarray]:
    """The finite log returns of each series, in order, as NumPy arrays keyed by series."""
    out: dict[tuple[Any, ...], np.ndarray] = {}
    for key, part in returns.partition_by(SERIES, as_dict=True, maintain_order=True).items():
        values = part["log_return"].drop_nulls().to_numpy()
        out[key] = values[np.isfinite(values)]
    return out


def autocorrelation(values: np.ndarray, nlags: int) -> np.ndarray:
    """The sample autocorrelation of ``values`` at lags 1..nlags (statsmodels ``acf``).

    Lags beyond ``len(values) - 1`` are not returned.
    """
    from statsmodels.tsa.stattools import acf

    lags = min(nlags, len(values) - 1)
    if lags < 1:
        return np.empty(0)
    result: np.ndarray = np.asarray(acf(values, nlags=lags, fft=True))
    return result[1:]


def autocorrelations(returns: pl.DataFrame, *, nlags: int, min_returns: int) -> pl.DataFrame:
    """The ACF at lags 1..nlags of every series with at least ``min_returns`` returns.

    Args:
        returns: The output of :func:`bar_returns`.
        nlags: The largest lag.
        min_returns: Series with fewer returns are left out (their ACF would be noise).

    Returns:
        One row per series and lag: ``acf``, ``n`` (returns) and ``bound``, the 95% band
        of white noise (±1.96 / sqrt(n)): values outside it are significant serial correlation.
    """
    rows: list[dict[str, Any]] = []
    for key, values in series_returns(returns).items():
        if len(values) < min_returns:
            continue
        series = dict(zip(SERIES, key, strict=True))
        n, bound = len(values), CONFIDENCE_Z / math.sqrt(len(values))
        rows.extend(
            {**series, "lag": lag, "acf": float(value), "n": n, "bound": bound}
            for lag, value in enumerate(autocorrelation(values, nlags), start=1)
        )
    schema = {**_series_schema(returns), "lag": pl.Int64, "acf": pl.Float64, "n": pl.Int64}
    return pl.DataFrame(rows, schema={**schema, "bound": pl.Float64})


def normality(values: np.ndarray) -> dict[str, float]:
    """Skew, excess kurtosis and the Jarque-Bera test of ``values`` (scipy).

    Skew and kurtosis are the biased (moment) estimators the Jarque-Bera statistic is built
    from, JB = n / 6 * (S^2 + K^2 / 4); a normal sample has S = 0 and K = 0 (excess).
    """
    from scipy import stats

    jb = stats.jarque_bera(values)
    return {
        "skew": float(stats.skew(values)),
        "excess_kurtosis": float(stats.kurtosis(values, fisher=True)),
        "jb_stat": float(jb.statistic),
        "jb_pvalue": float(jb.pvalue),
    }


def ljung_box(values: np.ndarray, lags: int) -> dict[str, float]:
    """The Ljung-Box Q statistic over lags 1..lags and its p-value (chi-squared, lags dof).

    Q = n (n + 2) sum_k r_k^2 / (n - k), statsmodels' ``acorr_ljungbox`` formula, on the FFT
    autocorrelation: ``acorr_ljungbox`` itself correlates directly, O(n^2), which takes minutes
    on a million bars.
    """
    from scipy import stats

    r = autocorrelation(values, lags)
    n, k = len(values), np.arange(1, len(r) + 1)
    q = float(n * (n + 2) * np.sum(r**2 / (n - k)))
    return {"lb_lags": float(len(r)), "lb_stat": q, "lb_pvalue": float(stats.chi2.sf(q, len(r)))}


def return_tests(returns: pl.DataFrame, *, nlags: int, min_returns: int) -> pl.DataFrame:
    """Per series: n, mean, std of the returns, normality and Ljung-Box (lags 1..nlags).

    Series with fewer than ``min_returns`` returns get n, mean and std only.
    """
    rows: list[dict[str, Any]] = []
    for key, values in series_returns(returns).items():
        row: dict[str, Any] = dict(zip(SERIES, key, strict=True))
        row |= {
            "n": len(values),
            "mean": float(values.mean()) if len(values) else None,
            "std": float(values.std(ddof=1)) if len(values) > 1 else None,
        }
        if len(values) >= min_returns:
            row |= normality(values) | ljung_box(values, nlags)
        rows.append(row)
    floats = ["skew", "excess_kurtosis", "jb_stat", "jb_pvalue", "lb_lags", "lb_stat", "lb_pvalue"]
    schema: dict[str, Any] = {**_series_schema(returns), "n": pl.Int64}
    schema |= {"mean": pl.Float64, "std": pl.Float64} | dict.fromkeys(floats, pl.Float64)
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)


def bar_statistics(bars: pl.DataFrame, *, nlags: int, min_returns: int) -> BarStatistics:
    """Every bar statistic of the series in ``bars`` (silver ``bars_info`` rows).

    Args:
        bars: Silver ``bars_info`` rows of any number of series.
        nlags: Largest lag of the ACF and of the Ljung-Box test (setting
            ``analytics.acf_lags``).
        min_returns: Series with fewer returns get no ACF or tests (``analytics.min_returns``).

    Returns:
        Returns, weekly counts, monthly variances, stability, ACF and tests.
    """
    returns = bar_returns(bars)
    weekly = weekly_bar_counts(returns)
    monthly = monthly_return_variance(returns)
    return BarStatistics(
        returns=returns,
        weekly=weekly,
        stability=count_stability(weekly, monthly),
        monthly=monthly,
        acf=autocorrelations(returns, nlags=nlags, min_returns=min_returns),
        tests=return_tests(returns, nlags=nlags, min_returns=min_returns),
    )


def _series_schema(frame: pl.DataFrame) -> dict[str, Any]:
    return {name: frame.schema[name] for name in SERIES}
