"""Comparing gold marts exported from two warehouses (DuckDB and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import polars.selectors as cs

TOLERANCE = 1e-9


def read_gold(folder: Path) -> dict[str, pl.DataFrame]:
    """Every exported mart of a gold folder, by model name."""
    return {p.stem: pl.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


def normalise(frame: pl.DataFrame) -> pl.DataFrame:
    """Types made comparable across engines; rows sorted by the exact columns, then numbers.

    Integers, decimals and floats become Float64 (an engine's sum of integers may be a bigger
    integer or a numeric), instants UTC microseconds.
    """
    frame = frame.with_columns(
        cs.numeric().cast(pl.Float64),
        cs.datetime(time_zone="*").dt.convert_time_zone("UTC").dt.cast_time_unit("us"),
        cs.datetime(time_zone=None).dt.cast_time_unit("us"),
    )
    exact = [c for c, t in frame.schema.items() if t != pl.Float64]
    numbers = [c for c, t in frame.schema.items() if t == pl.Float64]
    return frame.sort([*exact, *numbers], nulls_last=True)


def differences(model: str, left: pl.DataFrame, right: pl.DataFrame) -> list[str]:
    """What differs between two exports of a mart (empty when equal to ``TOLERANCE``)."""
    if sorted(left.columns) != sorted(right.columns):
        return [f"{model}: columns {sorted(left.columns)} != {sorted(right.columns)}"]
    left = normalise(left)
    right = normalise(right.select(left.columns))
    if left.height != right.height:
        return [f"{model}: {left.height} rows != {right.height} rows"]
    found = []
    for column, kind in left.schema.items():
        a, b = left[column], right[column]
        if (a.is_null() != b.is_null()).any():
            found.append(f"{model}.{column}: nulls differ")
        elif kind == pl.Float64:
            both = pl.DataFrame({"a": a, "b": b}).drop_nulls()
            nan = both.filter(pl.col("a").is_nan() | pl.col("b").is_nan())
            if (nan["a"].is_nan() != nan["b"].is_nan()).any():
                found.append(f"{model}.{column}: NaNs differ")
            close = both.filter(~pl.col("a").is_nan()).select(
                (
                    (pl.col("a") - pl.col("b")).abs()
                    <= TOLERANCE * pl.max_horizontal(pl.lit(1.0), pl.col("a").abs())
                ).all()
            )
            if not close.item():
                found.append(f"{model}.{column}: values differ by more than {TOLERANCE}")
        elif not a.equals(b):
            found.append(f"{model}.{column}: values differ")
    return found


def compare_gold(left: Path, right: Path) -> list[str]:
    """Every difference between the marts of two gold folders."""
    a, b = read_gold(left), read_gold(right)
    if sorted(a) != sorted(b):
        return [f"marts differ: {sorted(a)} != {sorted(b)}"]
    return [d for model in a for d in differences(model, a[model], b[model])]
