"""Silver ``bars_info``: bars as Arrow rows, written one file per (symbol, year, series).

Layout: ``silver/bars_info/symbol=<S>/year=<Y>/<run_key>.parquet``, the year being that of the
bar's time (``ts_end``, the closing trade's time, UTC). Bars come in time order, so a year's
file is written as soon as the first bar of a later year arrives: memory holds one year of bars,
never all of them. Each file is replaced atomically; files of the same series that a run did not
rewrite (years no longer covered) are removed at the end, so a series is always one run's output.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from marketlake.bars.accumulator import BarColumns, IntArray
from marketlake.bars.spec import BarSpec
from marketlake.lake import Lake
from marketlake.lake.silver import SILVER, partition_dir
from marketlake.schemas import BARS_INFO, TS

log = logging.getLogger(__name__)

DATASET = "bars_info"


def bars_table(bars: BarColumns, *, symbol: str, spec: BarSpec, complete: bool) -> pa.Table:
    """Bars as rows of ``schemas.BARS_INFO`` (pure).

    Raises:
        AssertionError: a bar breaks ``low <= open, close <= high`` or has no trade (a bug).
    """
    n = len(bars)
    # Invariants checked where bars are made, as cheap vector tests, never assumed downstream.
    bad = (
        (bars.low > bars.high)
        | (bars.open > bars.high)
        | (bars.close > bars.high)
        | (bars.open < bars.low)
        | (bars.close < bars.low)
        | (bars.tick_count < 1)
        | (bars.ts_end < bars.ts_start)
    )
    if bad.any():
        raise AssertionError(f"{symbol} {spec.label}: bar {int(np.argmax(bad))} is inconsistent")
    vwap = bars.vwap
    bar_threshold = bars.bar_threshold
    columns = {
        "ts_start": pa.array(bars.ts_start, TS),
        "ts_end": pa.array(bars.ts_end, TS),
        "symbol": pa.array([symbol] * n, pa.string()),
        "kind": pa.array([spec.kind] * n, pa.string()),
        "threshold": pa.array(np.full(n, float(spec.threshold))),
        "open": pa.array(bars.open),
        "high": pa.array(bars.high),
        "low": pa.array(bars.low),
        "close": pa.array(bars.close),
        "volume": pa.array(bars.volume),
        "dollar_value": pa.array(bars.dollar_value),
        "vwap": pa.array(vwap, mask=np.isnan(vwap)),
        "tick_count": pa.array(bars.tick_count),
        "complete": pa.array(np.full(n, complete)),
        "bar_threshold": pa.array(bar_threshold, mask=np.isnan(bar_threshold)),
        "source": pa.array([spec.source] * n, pa.string()),
    }
    return pa.table(columns, schema=BARS_INFO)


def years_of(ts_ns: IntArray) -> IntArray:
    """UTC calendar years of int64 ns times."""
    return ts_ns.astype("datetime64[ns]").astype("datetime64[Y]").astype(np.int64) + 1970


def series_keys(lake: Lake, symbol: str, run_key: str) -> list[str]:
    """Every file of one series of one symbol now in silver."""
    symbol_dir = partition_dir(DATASET, symbol, 0).rsplit("/", 1)[0]  # without "/year=0"
    return lake.glob(f"{symbol_dir}/year=*/{run_key}.parquet")


class SeriesWriter:
    """Writes one series of one symbol, a year at a time.

    Args:
        lake: The lake.
        symbol: The symbol.
        spec: The series (its run key names the files).
    """

    def __init__(self, lake: Lake, symbol: str, spec: BarSpec) -> None:
        self.lake, self.symbol, self.spec = lake, symbol, spec
        self.before = set(series_keys(lake, symbol, spec.run_key))
        self.written: list[str] = []
        self.rows = 0
        self.bytes = 0
        self._year: int | None = None
        self._pending: list[pa.Table] = []

    def add(self, bars: BarColumns, *, complete: bool = True) -> None:
        """Queue bars (in time order); write each year as soon as it is over."""
        if not len(bars):
            return
        years = years_of(bars.ts_end)
        # Bars are time-ordered, so each year is one contiguous run.
        cuts = np.flatnonzero(np.diff(years)) + 1
        for lo, hi in zip(
            np.concatenate(([0], cuts)), np.concatenate((cuts, [len(bars)])), strict=True
        ):
            year = int(years[lo])
            if self._year is not None and year != self._year:
                self._flush()
            self._year = year
            part = bars.take(slice(int(lo), int(hi)))
            self._pending.append(
                bars_table(part, symbol=self.symbol, spec=self.spec, complete=complete)
            )

    def _flush(self) -> None:
        if self._year is None or not self._pending:
            return
        table = pa.concat_tables(self._pending)
        key = f"{partition_dir(DATASET, self.symbol, self._year)}/{self.spec.run_key}.parquet"
        self.bytes += self.lake.write_parquet(key, table)
        self.rows += table.num_rows
        self.written.append(key)
        self._pending = []

    def close(self) -> list[str]:
        """Write the last year, remove the series' files this run did not write; the keys."""
        self._flush()
        for stale in sorted(self.before - set(self.written)):
            self.lake.remove(stale)
            log.info("removed stale bars file", extra={"key": stale})
        return list(self.written)


def read_bars_info(
    lake: Lake,
    *,
    symbol: str | None = None,
    kind: str | None = None,
    threshold: float | None = None,
    source: str | None = None,
    complete_only: bool = False,
) -> pa.Table:
    """Bars of silver ``bars_info``, filtered, sorted by symbol, series and time.

    Args:
        lake: The lake.
        symbol: Only this symbol.
        kind: Only this kind.
        threshold: Only this threshold (ticks, volume, dollars, E0[T], seconds).
        source: Only bars built from this source.
        complete_only: Leave out the last, incomplete bar of each series.

    Returns:
        Rows of ``schemas.BARS_INFO``.
    """
    symbol_part = f"symbol={quote(symbol, safe='')}" if symbol else "symbol=*"
    name = f"{kind}-*.parquet" if kind else "*.parquet"
    keys = lake.glob(f"{SILVER}/{DATASET}/{symbol_part}/year=*/{name}")
    if not keys:
        return BARS_INFO.empty_table()
    table = pa.concat_tables([lake.read_parquet(k).cast(BARS_INFO) for k in keys])
    mask = pa.array(np.ones(table.num_rows, dtype=bool))
    for column, wanted in (("kind", kind), ("threshold", threshold), ("source", source)):
        if wanted is not None:
            mask = pc.and_(mask, pc.equal(table[column], wanted))
    if complete_only:
        mask = pc.and_(mask, table["complete"])
    return table.filter(mask).sort_by(
        [
            ("symbol", "ascending"),
            ("kind", "ascending"),
            ("threshold", "ascending"),
            ("source", "ascending"),
            ("ts_end", "ascending"),
            ("complete", "descending"),
        ]
    )
