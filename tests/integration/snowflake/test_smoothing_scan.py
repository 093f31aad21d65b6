"""The scan form of int_daily_bars_smoothed (built on Snowflake, which caps recursion depth)
gives the recursive CTE's values: both are built by dbt on DuckDB over the same silver bars."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pytest

from marketlake import schemas
from marketlake.config import Settings, load_settings
from marketlake.lake.silver import publish_ingest
from marketlake.lake.store import open_lake
from marketlake.warehouse.dbt_runner import (
    PROJECT_DIR,
    TARGET_NAME,
    _release_duckdb,
    dbt_paths,
    write_profile,
)
from marketlake.warehouse.duckdb_target import connect, prepare_silver

pytestmark = pytest.mark.integration

# Longer than the 2^11 rows one scan sums, so the truncation claim is exercised too.
LONG = 2_600
SERIES = {"LONG": LONG, "MID": 300, "SHORT30": 30, "ONE": 1}
VALUES = [
    "ema_12",
    "ema_20",
    "ema_26",
    "avg_gain_14",
    "avg_loss_14",
    "rsi_14",
    "macd",
    "macd_signal",
    "macd_histogram",
]


def daily_rows(symbol: str, n: int, seed: int) -> pa.Table:
    """A random walk of ``n`` daily bars that starts flat (no loss yet: RSI 100)."""
    rng = random.Random(seed)
    close, price = [], 100.0
    for i in range(n):
        if i >= 20:  # 20 unchanged closes first: avg_loss_14 is 0 at its seed
            price *= 1 + rng.gauss(0, 0.02)
        close.append(round(price, 4))
    days = [date(2010, 1, 1) + timedelta(days=i) for i in range(n)]
    return pa.table(
        {
            "ts_event": pa.array([datetime(d.year, d.month, d.day, tzinfo=UTC) for d in days]),
            "session_date": pa.array(days, pa.date32()),
            "interval": ["1d"] * n,
            "symbol": [symbol] * n,
            "open": close,
            "high": [c * 1.01 for c in close],
            "low": [c * 0.99 for c in close],
            "close": close,
            "volume": [1000.0] * n,
            "vwap": close,
            "trade_count": pa.array([None] * n, pa.int64()),
            "adj_close": pa.array([None] * n, pa.float64()),
            "dividend": pa.array([None] * n, pa.float64()),
            "split_factor": pa.array([None] * n, pa.float64()),
            "source": ["test"] * n,
            "ingest_id": [f"{seed:016x}"] * n,
            "quality_flags": pa.array([None] * n, pa.string()),
        }
    ).cast(schemas.BARS)


def build_smoothed(settings: Settings, *, by_scan: bool) -> tuple[pl.DataFrame, str]:
    """dbt-run the model and its parents; returns its rows and its compiled SQL."""
    from dbt.cli.main import dbtRunner

    paths = dbt_paths(settings)
    write_profile(settings, paths)
    target = paths.root / ("target-scan" if by_scan else "target-recursive")
    args = [
        "run",
        "--select",
        "+int_daily_bars_smoothed",
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(paths.profiles_dir),
        "--target",
        TARGET_NAME,
        "--vars",
        json.dumps({"smoothers_by_scan": by_scan}),
        "--target-path",
        str(target),
        "--log-path",
        str(paths.log_path),
        "--no-partial-parse",
        "--no-send-anonymous-usage-stats",
        "--no-version-check",
    ]
    try:
        result = dbtRunner().invoke(args)
    finally:
        _release_duckdb()
    assert result.success, result.exception
    con = duckdb.connect(str(settings.duckdb_path), read_only=True)
    try:
        frame = con.sql("select * from intermediate.int_daily_bars_smoothed").pl()
    finally:
        con.close()
    compiled = next(target.rglob("int_daily_bars_smoothed.sql")).read_text()
    return frame.sort("symbol", "day_index"), compiled


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, pl.DataFrame]:
    data_dir: Path = tmp_path_factory.mktemp("scan")
    settings = load_settings(data_dir=data_dir)
    lake = open_lake(settings)
    for seed, (symbol, n) in enumerate(SERIES.items(), start=1):
        rows = daily_rows(symbol, n, seed)
        publish_ingest(
            lake,
            dataset="bars",
            source="test",
            ingest_id=rows["ingest_id"][0].as_py(),
            rows=rows,
            quarantined=schemas.QUARANTINE.empty_table(),
            rows_in=rows.num_rows,
            flagged_by_rule={},
        )
    con = connect(settings.duckdb_path)
    try:
        prepare_silver(con, lake)
    finally:
        con.close()
    recursive, recursive_sql = build_smoothed(settings, by_scan=False)
    scan, scan_sql = build_smoothed(settings, by_scan=True)
    assert "recursive" in recursive_sql.lower()
    assert "recursive" not in scan_sql.lower()
    return recursive, scan


def test_scan_has_the_recursions_rows(built: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    recursive, scan = built
    assert recursive.columns == scan.columns
    assert recursive.select("symbol", "day_index").equals(scan.select("symbol", "day_index"))
    assert recursive.height == sum(SERIES.values())


def test_scan_values_equal_the_recursions_to_1e_9(
    built: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    recursive, scan = built
    for column in VALUES:
        left, right = recursive[column], scan[column]
        assert left.is_null().equals(right.is_null()), f"{column}: nulls differ"
        both = pl.DataFrame({"a": left, "b": right}).drop_nulls()
        worst = both.select(
            ((pl.col("a") - pl.col("b")).abs() / pl.max_horizontal(pl.col("a").abs(), 1.0)).max()
        ).item()
        assert worst is None or worst < 1e-9, f"{column}: relative difference {worst}"


def test_scan_reaches_the_end_of_a_long_series(
    built: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    _, scan = built
    last = scan.filter(pl.col("symbol") == "LONG").row(-1, named=True)
    assert last["day_index"] == LONG - 1
    assert all(last[column] is not None for column in VALUES)
    flat = scan.filter((pl.col("symbol") == "LONG") & pl.col("day_index").is_between(14, 19))
    assert flat["rsi_14"].to_list() == [100.0] * 6  # no loss yet
