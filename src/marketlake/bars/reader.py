"""Silver trades of one symbol, streamed in time order in bounded chunks, checked as they come.

Files live at ``silver/trades/symbol=<S>/year=<Y>/<ingest_id>-<chunk>.parquet``; each is
time-sorted. They are ordered by their first trade time (from the Parquet footer statistics),
then by name, so several deliveries of one source (a file per vendor day) also come in order.
Only three columns are read (``ts_event``, ``price``, ``size``).

Ingest quarantines NaN prices and out-of-order rows, so silver never holds them. If a file does
anyway, the bars would silently be wrong: reading stops with an error naming the file and row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from marketlake.bars.accumulator import FloatArray, IntArray
from marketlake.errors import ConfigError, LakeError
from marketlake.lake import Lake
from marketlake.lake.compact import live_files
from marketlake.lake.silver import partition_dir, record_key

log = logging.getLogger(__name__)

COLUMNS = ["ts_event", "price", "size"]
REINGEST_HINT = (
    "silver trades must come from ingest, which quarantines such rows; re-ingest the source "
    "with --reprocess (or remove the file), then run bars again"
)


@dataclass(frozen=True)
class TradeFile:
    """One silver trades file, described by its footer."""

    key: str
    sources: tuple[str, ...]
    rows: int
    ts_min: int
    ts_max: int


@dataclass(frozen=True)
class TradeChunk:
    """Time-ordered trades: int64 ns UTC times, prices, sizes."""

    ts: IntArray
    price: FloatArray
    size: FloatArray

    def __len__(self) -> int:
        return int(self.ts.shape[0])


def list_symbols(lake: Lake) -> list[str]:
    """Every symbol with silver trades, sorted."""
    keys = lake.glob("silver/trades/symbol=*/year=*/*.parquet")
    return sorted({unquote(k.split("/")[2].removeprefix("symbol=")) for k in keys})


def _open(lake: Lake, key: str) -> pq.ParquetFile:
    try:
        # Local files by path: Arrow reads them itself (memory map, no GIL); others via fsspec.
        source: Any = lake.full(key) if lake.is_local else lake.fs.open(lake.full(key), "rb")
        return pq.ParquetFile(source)
    except (OSError, pa.ArrowInvalid) as exc:
        raise LakeError(
            f"cannot read silver trades file: {exc}",
            path=lake.url(key),
            hint="is the lake reachable and the file complete? re-run the ingest that wrote it",
        ) from exc


def _describe(lake: Lake, key: str) -> TradeFile:
    parquet = _open(lake, key)
    meta = parquet.metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    missing = [c for c in [*COLUMNS, "source"] if c not in names]
    if missing:
        raise LakeError(
            f"silver trades file lacks columns {missing}",
            path=lake.url(key),
            hint="it was not written by marketlake ingest; remove it or re-ingest",
        )
    ts_i, src_i = names.index("ts_event"), names.index("source")
    lows, highs, sources = [], [], set()
    complete_stats = True
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        if group.num_rows == 0:
            continue
        ts_stats, src_stats = group.column(ts_i).statistics, group.column(src_i).statistics
        if ts_stats is None or not ts_stats.has_min_max:
            complete_stats = False
            break
        lows.append(int(ts_stats.min_raw))
        highs.append(int(ts_stats.max_raw))
        if src_stats is not None and src_stats.has_min_max and src_stats.min == src_stats.max:
            sources.add(str(src_stats.min))
        else:
            complete_stats = False
    if not complete_stats:
        # No usable statistics (another writer): read the two small columns instead.
        table = parquet.read(columns=["ts_event", "source"])
        ts = table.column("ts_event").cast(pa.int64())
        lows = [pc.min(ts).as_py()] if len(ts) else []
        highs = [pc.max(ts).as_py()] if len(ts) else []
        sources = set(pc.unique(table.column("source")).to_pylist()) - {None}
    return TradeFile(
        key=key,
        sources=tuple(sorted(sources)),
        rows=meta.num_rows,
        ts_min=min(lows) if lows else 0,
        ts_max=max(highs) if highs else 0,
    )


def scan_trade_files(lake: Lake, symbol: str) -> list[TradeFile]:
    """The symbol's silver trades files, in time order (first trade time, then name).

    Listed as a consistent snapshot (:func:`marketlake.lake.compact.live_files`): while a
    compaction is committing, its inputs are left out once its output is in, never both.
    """
    symbol_dir = partition_dir("trades", symbol, 0).rsplit("/", 1)[0]  # without "/year=0"
    live = live_files(lake, "trades", [f"{symbol_dir}/year=*"])
    files = [_describe(lake, key) for key, _, _ in live]
    return sorted((f for f in files if f.rows), key=lambda f: (f.ts_min, f.key))


def ingest_of(key: str) -> str:
    """The ingest id in a silver file name (``<ingest_id>.parquet``, ``<ingest_id>-<chunk>...``)."""
    return key.rsplit("/", 1)[-1].removesuffix(".parquet").split("-", 1)[0]


def check_published(lake: Lake, files: list[TradeFile], *, symbol: str) -> None:
    """Refuse files of an ingest that is not completely published (still running or crashed).

    Bars over half an ingest would look fine and be wrong; ingest writes its record last.

    Raises:
        LakeError: naming the unfinished ingests and what to do.
    """
    ingests = {ingest_of(f.key) for f in files}
    unfinished = sorted(i for i in ingests if not lake.exists(record_key(i)))
    if unfinished:
        raise LakeError(
            f"{symbol} has silver trades of {len(unfinished)} ingest(s) not completely "
            f"published: {', '.join(unfinished)}",
            symbol=symbol,
            hint="an ingest is still running or was interrupted: let it finish (or run the same "
            "ingest command again, it resumes), then run bars again",
        )


def select_source(files: list[TradeFile], *, symbol: str, source: str | None) -> str:
    """The one source to build bars from.

    Raises:
        ConfigError: the symbol has trades from several sources and none was chosen, or the
            chosen one is not among them.
    """
    found = sorted({s for f in files for s in f.sources})
    if source is not None:
        if source not in found:
            raise ConfigError(
                f"{symbol} has no silver trades from source {source!r}",
                symbol=symbol,
                hint=f"its sources: {', '.join(found) or 'none'}",
            )
        return source
    if len(found) > 1:
        raise ConfigError(
            f"{symbol} has trades from {len(found)} sources: {', '.join(found)}",
            symbol=symbol,
            hint=f"choose one with --source (e.g. --source {found[0]}); mixing them would "
            "count trades twice",
        )
    if not found:
        raise ConfigError(f"{symbol} has no silver trades", symbol=symbol)
    return found[0]


def files_for(
    files: list[TradeFile], *, source: str, start_ns: int | None, end_ns: int | None
) -> list[TradeFile]:
    """The files holding trades of ``source`` in ``[start_ns, end_ns)``."""
    return [
        f
        for f in files
        if source in f.sources
        and (start_ns is None or f.ts_max >= start_ns)
        and (end_ns is None or f.ts_min < end_ns)
    ]


def find_problem(
    ts: IntArray, price: FloatArray, size: FloatArray, previous_ts: int
) -> tuple[str, int] | None:
    """What makes these trades unusable for bars, and the first offending index; None if fine.

    Pure: a NaN or infinite price, a NaN / infinite / negative size, or a time earlier than the
    trade before it (``previous_ts`` carries the last time of the previous chunk). Price ranges
    are ingest's business (rule ``price.range``), not checked again here.
    """
    checks: list[tuple[str, Any]] = [
        ("price is NaN or infinite", ~np.isfinite(price)),
        ("size is NaN, infinite or negative", ~(size >= 0) | ~np.isfinite(size)),
    ]
    if ts.shape[0]:
        order = np.empty(ts.shape[0], dtype=bool)
        order[0] = ts[0] < previous_ts
        np.less(ts[1:], ts[:-1], out=order[1:])
        checks.append(("ts_event is earlier than the trade before it (unsorted)", order))
    for what, bad in checks:
        if bad.any():
            return what, int(np.argmax(bad))
    return None


def iter_trade_chunks(
    lake: Lake,
    files: list[TradeFile],
    *,
    symbol: str,
    source: str,
    start_ns: int | None = None,
    end_ns: int | None = None,
    chunk_rows: int = 5_000_000,
) -> Iterator[TradeChunk]:
    """Stream the trades of ``files`` in time order, at most ``chunk_rows`` per chunk.

    Raises:
        LakeError: a file holds a null, NaN or unsorted value (named with file and row).
    """
    previous_ts = np.iinfo(np.int64).min
    for file in files:
        parquet = _open(lake, file.key)
        mixed = len(file.sources) > 1
        columns = [*COLUMNS, "source"] if mixed else COLUMNS
        offset = 0  # row number in the file of the batch's first row
        for batch in parquet.iter_batches(batch_size=chunk_rows, columns=columns):
            where = {"symbol": symbol, "path": lake.url(file.key)}
            if any(batch.column(c).null_count for c in COLUMNS):
                raise LakeError(
                    "silver trades hold a null time, price or size", **where, hint=REINGEST_HINT
                )
            ts = batch.column(0).cast(pa.int64()).to_numpy()
            price = batch.column(1).to_numpy()
            size = batch.column(2).to_numpy()
            problem = find_problem(ts, price, size, previous_ts)
            if problem is not None:
                what, index = problem
                raise LakeError(
                    f"silver trades unusable for bars: {what}",
                    **where,
                    row_index=offset + index,  # 0-based, within the file
                    hint=REINGEST_HINT,
                )
            previous_ts = int(ts[-1]) if ts.shape[0] else previous_ts
            offset += batch.num_rows
            keep = _select(ts, batch, mixed=mixed, source=source, start_ns=start_ns, end_ns=end_ns)
            if keep is not None:
                ts, price, size = ts[keep], price[keep], size[keep]
            if ts.shape[0]:
                yield TradeChunk(ts, price, size)


def _select(
    ts: IntArray,
    batch: pa.RecordBatch,
    *,
    mixed: bool,
    source: str,
    start_ns: int | None,
    end_ns: int | None,
) -> slice | Any | None:
    """Rows of the batch in range (and of the source); None means all of them."""
    lo = 0 if start_ns is None else int(np.searchsorted(ts, start_ns, side="left"))
    hi = ts.shape[0] if end_ns is None else int(np.searchsorted(ts, end_ns, side="left"))
    if not mixed:
        return None if (lo, hi) == (0, ts.shape[0]) else slice(lo, hi)
    mask = (batch.column(3).to_numpy(zero_copy_only=False) == source) & (
        (np.arange(ts.shape[0]) >= lo) & (np.arange(ts.shape[0]) < hi)
    )
    return mask
