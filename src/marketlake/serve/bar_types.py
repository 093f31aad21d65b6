"""Bar types for the dashboard: tick / volume / dollar bars against time bars of the same trades.

Silver ``bars_info`` rows of a symbol, labelled per series (kind and threshold), their log
returns within a series, bars per UTC day, and the summary statistics a quant compares them by
(steadiness of bars per day, return moments, Jarque-Bera, autocorrelation, Ljung-Box).
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from marketlake.lake.store import Lake
from marketlake.serve.partitions import files_to_read, list_files


def info_bars(lake: Lake, symbol: str) -> pl.DataFrame:
    """Silver ``bars_info`` rows of ``symbol`` (every series), empty when it has none."""
    keys = files_to_read(lake, list_files(lake, "bars_info", [symbol], None))
    frames = []
    for key in keys:
        if lake.is_local:
            frames.append(pl.read_parquet(lake.full(key)))
        else:
            part = pl.from_arrow(lake.read_parquet(key))
            assert isinstance(part, pl.DataFrame)
            frames.append(part)
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames, how="diagonal_relaxed").filter(pl.col("symbol") == symbol)


def threshold_label(kind: str, threshold: float) -> str:
    """A series as people name it: ``time 30m``, ``tick 98``, ``dollar 1.19M``."""
    if kind == "time":
        for unit, length in (("d", 86_400), ("h", 3_600), ("m", 60)):
            if threshold >= length and threshold % length == 0:
                return f"time {threshold / length:g}{unit}"
        return f"time {threshold:g}s"
    for suffix, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(threshold) >= size:
            return f"{kind} {threshold / size:.3g}{suffix}"
    return f"{kind} {threshold:g}"


_KIND_ORDER = {"time": 0, "tick": 1, "volume": 2, "dollar": 3, "imbalance": 4}


def labelled_returns(bars: pl.DataFrame) -> pl.DataFrame:
    """Complete bars with ``bar_date``, ``log_return`` (within their series) and ``series``,
    the label of their series (the source named when the symbol has bars of several)."""
    from marketlake.analytics.bar_stats import bar_returns

    returns = bar_returns(bars)
    several = returns["source"].n_unique() > 1
    keys = returns.select("kind", "threshold", "source").unique()
    labels = [
        threshold_label(k, t) + (f" [{s}]" if several else "") for k, t, s in keys.iter_rows()
    ]
    keys = keys.with_columns(series=pl.Series(labels, dtype=pl.String))
    order = keys.with_columns(
        rank=pl.col("kind").replace_strict(_KIND_ORDER, default=9, return_dtype=pl.Int64)
    ).sort("rank", "threshold", "source")
    keys = order.with_columns(series_order=pl.int_range(pl.len())).drop("rank")
    return returns.join(keys, on=["kind", "threshold", "source"], how="left", nulls_equal=True)


def bars_per_day(returns: pl.DataFrame) -> pl.DataFrame:
    """Complete bars per series and UTC day, 0 on days the symbol traded and the series did not
    (within the series' own first..last day)."""
    counts = returns.group_by("series", "series_order", "bar_date").agg(bars=pl.len())
    days = counts.select("bar_date").unique()
    spans = counts.group_by("series", "series_order").agg(
        first=pl.col("bar_date").min(), last=pl.col("bar_date").max()
    )
    grid = spans.join(days, how="cross").filter(
        pl.col("bar_date").is_between(pl.col("first"), pl.col("last"))
    )
    return (
        grid.join(counts, on=["series", "series_order", "bar_date"], how="left")
        .select("series", "series_order", "bar_date", bars=pl.col("bars").fill_null(0))
        .sort("series_order", "bar_date")
    )


def bar_type_summary(returns: pl.DataFrame, *, nlags: int, min_returns: int) -> pl.DataFrame:
    """Per series: bars, bars per day (mean, coefficient of variation) and its log returns'
    std, skew, excess kurtosis, Jarque-Bera p-value, lag-1 autocorrelation and Ljung-Box p-value.

    Args:
        returns: The output of :func:`labelled_returns`.
        nlags: Lags of the Ljung-Box test (``analytics.acf_lags``).
        min_returns: Series with fewer returns get counts only (``analytics.min_returns``).
    """
    from marketlake.analytics.bar_stats import autocorrelation, ljung_box, normality

    daily = (
        bars_per_day(returns)
        .group_by("series")
        .agg(
            days=pl.len(),
            bars_per_day=pl.col("bars").mean(),
            cv_bars_per_day=pl.col("bars").std() / pl.col("bars").mean(),
        )
    )
    rows = []
    for (series, kind, order), part in returns.group_by(
        "series", "kind", "series_order", maintain_order=True
    ):
        values = part["log_return"].drop_nulls().drop_nans().to_numpy()
        row: dict[str, Any] = {"series": series, "kind": kind, "series_order": order}
        row |= {"bars": part.height, "returns": len(values)}
        row["std_return"] = float(values.std(ddof=1)) if len(values) > 1 else None
        if len(values) >= min_returns:
            stats = normality(values)
            row |= {k: stats[k] for k in ("skew", "excess_kurtosis", "jb_pvalue")}
            row["acf_1"] = float(autocorrelation(values, 1)[0])
            row["lb_pvalue"] = ljung_box(values, nlags)["lb_pvalue"]
        rows.append(row)
    floats = ["std_return", "skew", "excess_kurtosis", "jb_pvalue", "acf_1", "lb_pvalue"]
    schema: dict[str, Any] = {"series": pl.String, "kind": pl.String, "series_order": pl.Int64}
    schema |= {"bars": pl.Int64, "returns": pl.Int64} | dict.fromkeys(floats, pl.Float64)
    frame = pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)
    return frame.join(daily, on="series", how="left").sort("series_order")


def standardized_returns(returns: pl.DataFrame) -> pl.DataFrame:
    """Each series' log returns divided by that series' own standard deviation (``z``), so
    bar types of very different sizes share one axis; series without spread are left out."""
    r = pl.col("log_return")
    finite = returns.filter(r.is_not_null() & r.is_finite())
    std = r.std(ddof=1).over("series")
    return (
        finite.with_columns(z=(r - r.mean().over("series")) / std)
        .filter(pl.col("z").is_finite())
        .select("series", "series_order", "z")
        .sort("series_order")
    )


def normal_density(z: float) -> float:
    """The standard normal density at ``z`` (the reference curve of return histograms)."""
    return math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
