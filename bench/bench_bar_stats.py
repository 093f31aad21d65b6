"""Benchmark: bar statistics and the HTML report over many bars, against the pandas way.

marketlake: ``bar_statistics`` (Polars for returns, weekly counts, monthly variance and
stability; statsmodels' FFT ACF and Ljung-Box; scipy's Jarque-Bera), bars/s over all series.
Baseline: what a notebook does -- pandas ``groupby`` per series, ``Series.autocorr(lag)`` for
each lag, ``resample`` for weekly counts and monthly variance, scipy's ``jarque_bera``. Both
compute the same figures (checked on the way). Then ``write_report`` end to end (silver read,
statistics, figures, HTML) on the same bars.

    uv run python bench/bench_bar_stats.py [--bars 4000000] [--lags 10] [--no-report]

Defaults are the full scale (four 1M-bar series: a decade of 1-minute time bars is ~2.5M
bars per symbol). Use ``--bars 100000`` for a quick run. Prints bars/s of both and the ratio.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
from scipy import stats

from marketlake.analytics.bar_stats import bar_statistics
from marketlake.analytics.report import write_report
from marketlake.config import load_settings
from marketlake.lake import open_lake

KINDS = (("time", 60.0), ("tick", 500.0), ("volume", 5_000.0), ("dollar", 25_000_000.0))
START_NS = 1_577_836_800 * 10**9  # 2020-01-01


def make_bars(total: int, seed: int = 1) -> pl.DataFrame:
    """``total`` bars over four series of one symbol: random gaps, fat-tailed returns."""
    rng = np.random.default_rng(seed)
    per = total // len(KINDS)
    frames = []
    for kind, threshold in KINDS:
        gaps = rng.exponential(60e9, per).astype(np.int64) + 1
        ts_end = START_NS + np.cumsum(gaps)
        close = 3000.0 * np.exp(np.cumsum(rng.standard_t(4, per) * 5e-4))
        frames.append(
            pl.DataFrame(
                {
                    "ts_start": ts_end - gaps // 2,
                    "ts_end": ts_end,
                    "symbol": "ES",
                    "kind": kind,
                    "threshold": threshold,
                    "open": close,
                    "high": close,
                    "low": close,
                    "close": close,
                    "volume": 1.0,
                    "dollar_value": close,
                    "vwap": close,
                    "tick_count": 1,
                    "complete": True,
                    "bar_threshold": threshold,
                    "source": "bench",
                }
            ).with_columns(pl.col("ts_start", "ts_end").cast(pl.Datetime("ns", "UTC")))
        )
    return pl.concat(frames)


def run_marketlake(bars: pl.DataFrame, lags: int) -> tuple[float, pl.DataFrame]:
    bar_statistics(bars.head(5_000), nlags=lags, min_returns=30)  # imports and warm-up
    start = time.perf_counter()
    result = bar_statistics(bars, nlags=lags, min_returns=30)
    return time.perf_counter() - start, result.tests


def run_pandas(bars: pl.DataFrame, lags: int) -> tuple[float, pd.DataFrame]:
    frame = bars.select("kind", "threshold", "ts_end", "close").to_pandas()
    start = time.perf_counter()
    frame = frame.sort_values(["kind", "threshold", "ts_end"])
    frame["log_return"] = frame.groupby(["kind", "threshold"])["close"].transform(
        lambda c: np.log(c).diff()
    )
    rows = []
    for (kind, threshold), part in frame.groupby(["kind", "threshold"]):
        indexed = part.set_index("ts_end")
        weekly = indexed["close"].resample("W-SUN").count()
        monthly_var = indexed["log_return"].resample("MS").var()
        r = part["log_return"].dropna()
        acf = [r.autocorr(lag) for lag in range(1, lags + 1)]
        jb = stats.jarque_bera(r.to_numpy())
        rows.append(
            {
                "kind": kind,
                "threshold": threshold,
                "cv_weekly": weekly.std() / weekly.mean(),
                "months": int(monthly_var.count()),
                "acf1": acf[0],
                "jb_stat": float(jb.statistic),
            }
        )
    return time.perf_counter() - start, pd.DataFrame(rows)


def run_report(bars: pl.DataFrame) -> float:
    data_dir = Path(tempfile.mkdtemp(prefix="marketlake-bench-report-"))
    try:
        settings = load_settings(data_dir=data_dir)
        lake = open_lake(settings)
        for (kind,), part in bars.partition_by(["kind"], as_dict=True).items():
            lake.write_parquet(
                f"silver/bars_info/symbol=ES/year=2020/{kind}.parquet", part.to_arrow()
            )
        start = time.perf_counter()
        write_report(settings)
        return time.perf_counter() - start
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=4_000_000, help="Bars in all (4 series).")
    parser.add_argument("--lags", type=int, default=10, help="ACF lags 1..k.")
    parser.add_argument("--no-report", action="store_true", help="Skip the end-to-end report.")
    args = parser.parse_args()

    bars = make_bars(args.bars)
    print(f"{bars.height:,} bars in {len(KINDS)} series, ACF lags 1..{args.lags}", flush=True)
    ours, tests = run_marketlake(bars, args.lags)
    theirs, reference = run_pandas(bars, args.lags)
    # The same Jarque-Bera statistics, series by series (both skip each series' first bar).
    mine = tests.sort("kind")["jb_stat"].to_numpy()
    assert np.allclose(mine, reference.sort_values("kind")["jb_stat"].to_numpy(), rtol=1e-9)
    print(f"marketlake bar_statistics: {ours:.2f} s = {bars.height / ours:,.0f} bars/s")
    rate = bars.height / theirs
    print(f"baseline pandas groupby/autocorr/resample: {theirs:.2f} s = {rate:,.0f} bars/s")
    print(f"ratio: {theirs / ours:.1f}x")
    if not args.no_report:
        seconds = run_report(bars)
        print(f"marketlake write_report (read silver, statistics, figures, HTML): {seconds:.2f} s")


if __name__ == "__main__":
    main()
