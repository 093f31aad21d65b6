"""The warehouse's figures computed independently with Polars, straight from silver."""

from __future__ import annotations

import math
from datetime import datetime

import polars as pl

from marketlake.lake.bronze import read_manifest
from marketlake.lake.silver import read_dataset
from marketlake.lake.store import Lake

KEYS = ["symbol", "period_start"]
REL_TOL = 1e-9


def daily_bars(lake: Lake) -> pl.DataFrame:
    """One daily bar per symbol and session: the latest-landed delivery, then the larger id."""
    landed = pl.DataFrame(
        {
            "ingest_id": [e.ingest_id for e in read_manifest(lake)],
            "landed_at": [datetime.fromisoformat(e.landed_at) for e in read_manifest(lake)],
        },
        schema={"ingest_id": pl.String, "landed_at": pl.Datetime("us", "UTC")},
    )
    silver = pl.from_arrow(read_dataset(lake, "bars"))
    assert isinstance(silver, pl.DataFrame)
    return (
        silver.filter(pl.col("interval") == "1d")
        .join(landed, on="ingest_id", how="left")
        .sort(["landed_at", "ingest_id", "ts_event"], descending=True, nulls_last=True)
        .unique(subset=["symbol", "session_date"], keep="first", maintain_order=True)
        .sort(["symbol", "session_date"])
    )


def _period(period: str) -> tuple[pl.Expr, pl.Expr]:
    day = pl.col("session_date")
    if period == "weekly":
        return day.dt.truncate("1w"), day.dt.strftime("%G-W%V")
    if period == "monthly":
        return day.dt.truncate("1mo"), day.dt.strftime("%Y-%m")
    if period == "quarterly":
        label = pl.format("{}-Q{}", day.dt.year(), day.dt.quarter())
        return day.dt.truncate("1q"), label
    if period == "yearly":
        return day.dt.truncate("1y"), day.dt.strftime("%Y")
    raise ValueError(period)


def period_bars(daily: pl.DataFrame, period: str) -> pl.DataFrame:
    """True OHLC, volume and averages per symbol and period, as agg_bars_<period> holds them."""
    start, label = _period(period)
    volume = pl.col("volume")
    return (
        daily.with_columns(period_start=start, period_label=label)
        .group_by(KEYS)
        .agg(
            period_label=pl.col("period_label").unique().first(),
            labels=pl.col("period_label").n_unique(),
            first_session_date=pl.col("session_date").min(),
            last_session_date=pl.col("session_date").max(),
            trading_days=pl.len(),
            open=pl.col("open").sort_by("session_date").first(),
            high=pl.col("high").max(),
            low=pl.col("low").min(),
            close=pl.col("close").sort_by("session_date").last(),
            volume=pl.when(volume.count() > 0).then(volume.sum()),
            avg_open=pl.col("open").mean(),
            avg_high=pl.col("high").mean(),
            avg_low=pl.col("low").mean(),
            avg_close=pl.col("close").mean(),
            avg_volume=volume.mean(),
        )
        .sort(KEYS)
    )


def mismatches(actual: pl.DataFrame, expected: pl.DataFrame, keys: list[str]) -> list[str]:
    """Differences between two frames matched on ``keys``: missing rows and unequal values.

    Floats are equal within a relative (and absolute) tolerance of 1e-9; everything else exactly.
    """
    problems: list[str] = []
    joined = actual.join(expected, on=keys, how="full", suffix="_expected", coalesce=True)
    columns = [c for c in expected.columns if c not in keys and c in actual.columns]
    for row in joined.iter_rows(named=True):
        where = ", ".join(f"{k}={row[k]}" for k in keys)
        for column in columns:
            got, want = row[column], row[f"{column}_expected"]
            if isinstance(got, float) and isinstance(want, float):
                if not math.isclose(got, want, rel_tol=REL_TOL, abs_tol=REL_TOL):
                    problems.append(f"{where}: {column} {got!r} != {want!r}")
            elif got != want:
                problems.append(f"{where}: {column} {got!r} != {want!r}")
    return problems
