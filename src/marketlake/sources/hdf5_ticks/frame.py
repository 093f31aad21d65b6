"""Arrow tables from a checked chunk: silver ``trades`` parts (one per symbol and year) and the
quarantined rows with their reasons and original values.

Columns that hold one value per part (symbol, source, ingest id) and the sparse
``quality_flags`` are dictionary arrays: no per-row strings are built, and the Parquet writer
stores them as dictionary pages directly. Files are written without the Arrow schema, so readers
get the canonical plain ``string`` types of :data:`~marketlake.schemas.TRADES`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from marketlake.schemas import QUARANTINE, TRADES
from marketlake.sources.hdf5_ticks.check import (
    NAT,
    RULE_IDS,
    TS_UNSORTED,
    ZERO_SIZE_FLAG,
    CheckedChunk,
    CheckRules,
    to_utc_ns,
)
from marketlake.sources.hdf5_ticks.layout import Column, KeyLayout
from marketlake.sources.hdf5_ticks.read import RawChunk

_DICT = pa.dictionary(pa.int32(), pa.string())
_DICT_COLUMNS = ("symbol", "source", "ingest_id", "quality_flags")
# TRADES, with the constant and sparse string columns as dictionaries (same Parquet data).
WRITE_SCHEMA = pa.schema([f.with_type(_DICT) if f.name in _DICT_COLUMNS else f for f in TRADES])
ISO = "%Y-%m-%dT%H:%M:%S%.f"
TS_TYPE = TRADES.field("ts_event").type
ZERO_SIZE_DICTIONARY = pa.array([ZERO_SIZE_FLAG], pa.string())


@dataclass(frozen=True)
class Part:
    """Silver rows of one symbol and year from one chunk, in time order."""

    symbol: str
    year: int
    table: pa.Table  # WRITE_SCHEMA
    zero_size: int  # rows flagged size.zero


def _constant(value: str, zeros: pa.Array) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(zeros, pa.array([value], pa.string()))


def _year_of(ns: int) -> int:
    return int(str(np.datetime64(ns, "ns").astype("datetime64[Y]")))


def _split_years(ts: np.ndarray, ranges: list[tuple[int, int]]) -> dict[int, list[tuple[int, int]]]:
    """Ranges of non-decreasing times, cut at year boundaries: {year: ranges}."""
    by_year: dict[int, list[tuple[int, int]]] = {}
    for lo, hi in ranges:
        first, last = _year_of(int(ts[lo])), _year_of(int(ts[hi - 1]))
        start = lo
        for year in range(first, last + 1):
            end = np.datetime64(f"{year + 1}-01-01", "ns").astype(np.int64)
            cut = lo + int(np.searchsorted(ts[lo:hi], end)) if year < last else hi
            if cut > start:
                by_year.setdefault(year, []).append((start, cut))
            start = cut
    return by_year


def _flag_text(values: np.ndarray) -> pl.Series:
    """A vendor flag column as text; null where the file has no value (NaN, empty)."""
    if values.dtype.kind == "S":
        text = pl.Series(values).cast(pl.String, strict=False).str.strip_chars()
    elif values.dtype.kind in "OU":
        text = pl.Series(values.astype(str)).str.strip_chars()
    else:
        series = pl.Series(values)
        text = series.cast(pl.String)
        if values.dtype.kind == "f":
            text = pl.select(pl.when(series.is_nan()).then(None).otherwise(text)).to_series()
    return pl.select(pl.when(text != "").then(text)).to_series()


def conditions_of(raw: RawChunk, flags: list[Column]) -> pa.Array:
    """``conditions`` of every row: ``name=value`` of each vendor flag set, null when none is."""
    if not flags:
        return pa.nulls(raw.rows, pa.list_(pa.string()))
    items = [
        pl.when(pl.lit(text).is_not_null()).then(pl.lit(f"{column.name}=") + pl.lit(text))
        for column in flags
        for text in [_flag_text(raw.columns[column.name])]
    ]
    lists = pl.select(pl.concat_list(items).list.drop_nulls().alias("c"))
    lists = lists.select(pl.when(pl.col("c").list.len() > 0).then(pl.col("c")))
    return lists.to_series().to_arrow().cast(pa.list_(pa.string()))


def silver_parts(
    checked: CheckedChunk, raw: RawChunk, layout: KeyLayout, *, source: str, ingest_id: str
) -> list[Part]:
    """The valid rows of a checked chunk as one table per (symbol, year), time-ordered.

    A symbol alone in its chunk becomes zero-copy slices of the chunk's columns (one record
    batch per run of valid rows); a symbol sharing the chunk is gathered first.

    Args:
        checked: The chunk after :func:`~marketlake.sources.hdf5_ticks.check.check_chunk`.
        raw: The chunk as read (for vendor flags).
        layout: The key's layout.
        source: The ``source`` of every row (``hdf5:tick/trades``).
        ingest_id: The delivery the rows come from.
    """
    flags = layout.flags
    conditions = conditions_of(raw, flags) if flags else None
    sequence = np.arange(checked.start, checked.stop, dtype=np.int64)
    parts: list[Part] = []
    for symbol, selection in checked.good.items():
        ts, price, size, seq, cond = checked.ts, checked.price, checked.size, sequence, conditions
        ranges = selection.ranges
        if selection.positions is not None:
            rows = selection.positions
            if rows.size == 0:
                continue
            ts, price, size, seq = ts[rows], price[rows], size[rows], seq[rows]
            cond = None if cond is None else cond.take(pa.array(rows))
            ranges = [(0, int(rows.size))]
        if not ranges:
            continue
        zero_size = size == 0
        zeros = pa.array(np.zeros(ts.size, np.int32))
        flag_index = pa.array(np.zeros(ts.size, np.int32), mask=~zero_size)
        for year, pieces in _split_years(ts, ranges).items():
            batches = []
            for lo, hi in pieces:
                n = hi - lo
                arrays = [
                    pa.Array.from_buffers(TS_TYPE, n, [None, pa.py_buffer(ts[lo:hi])]),
                    _constant(symbol, zeros.slice(lo, n)),
                    pa.array(price[lo:hi]),
                    pa.array(size[lo:hi]),
                    pa.nulls(n, pa.string()),
                    cond.slice(lo, n) if cond is not None else pa.nulls(n, pa.list_(pa.string())),
                    pa.nulls(n, pa.string()),
                    pa.array(seq[lo:hi]),
                    _constant(source, zeros.slice(lo, n)),
                    _constant(ingest_id, zeros.slice(lo, n)),
                    pa.DictionaryArray.from_arrays(flag_index.slice(lo, n), ZERO_SIZE_DICTIONARY),
                ]
                batches.append(pa.RecordBatch.from_arrays(arrays, schema=WRITE_SCHEMA))
            flagged = sum(int(zero_size[lo:hi].sum()) for lo, hi in pieces)
            parts.append(Part(symbol, year, pa.Table.from_batches(batches), flagged))
    return parts


def _iso(ns: pl.Expr) -> pl.Expr:
    return pl.when(ns != NAT).then(ns.cast(pl.Datetime("ns")).dt.to_string(ISO))


def _raw_json(raw: RawChunk, layout: KeyLayout, bad: np.ndarray) -> pl.Series:
    """The original values of the rejected rows as JSON objects (times as ISO text)."""
    columns: dict[str, pl.Series] = {}
    for column in layout.columns:
        values = raw.columns[column.name][bad]
        if column.time_encoding in ("int", "float"):
            # As stored (wall time, no zone conversion); "Z" when pandas stored it as UTC.
            ns = pl.Series(to_utc_ns(values, column, "UTC"))
            text = pl.select(_iso(pl.lit(ns)) + pl.lit("Z" if column.tz_aware else "")).to_series()
            columns[column.name] = text
        elif values.dtype.kind == "S":
            columns[column.name] = pl.Series(values).cast(pl.String, strict=False)
        elif values.dtype.kind in "OU":
            columns[column.name] = pl.Series(values.astype(str))
        else:
            columns[column.name] = pl.Series(values)
    frame = pl.DataFrame({f"c{i}": s for i, s in enumerate(columns.values())})
    frame.columns = list(columns)
    return frame.select(pl.struct(pl.all()).struct.json_encode()).to_series()


def quarantined_rows(
    checked: CheckedChunk, raw: RawChunk, layout: KeyLayout, rules: CheckRules, *, ingest_id: str
) -> pa.Table:
    """The rejected rows of a chunk (``QUARANTINE`` schema), in file order.

    ``source_row`` is the row's 0-based index in the HDF5 dataset (``pd.read_hdf(path, key,
    start=row, stop=row + 1)`` shows it); ``message`` names every rule the row broke.
    """
    bad = checked.bad
    if bad.size == 0:
        return QUARANTINE.empty_table()
    names = np.array(checked.symbols, dtype=object)
    symbol = names[checked.codes[bad]] if checked.codes is not None else names[[0] * bad.size]
    frame = pl.DataFrame(
        {
            "ts": checked.ts[bad],
            "price": checked.price[bad],
            "size": checked.size[bad],
            "rule": checked.bad_rule,
            "prior": checked.bad_before,
            "symbol": pl.Series(symbol.astype(str), dtype=pl.String),
        }
    )
    ts, price, size = pl.col("ts"), pl.col("price"), pl.col("size")
    lo, hi = rules.price_min, rules.price_max
    bad_ts = (ts == NAT) | (ts < rules.ts_min_ns) | (ts > rules.ts_max_ns)
    earliest, latest = (
        str(np.datetime64(v, "ns").astype("datetime64[s]"))
        for v in (rules.ts_min_ns, rules.ts_max_ns)
    )
    explain = [
        pl.when(bad_ts).then(
            pl.lit("ts.invalid: time ")
            + pl.coalesce(_iso(ts), pl.lit("NaT"))
            + pl.lit(f" is missing or outside {earliest} .. {latest} UTC")
        ),
        pl.when(price.is_nan()).then(pl.lit("value.missing: price is NaN")),
        pl.when(~size.is_finite()).then(pl.format("value.missing: size is {}", size)),
        pl.when(pl.col("symbol") == "").then(pl.lit("value.missing: contract symbol is empty")),
        pl.when(~price.is_nan() & (price.is_infinite() | (price <= lo) | (price >= hi))).then(
            pl.format(f"price.range: price {{}} not in ({lo:g}, {hi:g})", price)
        ),
        pl.when(size < 0).then(pl.format("volume.negative: size {} < 0", size)),
        pl.when(pl.col("rule") == TS_UNSORTED).then(
            pl.format(
                "ts.unsorted: {} is before {}, the latest time already seen for {} in file "
                "order (trades must be time-ordered per symbol)",
                _iso(ts),
                _iso(pl.col("prior")),
                pl.col("symbol"),
            )
        ),
    ]
    out = frame.select(
        pl.lit("trades").alias("dataset"),
        pl.lit(ingest_id).alias("ingest_id"),
        pl.Series("source_row", checked.start + bad, dtype=pl.Int64),
        pl.when(pl.col("symbol") != "").then(pl.col("symbol")).alias("symbol"),
        pl.Series("rule_id", np.array(RULE_IDS)[checked.bad_rule], dtype=pl.String),
        pl.lit("ERROR").alias("severity"),
        pl.concat_str(explain, separator="; ", ignore_nulls=True).alias("message"),
        _raw_json(raw, layout, bad).alias("raw"),
    )
    return out.to_arrow().cast(QUARANTINE)
