"""Corporate-action adjustment of bars (splits, dividends); see ``marketlake.serve.loader``."""

from __future__ import annotations

from typing import Literal

import polars as pl

Adjust = Literal["none", "splits", "all"]
PRICE_COLUMNS = ("open", "high", "low", "close", "vwap")


def adjust_bars(frame: pl.LazyFrame, adjust: Adjust) -> pl.LazyFrame:
    """Apply split (and dividend) adjustment to bars sorted by symbol, interval and time.

    Pure; see the module docs for the exact definition.
    """
    if adjust == "none":
        return frame
    keys = ["symbol", "interval"]

    def later(factor: pl.Expr) -> pl.Expr:
        # product of the factors of strictly later bars of the same series
        return factor.reverse().cum_prod().reverse().shift(-1, fill_value=1.0).over(keys)

    split = pl.when(pl.col("split_factor") > 0).then(pl.col("split_factor")).otherwise(1.0)
    split_later = later(split)
    price_factor = 1.0 / split_later
    if adjust == "all":
        prev_close = pl.col("close").shift(1).over(keys)
        ratio = 1.0 - pl.col("dividend") / prev_close
        dividend = (
            pl.when((pl.col("dividend") > 0) & (prev_close > 0) & (ratio > 0))
            .then(ratio)
            .otherwise(1.0)
        )
        price_factor = price_factor * later(dividend)
    return (
        frame.with_columns(_factor=price_factor, _split=split_later)
        .with_columns(
            *[pl.col(c) * pl.col("_factor") for c in PRICE_COLUMNS],
            pl.col("dividend") / pl.col("_split"),
            pl.col("volume") * pl.col("_split"),
        )
        .drop("_factor", "_split")
    )
