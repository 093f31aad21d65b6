"""Ingest an HDF5 tick file: land it in bronze once, then publish each key to silver trades.

Idempotent: the same file and key land once and publish once (a re-run does nothing; the file's
hash is cached by path, size and mtime, so it does not read 20 GB again); an interrupted publish
resumes at its first unfinished chunk; new bytes under the same file name and key supersede the
older delivery's rows.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from marketlake.config import Settings
from marketlake.errors import MarketLakeError, SourceError
from marketlake.ingest_hdf5.land import (
    OnProgress,
    file_sha256,
    land_file,
    manifest_entry,
)
from marketlake.ingest_hdf5.pipeline import publish_key
from marketlake.lake import Lake, open_lake
from marketlake.lake.bronze import ManifestEntry
from marketlake.lake.deliveries import prior_of, skip_row
from marketlake.lake.silver import (
    IngestRecord,
    progress_key,
    publish_chunked_record,
    record_key,
)
from marketlake.ops.ledger import Run
from marketlake.sources import hdf5_ticks
from marketlake.sources.hdf5_ticks import KeyLayout

log = logging.getLogger(__name__)

Outcome = Literal["published", "unchanged", "superseded", "failed"]


@dataclass
class KeyResult:
    """What happened to one key of the file."""

    key: str
    outcome: Outcome
    ingest_id: str | None = None
    record: IngestRecord | None = None
    error: MarketLakeError | None = None
    resumed_at_row: int = 0  # > 0: an interrupted ingest went on from this row
    seconds: float = 0.0


@dataclass
class Hdf5Report:
    """What one ``ingest hdf5`` did: the landing, then key by key."""

    run_id: str
    path: str
    sha256: str = ""
    bronze_key: str = ""
    landed: Literal["linked", "copied", "already"] = "already"
    keys: list[KeyResult] = field(default_factory=list)
    found: list[KeyLayout] = field(default_factory=list)  # every key of the file

    @property
    def failed(self) -> list[KeyResult]:
        """The keys that could not be ingested."""
        return [k for k in self.keys if k.outcome == "failed"]


def list_hdf5(path: Path | str) -> list[KeyLayout]:
    """Every key of an HDF5 file with its layout, rows, columns and roles (nothing is written).

    Raises:
        SourceError: the file is missing or not HDF5.
    """
    return hdf5_ticks.describe_file(path)


def _ingest_key(
    lake: Lake,
    run: Run,
    path: Path,
    layout: KeyLayout,
    entry: ManifestEntry,
    *,
    read_from: Path,
    settings: Settings,
    symbol: str,
    reprocess: bool,
    on_progress: OnProgress | None,
) -> KeyResult:
    result = KeyResult(key=layout.key, outcome="failed", ingest_id=entry.ingest_id)
    start = time.perf_counter()
    try:
        with run.step(f"ingest.{hdf5_ticks.SOURCE}", f"{path}#{layout.key}") as row:
            row.bytes = entry.size
            row.details.update(ingest_id=entry.ingest_id, key=layout.key, layout=layout.layout)
            prior = prior_of(lake, entry, reprocess=reprocess)
            if prior is not None:
                if prior.record is not None:
                    lake.remove(progress_key(entry.ingest_id))  # a crash after the record
                skip_row(row, prior, entry.size)
                result.outcome, result.record = prior.outcome, prior.record
                return result
            if reprocess:
                # Start over, and let an interrupted reprocess be seen as interrupted.
                lake.remove(progress_key(entry.ingest_id))
                lake.remove(record_key(entry.ingest_id))
            record, progress, result.resumed_at_row = publish_key(
                lake,
                read_from,
                layout,
                ingest_id=entry.ingest_id,
                settings=settings,
                symbol=symbol,
                on_rows=on_progress,
            )
            record = publish_chunked_record(
                lake,
                record,
                quarantine_files=progress.quarantine_files,
                supersedes=entry.supersedes,
            )
            result.outcome, result.record = "published", record
            row.rows_in, row.rows_out = record.rows_in, record.rows_out
            row.rows_quarantined = record.rows_quarantined
            row.details.update(
                symbols=sorted(progress.state),
                resumed_at_row=result.resumed_at_row,
                quarantined_by_rule=record.quarantined_by_rule,
                flagged_by_rule=record.flagged_by_rule,
            )
    except MarketLakeError as exc:
        result.error = exc
        log.warning("ingest of %s failed: %s", layout.key, exc, extra={"path": str(path)})
    finally:
        result.seconds = time.perf_counter() - start
    return result


def ingest_hdf5(
    path: Path | str,
    *,
    settings: Settings,
    keys: list[str] | None = None,
    symbol: str | None = None,
    reprocess: bool = False,
    run: Run | None = None,
    on_progress: OnProgress | None = None,
) -> Hdf5Report:
    """Ingest an HDF5 tick file: land it in bronze once, then each key into silver ``trades``.

    Args:
        path: The HDF5 file.
        settings: marketlake settings (``sources.hdf5`` for chunking, threads, bronze mode).
        keys: Keys to ingest (``tick/trades``); by default the only key holding trades.
        symbol: Symbol of keys without a contract column; default the file stem upper-cased.
            Keys with a contract column use each row's contract (``ESH0``), upper-cased.
        reprocess: Publish keys again even when they were published before.
        run: The run to record ledger rows in; a new one by default.
        on_progress: Called with ``("hash"|"copy", bytes, total)`` while landing, then
            ``(key, rows, total)`` after each chunk.

    Returns:
        The landing and one result per key; a key that fails does not stop the others.

    Raises:
        SourceError: the file is missing or not HDF5, a key named is absent, or the layout is
            unknown (the message names every key and its columns' dtypes).
    """
    path = Path(path)
    lake = open_lake(settings)
    run = run or Run(lake)
    report = Hdf5Report(run_id=run.run_id, path=str(path))
    default_symbol = (symbol or path.stem).strip().upper()
    with run.step(f"land.{hdf5_ticks.SOURCE}", str(path)) as row:
        if not path.is_file():
            raise SourceError("no such file", path=str(path), hint="check the path")
        report.found = hdf5_ticks.describe_file(path)
        chosen = hdf5_ticks.select_keys(report.found, keys, path=str(path))
        report.sha256 = file_sha256(
            path, cache=settings.state_dir / "hdf5_sha256.json", on_bytes=on_progress
        )
        mode = settings.sources.hdf5.bronze
        report.bronze_key, report.landed = land_file(
            lake, path, report.sha256, mode=mode, on_bytes=on_progress
        )
        row.bytes = path.stat().st_size
        row.status = "skipped" if report.landed == "already" else "ok"
        row.details.update(sha256=report.sha256, bronze_key=report.bronze_key, how=report.landed)
    read_from = Path(lake.full(report.bronze_key)) if lake.is_local else path
    for layout in chosen:
        entry = manifest_entry(
            lake,
            path,
            layout.key,
            sha=report.sha256,
            bronze_key=report.bronze_key,
            symbol=default_symbol,
        )
        report.keys.append(
            _ingest_key(
                lake,
                run,
                path,
                layout,
                entry,
                read_from=read_from,
                settings=settings,
                symbol=default_symbol,
                reprocess=reprocess,
                on_progress=on_progress,
            )
        )
    return report
