"""Publish one key of an HDF5 file to silver ``trades``, chunk by chunk, resumably.

    reader thread --(bounded queue)--> checks (calling thread) --> Parquet writers (thread pool)

h5py, NumPy and pyarrow release the GIL for the heavy parts, so reading, checking and encoding
overlap on two cores; at most ``queue_chunks`` chunks wait between the stages, so memory is
bounded whatever the file size. Chunks are committed in order: once a chunk's files are in place
its progress is written (``silver/_progress/<ingest_id>.json``), so an interrupted ingest goes on
at the first chunk not committed; a chunk written again replaces its own files (names are
deterministic).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from marketlake.config import Settings
from marketlake.errors import LakeError
from marketlake.ingest_hdf5.land import OnProgress
from marketlake.lake import Lake
from marketlake.lake.silver import (
    ChunkProgress,
    IngestRecord,
    chunk_key,
    chunk_quarantine_key,
    read_progress,
    write_parquet_encoded,
    write_progress,
)
from marketlake.sources import hdf5_ticks
from marketlake.sources.hdf5_ticks import CheckRules, KeyLayout, Part, RawChunk
from marketlake.sources.hdf5_ticks.check import ZERO_SIZE_FLAG

log = logging.getLogger(__name__)

DATASET = "trades"


def source_of(key: str) -> str:
    """The ``source`` column of a key's silver rows: ``hdf5:tick/trades``."""
    return f"hdf5:{key.strip('/')}"


class _Prefetch:
    """Run an iterator in a reader thread, at most ``depth`` items ahead of the consumer.

    "Ahead" counts an item being read: the reader waits for a free slot *before* reading, so
    at most ``depth`` chunks are in memory on top of the one the consumer holds.
    """

    def __init__(self, make: Callable[[], Iterator[RawChunk]], depth: int) -> None:
        self._make, self._stop = make, threading.Event()
        self._slots = threading.Semaphore(depth)
        self._queue: queue.Queue[tuple[str, object]] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="hdf5-reader", daemon=True)

    def _wait_for_slot(self) -> bool:
        while not self._stop.is_set():
            if self._slots.acquire(timeout=0.1):
                return True
        return False

    def _run(self) -> None:
        iterator = self._make()
        try:
            while self._wait_for_slot():
                chunk = next(iterator, None)
                if chunk is None:
                    self._queue.put(("end", None))
                    return
                self._queue.put(("chunk", chunk))
        except BaseException as exc:  # handed to the consumer, raised there
            self._queue.put(("error", exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Iterator[RawChunk]:
        self._thread.start()
        while True:
            kind, item = self._queue.get()
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(item, BaseException)
                raise item
            assert isinstance(item, RawChunk)
            self._slots.release()
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@dataclass
class _Pending:
    """A chunk handed to the writers, committed (in order) once its files are in place."""

    number: int
    stop: int
    rows_in: int
    rows_out: int
    quarantined_by_rule: dict[str, int]
    flagged: int
    carry: dict[str, int]
    written: Future[tuple[list[str], str | None]]


def _write_chunk(
    lake: Lake,
    ingest_id: str,
    number: int,
    parts: list[Part],
    quarantine: pa.Table,
    *,
    compression: str,
) -> tuple[list[str], str | None]:
    files: list[str] = []
    quarantine_file = None
    try:
        for part in parts:
            key = chunk_key(DATASET, part.symbol, part.year, ingest_id, number)
            write_parquet_encoded(lake, key, part.table, compression=compression)
            files.append(key)
        if quarantine.num_rows:
            quarantine_file = chunk_quarantine_key(DATASET, ingest_id, number)
            lake.write_parquet(quarantine_file, quarantine)
    except OSError as exc:  # disk full, quota: the lake's own errors are LakeErrors already
        raise LakeError(
            f"cannot write chunk {number} to silver ({exc})",
            path=lake.url(files[-1] if files else "silver/trades"),
            hint="free disk space (or fix the lake's permissions), then run the same command: "
            "it goes on from the last chunk written",
        ) from exc
    return files, quarantine_file


def _check_rules(settings: Settings, symbol: str) -> CheckRules:
    h5 = settings.sources.hdf5
    latest = datetime.now(UTC) + timedelta(days=h5.future_days)
    return CheckRules(
        default_symbol=symbol,
        price_min=settings.quality.price_min,
        price_max=settings.quality.price_max,
        ts_min_ns=int(np.datetime64(f"{h5.earliest_year}-01-01", "ns").astype(np.int64)),
        ts_max_ns=int(latest.timestamp()) * 1_000_000_000,
        naive_timezone=h5.timezone,
    )


def _commit(lake: Lake, progress: ChunkProgress, done: _Pending) -> None:
    files, quarantine_file = done.written.result()  # a failed write raises here
    progress.next_chunk = done.number + 1
    progress.rows_in += done.rows_in
    progress.rows_out += done.rows_out
    for rule, n in done.quarantined_by_rule.items():
        progress.quarantined_by_rule[rule] = progress.quarantined_by_rule.get(rule, 0) + n
    if done.flagged:
        flagged = progress.flagged_by_rule
        flagged[ZERO_SIZE_FLAG] = flagged.get(ZERO_SIZE_FLAG, 0) + done.flagged
    progress.files = sorted({*progress.files, *files})
    if quarantine_file:
        progress.quarantine_files = sorted({*progress.quarantine_files, quarantine_file})
    progress.state = done.carry
    write_progress(lake, progress)


def publish_key(
    lake: Lake,
    source_path: Path,
    layout: KeyLayout,
    *,
    ingest_id: str,
    settings: Settings,
    symbol: str,
    on_rows: OnProgress | None = None,
) -> tuple[IngestRecord, ChunkProgress, int]:
    """Publish one key to silver trades chunk by chunk, resuming an interrupted publish.

    Args:
        lake: The lake.
        source_path: The HDF5 file to read (the bronze object when the lake is local).
        layout: The key's layout.
        ingest_id: The delivery (names every file).
        settings: Chunk size, threads, compression, rule thresholds.
        symbol: Symbol of the rows when the key has no contract column.
        on_rows: Called with ``(key, rows_done, rows_total)`` after each committed chunk.

    Returns:
        The record (not yet written), the final progress, and the row it resumed at (0: none).
    """
    h5 = settings.sources.hdf5
    progress = read_progress(lake, ingest_id) or ChunkProgress(ingest_id, h5.chunk_rows)
    resumed_at = progress.next_chunk * progress.chunk_rows
    if resumed_at:
        log.info("resuming %s at row %s", layout.key, resumed_at, extra={"ingest_id": ingest_id})
    rules, source = _check_rules(settings, symbol), source_of(layout.key)
    carry = dict(progress.state)
    in_flight = max(h5.queue_chunks, h5.writer_threads)
    reader = _Prefetch(
        lambda: hdf5_ticks.iter_chunks(
            source_path,
            layout,
            chunk_rows=progress.chunk_rows,
            first_chunk=progress.next_chunk,
            max_object_bytes=h5.max_object_mib * 2**20,
        ),
        depth=1,
    )
    pending: deque[_Pending] = deque()

    def commit(keep: int) -> None:
        # In chunk order: the oldest first, waiting for it when more than `keep` are pending.
        while pending and (len(pending) > keep or pending[0].written.done()):
            done = pending.popleft()
            _commit(lake, progress, done)
            if on_rows is not None:
                on_rows(layout.key, done.stop, layout.nrows)

    pool = ThreadPoolExecutor(max_workers=h5.writer_threads, thread_name_prefix="hdf5-writer")
    try:
        for raw in reader:
            checked = hdf5_ticks.check_chunk(raw, layout, rules, carry)
            carry = checked.carry
            parts = hdf5_ticks.silver_parts(
                checked, raw, layout, source=source, ingest_id=ingest_id
            )
            quarantine = hdf5_ticks.quarantined_rows(
                checked, raw, layout, rules, ingest_id=ingest_id
            )
            counts = (
                pc.value_counts(quarantine["rule_id"]).to_pylist() if quarantine.num_rows else []
            )
            pending.append(
                _Pending(
                    number=raw.number,
                    stop=raw.stop,
                    rows_in=raw.rows,
                    rows_out=sum(p.table.num_rows for p in parts),
                    quarantined_by_rule={c["values"]: c["counts"] for c in counts},
                    flagged=sum(p.zero_size for p in parts),
                    carry=dict(carry),
                    written=pool.submit(
                        _write_chunk,
                        lake,
                        ingest_id,
                        raw.number,
                        parts,
                        quarantine,
                        compression=h5.compression,
                    ),
                )
            )
            del raw, checked, parts, quarantine  # bound memory: only the writers hold chunks
            commit(keep=in_flight - 1)
        commit(keep=0)
    finally:
        reader.close()
        pool.shutdown(wait=True, cancel_futures=True)
    record = progress.to_record(dataset=DATASET, source=source)
    return record, progress, resumed_at
