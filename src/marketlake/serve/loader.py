"""The public read API for backtests: ``read_bars``/``scan_bars``, trades and quotes.

Which files are read is decided from the partitions asked for (``symbol=``, ``year=``), never by
listing the whole dataset; rows are then pruned by the Parquet statistics (Polars predicate and
column pushdown). A partition with a current served copy (``marketlake compact``, see
``marketlake.lake.compact``) is read from that one file instead of its many small ones.
Eager reads are kept in a process-wide LRU cache bounded in bytes (``loader.cache_bytes``);
:func:`cache_info` shows its counters.

Time bounds:
    * A **date** (``date`` object or ``"YYYY-MM-DD"``) is a whole day, ``end`` included. For bars
      it selects on ``session_date`` (the exchange-local trading date, so pre/post-market minutes
      stay with their day); for trades and quotes on the UTC day of ``ts_event``.
    * A **datetime** (or ``"YYYY-MM-DDTHH:MM..."``) bounds ``ts_event`` as ``[start, end)``;
      naive values are UTC.

One bar per time (bars only): silver keeps every delivery, so two deliveries whose ranges overlap
(two CSV exports of one symbol, a re-sent day) both hold the bars they share. The loader returns
one bar per (symbol, interval, ``ts_event``): the row of the latest-landed delivery (the bronze
manifest's ``landed_at``; ties broken by the larger ``ingest_id``), the same rule as gold's
``stg_silver__bars``. Eager reads check for repeated keys (one pass over the sorted keys) and pay
for the choice only when there are some; lazy scans add it to the plan whenever the partitions
read hold more than one delivery.

Corporate actions (bars only, ``adjust=``):
    * ``"none"``: prices as delivered.
    * ``"splits"``: a ``split_factor`` f (2.0 for 2-for-1) on a bar is effective from that bar on.
      Every earlier bar's open/high/low/close/vwap and dividend are divided, and its volume
      multiplied, by the product of the factors of all later splits.
    * ``"all"``: splits as above, and for a ``dividend`` D on a bar (the ex-date), every earlier
      bar's prices are also multiplied by ``1 - D / close_prev`` (close_prev: the raw close of the
      bar before the ex-date), compounded over all later dividends (the CRSP/Yahoo factor).
      Volume is not changed by dividends.

    Factors are relative to the newest data in silver, so the whole history of the symbol is
    read to compute them. The vendor's ``adj_close`` is returned unchanged and never used: its
    conventions differ by vendor and it covers only the close.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, overload

import polars as pl

from marketlake.config import Settings, get_settings
from marketlake.errors import ConfigError
from marketlake.lake import Lake, open_lake
from marketlake.lake.bronze import read_manifest
from marketlake.schemas import schema_of
from marketlake.serve.adjust import Adjust, adjust_bars
from marketlake.serve.cache import CacheInfo, FrameCache
from marketlake.serve.partitions import (
    Bound,
    Symbols,
    TimeBound,
    files_to_read,
    list_files,
    parse_bound,
    partition_years,
    symbol_list,
)

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

Output = Literal["polars", "pandas"]

_cache = FrameCache(0)
_cache_bound: list[int | None] = [None]  # the bound the cache was last sized from


def _scan_files(lake: Lake, dataset: str, keys: list[str]) -> pl.LazyFrame:
    if not keys:
        empty = pl.from_arrow(schema_of(dataset).empty_table())
        assert isinstance(empty, pl.DataFrame)
        return empty.lazy()
    if lake.is_local:
        return pl.scan_parquet([lake.full(k) for k in keys], hive_partitioning=False)
    import pyarrow.dataset as ds

    # Object stores through the lake's own fsspec filesystem (endpoint, credentials).
    dataset_ = ds.dataset([lake.full(k) for k in keys], format="parquet", filesystem=lake.fs)
    return pl.scan_pyarrow_dataset(dataset_)


def _instant(ns: int) -> pl.Expr:
    # A literal of the column's own type: comparisons on it reach the Parquet statistics.
    return pl.lit(ns, dtype=pl.Int64).cast(pl.Datetime("ns", "UTC"))


def _time_filter(dataset: str, start: Bound | None, end: Bound | None) -> list[pl.Expr]:
    by_session = dataset == "bars"
    filters: list[pl.Expr] = []
    if start is not None:
        if by_session and start.day is not None:
            filters.append(pl.col("session_date") >= start.day)
        else:
            filters.append(pl.col("ts_event") >= _instant(start.ns))
    if end is not None:
        if by_session and end.day is not None:
            filters.append(pl.col("session_date") <= end.day)
        else:
            filters.append(pl.col("ts_event") < _instant(end.ns))
    return filters


# A bar is identified by these; deliveries that overlap repeat them.
BAR_KEY = ["symbol", "interval", "ts_event"]


def _ingest_of(key: str) -> str:
    # Silver files are named by ingest id: <id>.parquet, <id>-<chunk>.parquet, <id>-compact-<h>.
    return key.rsplit("/", 1)[-1].removesuffix(".parquet").split("-", 1)[0]


def _delivery_ranks(lake: Lake, ingest_ids: set[str]) -> pl.DataFrame:
    """Landing time of each delivery (None when silver holds it without a manifest row)."""
    landed = {e.ingest_id: e.landed_at for e in read_manifest(lake) if e.ingest_id in ingest_ids}
    return pl.DataFrame(
        {
            "ingest_id": sorted(ingest_ids),
            "_landed_at": [landed.get(i) for i in sorted(ingest_ids)],
        },
        schema={"ingest_id": pl.String, "_landed_at": pl.String},
    ).with_columns(pl.col("_landed_at").str.to_datetime(time_zone="UTC", time_unit="us"))


def _latest_delivery(frame: pl.LazyFrame, ranks: pl.DataFrame) -> pl.LazyFrame:
    """One row per bar key: the latest-landed delivery's (ties: the larger ingest id)."""
    return (
        frame.join(ranks.lazy(), on="ingest_id", how="left")
        .sort(["_landed_at", "ingest_id"], descending=True, nulls_last=True, maintain_order=True)
        .unique(subset=BAR_KEY, keep="first", maintain_order=True)
        .drop("_landed_at")
    )


@dataclass(frozen=True)
class _Request:
    dataset: str
    symbols: list[str] | None
    start: Bound | None
    end: Bound | None
    interval: str | None
    columns: list[str] | None
    adjust: Adjust


def _order(request: _Request) -> list[str]:
    # No symbol filter: partitions are per symbol, so the files hold only the symbols asked.
    # One symbol sorts on the time alone (an int64 key: ~2x faster than with the string).
    single = request.symbols is not None and len(request.symbols) == 1
    return ["ts_event"] if single else ["symbol", "ts_event"]


Files = list[tuple[str, int, str]]  # (key, size, version) of the silver files a read opens


def _files(lake: Lake, request: _Request) -> Files:
    """The files ``request`` reads (a consistent snapshot, see ``list_files``)."""
    adjusting = request.adjust != "none"
    if adjusting and request.dataset != "bars":
        raise ConfigError(
            f"adjust={request.adjust!r} applies to bars only", hint='use adjust="none"'
        )
    # Adjustment factors depend on every later split/dividend: read the symbol's whole history.
    years = None if adjusting else partition_years(request.dataset, request.start, request.end)
    return list_files(lake, request.dataset, request.symbols, years)


def _plan(
    lake: Lake, request: _Request, files: Files, *, sort: bool = True, latest: bool | None = None
) -> pl.LazyFrame:
    """The lazy read of ``request`` over ``files``.

    ``latest``: keep one bar per key (see the module docs); None decides from the files (more
    than one delivery among them), False leaves repeats for the caller to check.
    """
    adjusting = request.adjust != "none"
    frame = _scan_files(lake, request.dataset, files_to_read(lake, files))
    order = _order(request)
    if request.interval is not None:
        frame = frame.filter(pl.col("interval") == request.interval)
    if request.dataset == "bars":
        ingests = {_ingest_of(key) for key, _, _ in files}
        if latest is None:
            latest = len(ingests) > 1
        if latest:
            frame = _latest_delivery(frame, _delivery_ranks(lake, ingests))
    if adjusting:
        ordered = frame.sort(["symbol", "interval", "ts_event"], maintain_order=True)
        frame = adjust_bars(ordered, request.adjust)
    for condition in _time_filter(request.dataset, request.start, request.end):
        frame = frame.filter(condition)
    if sort and (not adjusting or request.interval is None):
        frame = frame.sort(order, maintain_order=True)
    if request.columns is not None:
        missing = [c for c in request.columns if c not in schema_of(request.dataset).names]
        if missing:
            raise ConfigError(
                f"{request.dataset} has no column(s) {missing}",
                hint=f"columns: {', '.join(schema_of(request.dataset).names)}",
            )
        frame = frame.select(request.columns)
    return frame


def _repeats(frame: pl.DataFrame, request: _Request) -> bool:
    """Whether two rows share a bar key; ``frame`` is sorted by symbol and time.

    With one interval, rows that share a key are neighbours: one pass over the sorted keys.
    """
    if request.interval is None:
        return bool(frame.select(pl.struct(BAR_KEY).is_duplicated().any()).item())
    same = pl.col("ts_event") == pl.col("ts_event").shift(1)
    if _order(request) != ["ts_event"]:
        same = same & (pl.col("symbol") == pl.col("symbol").shift(1))
    return bool(frame.select(same.any()).item())


def _request(
    dataset: str,
    symbols: Symbols,
    start: TimeBound,
    end: TimeBound,
    *,
    interval: str | None,
    columns: Sequence[str] | None,
    adjust: Adjust,
) -> _Request:
    return _Request(
        dataset=dataset,
        symbols=symbol_list(symbols),
        start=parse_bound(start, end=False),
        end=parse_bound(end, end=True),
        interval=interval,
        columns=list(columns) if columns is not None else None,
        adjust=adjust,
    )


def _context(settings: Settings | None) -> tuple[Settings, Lake]:
    settings = settings or get_settings()
    if _cache_bound[0] != settings.loader.cache_bytes:
        _cache.resize(settings.loader.cache_bytes)
        _cache_bound[0] = settings.loader.cache_bytes
    return settings, open_lake(settings)


def _scan(request: _Request, settings: Settings | None) -> pl.LazyFrame:
    _, lake = _context(settings)
    return _plan(lake, request, _files(lake, request))


def _collect(lake: Lake, request: _Request, files: Files) -> pl.DataFrame:
    """The rows of ``request`` in the loader's order, one per bar key for bars."""
    if request.dataset != "bars" or request.adjust != "none":
        # Adjusting reads through the plan's own choice of delivery (before the factors).
        keys_kept = request.columns is None or set(_order(request)) <= set(request.columns)
        frame = _plan(lake, request, files, sort=not keys_kept)
        return _sorted(frame.collect(), request) if keys_kept else frame.collect()
    # Bars: read with the keys, check for repeats (rare: overlapping deliveries), and only then
    # pay for choosing the latest delivery.
    wanted = request.columns
    keyed = replace(request, columns=None if wanted is None else _with_keys(wanted))
    result = _sorted(_plan(lake, keyed, files, sort=False, latest=False).collect(), keyed)
    if len({_ingest_of(key) for key, _, _ in files}) > 1 and _repeats(result, keyed):
        frame = _plan(lake, keyed, files, sort=False, latest=True)
        result = _sorted(frame.collect(), keyed)
    return result if wanted is None else result.select(wanted)


def _with_keys(columns: list[str]) -> list[str]:
    return columns + [k for k in BAR_KEY if k not in columns]


def _read(request: _Request, settings: Settings | None, output: Output) -> Any:
    if output not in ("polars", "pandas"):
        raise ConfigError(f"unknown output {output!r}", hint='use output="polars" or "pandas"')
    _, lake = _context(settings)
    # Sorted after collecting: a frame already in order (a compacted file, a single file) then
    # skips the sort.
    files = _files(lake, request)
    key: Hashable = (lake.uri, repr(request), tuple(files))
    result = _cache.get(key)
    if result is None:
        result = _collect(lake, request, files)
        _cache.put(key, result)
    if output == "pandas":
        # A fresh, writable copy: nothing the caller does reaches the cached frame.
        return result.to_pandas().copy(deep=True)
    return result


def _sorted(frame: pl.DataFrame, request: _Request) -> pl.DataFrame:
    """The frame in the loader's order; a frame already in it (a compacted or single file,
    usually) is returned as it is: checking is one pass, a sort ~10 ms per 100k rows."""
    if request.adjust != "none" and request.interval is not None:
        return frame  # adjust_bars already ordered it
    order = _order(request)
    if order == ["ts_event"] and frame["ts_event"].is_sorted():
        return frame
    return frame.sort(order, maintain_order=True)


def cache_info() -> CacheInfo:
    """Hits, misses, entries and bytes of the loader cache (and its bound)."""
    return _cache.info()


def cache_clear() -> None:
    """Empty the loader cache and reset its counters."""
    _cache.clear()


# --- public API ------------------------------------------------------------------------------


def scan_bars(
    symbols: Symbols,
    start: TimeBound = None,
    end: TimeBound = None,
    *,
    interval: str | None = "1m",
    columns: Sequence[str] | None = None,
    adjust: Adjust = "none",
    settings: Settings | None = None,
) -> pl.LazyFrame:
    """Bars of ``symbols`` (None: all) in ``[start, end]`` as a lazy Polars frame.

    Args:
        symbols: One symbol, several, or None for every symbol.
        start: First day (date) or instant (datetime, included); None: from the beginning.
        end: Last day (date, included) or instant (datetime, excluded); None: to the end.
        interval: ``1m``, ``1d``, ``1w``...; None for every interval.
        columns: Columns to return (pushed down to the Parquet read); None for all.
        adjust: ``none``, ``splits`` or ``all`` (see the module docs).
        settings: Settings to use (default: :func:`marketlake.config.get_settings`).

    Returns:
        Rows sorted by symbol and ``ts_event``.

    Raises:
        ConfigError: a bound, column or option is not understood.
    """
    request = _request(
        "bars", symbols, start, end, interval=interval, columns=columns, adjust=adjust
    )
    return _scan(request, settings)


@overload
def read_bars(
    symbols: Symbols,
    start: TimeBound = ...,
    end: TimeBound = ...,
    *,
    interval: str | None = ...,
    columns: Sequence[str] | None = ...,
    adjust: Adjust = ...,
    output: Literal["polars"] = ...,
    settings: Settings | None = ...,
) -> pl.DataFrame: ...


@overload
def read_bars(
    symbols: Symbols,
    start: TimeBound = ...,
    end: TimeBound = ...,
    *,
    interval: str | None = ...,
    columns: Sequence[str] | None = ...,
    adjust: Adjust = ...,
    output: Literal["pandas"],
    settings: Settings | None = ...,
) -> pd.DataFrame: ...


def read_bars(
    symbols: Symbols,
    start: TimeBound = None,
    end: TimeBound = None,
    *,
    interval: str | None = "1m",
    columns: Sequence[str] | None = None,
    adjust: Adjust = "none",
    output: Output = "polars",
    settings: Settings | None = None,
) -> pl.DataFrame | pd.DataFrame:
    """Bars read eagerly, through the cache; arguments as :func:`scan_bars`.

    Args:
        symbols: One symbol, several, or None for every symbol.
        start: First day or instant (see :func:`scan_bars`).
        end: Last day (included) or instant (excluded).
        interval: ``1m``, ``1d``, ``1w``...; None for every interval.
        columns: Columns to return; None for all.
        adjust: ``none``, ``splits`` or ``all``.
        output: ``polars`` (default) or ``pandas`` (always a fresh copy).
        settings: Settings to use.

    Returns:
        A Polars or pandas frame sorted by symbol and ``ts_event``.
    """
    request = _request(
        "bars", symbols, start, end, interval=interval, columns=columns, adjust=adjust
    )
    result: pl.DataFrame | pd.DataFrame = _read(request, settings, output)
    return result


def scan_trades(
    symbols: Symbols,
    start: TimeBound = None,
    end: TimeBound = None,
    *,
    columns: Sequence[str] | None = None,
    settings: Settings | None = None,
) -> pl.LazyFrame:
    """Trades of ``symbols`` (None: all) as a lazy Polars frame; dates are UTC days.

    Args:
        symbols: One symbol, several, or None for every symbol.
        start: First UTC day (date) or instant (datetime, included).
        end: Last UTC day (date, included) or instant (datetime, excluded).
        columns: Columns to return; None for all.
        settings: Settings to use.

    Returns:
        Rows sorted by symbol and ``ts_event`` (ties in file order).
    """
    request = _request("trades", symbols, start, end, interval=None, columns=columns, adjust="none")
    return _scan(request, settings)


def read_trades(
    symbols: Symbols,
    start: TimeBound = None,
    end: TimeBound = None,
    *,
    columns: Sequence[str] | None = None,
    output: Output = "polars",
    settings: Settings | None = None,
) -> Any:
    """Trades read eagerly, through the cache; arguments as :func:`scan_trades`.

    Args:
        symbols: One symbol, several, or None for every symbol.
        start: First UTC day or instant.
        end: Last UTC day (included) or instant (excluded).
        columns: Columns to return; None for all.
        output: ``polars`` (default) or ``pandas`` (a fresh copy).
        settings: Settings to use.

    Returns:
        A Polars or pandas frame.
    """
    request = _request("trades", symbols, start, end, interval=None, columns=columns, adjust="none")
    return _read(request, settings, output)


def scan_quotes(
    symbols: Symbols,
    start: TimeBound = None,
    end: TimeBound = None,
    *,
    columns: Sequence[str] | None = None,
    settings: Settings | None = None,
) -> pl.LazyFrame:
    """Quotes of ``symbols`` (None: all) as a lazy Polars frame; dates are UTC days.

    Args:
        symbols: One symbol, several, or None for every symbol.
        start: First UTC day (date) or instant (datetime, included).
        end: Last UTC day (date, included) or instant (datetime, excluded).
        columns: Columns to return; None for all.
        settings: Settings to use.

    Returns:
        Rows sorted by symbol and ``ts_event``.
    """
    request = _request("quotes", symbols, start, end, interval=None, columns=columns, adjust="none")
    return _scan(request, settings)


def read_quotes(
    symbols: Symbols,
    start: TimeBound = None,
    end: TimeBound = None,
    *,
    columns: Sequence[str] | None = None,
    output: Output = "polars",
    settings: Settings | None = None,
) -> Any:
    """Quotes read eagerly, through the cache; arguments as :func:`scan_quotes`.

    Args:
        symbols: One symbol, several, or None for every symbol.
        start: First UTC day or instant.
        end: Last UTC day (included) or instant (excluded).
        columns: Columns to return; None for all.
        output: ``polars`` (default) or ``pandas`` (a fresh copy).
        settings: Settings to use.

    Returns:
        A Polars or pandas frame.
    """
    request = _request("quotes", symbols, start, end, interval=None, columns=columns, adjust="none")
    return _read(request, settings, output)
