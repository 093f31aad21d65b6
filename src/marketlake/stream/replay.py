"""Silver bars or trades as ticks, in the order a live feed would have sent them.

Bars follow the gold layer's choice of rows, so the averages computed from a replay equal
gold's: of two deliveries of the same bar, the latest-landed wins (then the larger ingest id);
for daily bars, one bar per session (latest-landed, larger ingest id, later open time), as
``int_daily_bars_numbered`` keeps. Each bar carries its ``session_date``. Trades carry no
session (the consumer's clock gives it); ``seq`` numbers trades of one symbol sharing a
``ts_event`` in silver order, so a tick's identity does not depend on the replayed range.

Ticks are merged across symbols by ``ts_event`` (each symbol's order is kept).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date

import polars as pl

from marketlake.stream.messages import Tick

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def latest_bars(frame: pl.DataFrame, landed_ns: Mapping[str, int]) -> pl.DataFrame:
    """One row per bar as gold keeps it (see the module doc), sorted by time then symbol.

    Args:
        frame: Silver bars of one interval (``read_bars(..., interval=...)``).
        landed_ns: When each ingest landed in bronze (UTC ns); missing ingests lose ties.
    """
    landed = pl.col("ingest_id").replace_strict(dict(landed_ns), default=-1, return_dtype=pl.Int64)
    ranked = frame.with_columns(_landed=landed).sort(
        ["_landed", "ingest_id", "ts_event"], descending=True, nulls_last=True
    )
    kept = ranked.unique(["symbol", "interval", "ts_event"], keep="first", maintain_order=True)
    daily = kept.filter(pl.col("interval") == "1d").unique(
        ["symbol", "session_date"], keep="first", maintain_order=True
    )
    kept = pl.concat([kept.filter(pl.col("interval") != "1d"), daily])
    return kept.drop("_landed").sort(["ts_event", "symbol"])


def bar_ticks(bars: pl.DataFrame) -> Iterator[Tick]:
    """Ticks of kind ``bar`` from :func:`latest_bars` rows."""
    columns = ["symbol", "ts_event", "open", "high", "low", "close", "volume", "vwap"]
    frame = bars.select(
        *columns[:1],
        pl.col("ts_event").dt.epoch("ns"),
        *columns[2:],
        (pl.col("session_date").cast(pl.Int64) + _EPOCH_ORDINAL).alias("session"),
    )
    for symbol, ts, open_, high, low, close, volume, vwap, session in frame.iter_rows():
        yield Tick(
            symbol, ts, close, volume if volume is not None else 0.0, "bar", 0,
            session, open_, high, low, vwap,
        )  # fmt: skip


def trade_ticks(trades: pl.DataFrame) -> Iterator[Tick]:
    """Ticks of kind ``trade`` from silver trades (any order), merged by time."""
    frame = (
        trades.select("symbol", pl.col("ts_event").dt.epoch("ns"), "price", "size")
        .with_row_index("_row")
        .with_columns(seq=pl.col("_row").rank("ordinal").over("symbol", "ts_event") - 1)
        .sort(["ts_event", "symbol", "seq"])
    )
    for symbol, ts, price, size, seq in frame.select(
        "symbol", "ts_event", "price", "size", pl.col("seq").cast(pl.Int64)
    ).iter_rows():
        yield Tick(symbol, ts, price, size if size is not None else 0.0, "trade", seq)
