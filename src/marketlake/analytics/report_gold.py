"""What the report reads from gold for its indicators and anomalies sections.

The gold Parquet exports (``fct_indicators_daily``, ``fct_anomalies``, ``dim_source``) are read
here, bounded: only the symbols charted, only the columns drawn, only the last
``analytics.indicator_days`` of each. A mart that was never exported comes back as None, so the
section can say what to run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import polars as pl

from marketlake.lake.store import Lake

INDICATORS = "fct_indicators_daily"
ANOMALIES = "fct_anomalies"
SOURCES = "dim_source"
INDICATOR_COLUMNS = (
    "symbol",
    "session_date",
    "close",
    "simple_return",
    "volatility_20d",
    "volatility_252d",
    "close_zscore_20d",
    "return_zscore_20d",
    "volume_zscore_20d",
    "sma_20",
    "sma_50",
    "sma_200",
    "rsi_14",
    "macd",
    "macd_signal",
    "macd_histogram",
)
ANOMALY_COLUMNS = (
    "symbol",
    "session_date",
    "rule_id",
    "measured_value",
    "threshold",
    "explanation",
)


@dataclass(frozen=True)
class IndicatorInputs:
    """The daily indicators the report charts, and which symbols it leaves out."""

    symbols: list[str]  # charted, alphabetical
    sessions: dict[str, int]  # every symbol with indicators (of --symbols): its sessions
    window: pl.DataFrame  # rows of the charted symbols over their last indicator_days
    left_out: list[str] = field(default_factory=list)  # fewer sessions than the charted ones
    missing: list[str] = field(default_factory=list)  # asked for, but no indicators in gold

    @property
    def latest(self) -> pl.DataFrame:
        """The last session of each charted symbol."""
        return self.window.sort("symbol", "session_date").group_by("symbol").last().sort("symbol")


def scan_gold(gold: Lake, mart: str) -> pl.LazyFrame | None:
    """A lazy frame of one exported mart, or None when it was never exported."""
    key = f"{mart}.parquet"
    if not gold.exists(key):
        return None
    if gold.is_local:
        # Lazily, straight from disk: only the columns and row groups a query needs are read.
        return pl.scan_parquet(gold.full(key))
    frame = pl.from_arrow(gold.read_parquet(key))
    assert isinstance(frame, pl.DataFrame)
    return frame.lazy()


def read_indicators(
    gold: Lake, symbols: list[str] | None, *, days: int, max_symbols: int
) -> IndicatorInputs | None:
    """The indicators of the symbols to chart over their last ``days`` calendar days.

    Args:
        gold: Where the marts were exported.
        symbols: The symbols asked for (all of them are charted); None: the ``max_symbols``
            symbols with the most sessions (ties by name), the others named as left out.
        days: Calendar days each chart covers, ending at the symbol's last session.
        max_symbols: How many symbols to chart when none were asked for.

    Returns:
        The rows to chart, or None when ``fct_indicators_daily`` was never exported.
    """
    scan = scan_gold(gold, INDICATORS)
    if scan is None:
        return None
    if symbols is not None:
        scan = scan.filter(pl.col("symbol").is_in(symbols))
    counts = (
        scan.group_by("symbol")
        .agg(sessions=pl.len(), last=pl.col("session_date").max())
        .collect()
        .sort(["sessions", "symbol"], descending=[True, False])
    )
    found = counts["symbol"].to_list()
    if symbols is None:
        chosen, left_out, missing = found[:max_symbols], sorted(found[max_symbols:]), []
    else:
        chosen, left_out = found, []
        missing = [s for s in dict.fromkeys(symbols) if s not in set(found)]
    starts = counts.filter(pl.col("symbol").is_in(chosen)).select(
        "symbol", start=pl.col("last") - timedelta(days=days)
    )
    window = (
        scan.filter(pl.col("symbol").is_in(chosen))
        .select(INDICATOR_COLUMNS)
        .join(starts.lazy(), on="symbol")
        .filter(pl.col("session_date") > pl.col("start"))
        .drop("start")
        .sort("symbol", "session_date")
        .collect()
    )
    return IndicatorInputs(
        symbols=sorted(chosen),
        sessions=dict(zip(found, counts["sessions"].to_list(), strict=True)),
        window=window,
        left_out=left_out,
        missing=missing,
    )


def read_anomalies(gold: Lake, symbols: list[str] | None) -> pl.DataFrame | None:
    """Every anomaly gold flagged (of ``symbols``), or None when ``fct_anomalies`` is absent."""
    scan = scan_gold(gold, ANOMALIES)
    if scan is None:
        return None
    if symbols is not None:
        scan = scan.filter(pl.col("symbol").is_in(symbols))
    return scan.select(ANOMALY_COLUMNS).collect()


def read_sources(gold: Lake) -> pl.DataFrame | None:
    """Gold's ``dim_source`` (kind and description of each source), or None when absent."""
    scan = scan_gold(gold, SOURCES)
    return None if scan is None else scan.collect()
