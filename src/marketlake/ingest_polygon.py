"""Compose Polygon/Massive flat files with the lake: list -> download -> bronze -> silver.

Each file is one delivery of a logical key (``us_stocks_sip/trades_v1/2024-01-02``, plus the
symbol of a per-symbol file): it lands in bronze once, and a day re-published upstream (new
bytes, same logical key) *supersedes* the older delivery, whose silver rows are retracted.
``--symbols`` is not part of the delivery: a per-day file ingested for some symbols records which
(``IngestRecord.symbols``), and a later run asking for others publishes the same ingest id again
with the union (read back from bronze, not downloaded again), replacing its own files; a run
without ``--symbols`` publishes every row. A file already published is not downloaded again when
the listing shows the same size and no newer modification time (resume after a crash costs one
listing); pass ``refresh`` to download and compare every file. Files above
``sources.polygon.stream_threshold_mib`` are streamed to a temporary file and landed from it;
every file is parsed and published in chunks (see :mod:`marketlake.ingest_polygon_publish`).
Every file gets its own ledger row; a broken file is reported and the others go on.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import BinaryIO, Literal

from marketlake.config import Settings
from marketlake.errors import ConfigError, LakeError, MarketLakeError, SourceError
from marketlake.ingest_polygon_publish import publish_flat_file, subset_of
from marketlake.lake import Lake, open_lake
from marketlake.lake.bronze import (
    ManifestEntry,
    deliveries_of,
    get_entry,
    land,
    make_ingest_id,
    manifest_key,
)
from marketlake.lake.silver import (
    IngestRecord,
    get_record,
    progress_key,
    read_progress,
    record_key,
    retract_chunked_ingest,
)
from marketlake.ops.ledger import LedgerRow, Run
from marketlake.sources.polygon import SILVER_OF, SOURCE, FlatFile
from marketlake.sources.polygon.client import Downloaded, Fetched, Listed, PolygonClient, discard
from marketlake.sources.polygon.keys import days

log = logging.getLogger(__name__)

Outcome = Literal["published", "unchanged", "superseded", "failed", "missing"]


@dataclass
class PolygonFile:
    """What happened to one flat file (or one expected day that was not there)."""

    key: str
    outcome: Outcome
    day: date | None = None
    ingest_id: str | None = None
    bytes: int = 0
    landed_new: bool = False
    record: IngestRecord | None = None
    error: MarketLakeError | None = None
    resumed_at_row: int = 0  # > 0: an interrupted publish went on from this row


@dataclass
class PolygonReport:
    """What one ``ingest polygon`` did, file by file."""

    run_id: str
    dataset: str
    files: list[PolygonFile] = field(default_factory=list)

    @property
    def failed(self) -> list[PolygonFile]:
        """Files that could not be ingested."""
        return [f for f in self.files if f.outcome == "failed"]

    @property
    def missing(self) -> list[PolygonFile]:
        """Weekdays in the range with no file on the server (holidays, or not yet published)."""
        return [f for f in self.files if f.outcome == "missing"]


@dataclass
class Progress:
    """Running totals, passed to ``on_progress`` after each file."""

    files_total: int = 0
    files_done: int = 0
    bytes_total: int = 0
    bytes_done: int = 0
    rows: int = 0


def _latest(lake: Lake, logical_key: str) -> ManifestEntry | None:
    entries = deliveries_of(lake, SOURCE, logical_key)
    return entries[-1] if entries else None


def _same_upstream(latest: ManifestEntry | None, listed: Listed) -> bool:
    """Whether the listing shows the latest landed delivery again (same size, not newer)."""
    if latest is None or latest.size != listed.size:
        return False
    landed = datetime.fromisoformat(latest.landed_at)
    return listed.modified is None or listed.modified.astimezone(landed.tzinfo) <= landed


def _wanted(
    lake: Lake, flat: FlatFile, requested: list[str] | None, entry: ManifestEntry,
    record: IngestRecord | None,
) -> list[str] | None:  # fmt: skip
    """The symbols to publish from a delivery: those asked for plus those already published
    from it, from an interrupted publish of it, or from the delivery it supersedes; None: all."""
    if requested is None or flat.symbol is not None:
        return None
    wanted = set(requested)
    earlier = [get_record(lake, old) for old in entry.supersedes]
    for published in (record, *earlier):
        if published is not None:
            if published.symbols is None:
                return None
            wanted.update(published.symbols)
    progress = read_progress(lake, entry.ingest_id)
    if progress is not None and record is None:
        interrupted = subset_of(progress)
        if interrupted is None:
            return None
        wanted.update(interrupted)
    return sorted(wanted)


def _covers(record: IngestRecord, wanted: list[str] | None) -> bool:
    return record.symbols is None or (wanted is not None and set(wanted) <= set(record.symbols))


def _fill(row: LedgerRow, record: IngestRecord, size: int) -> None:
    row.rows_in, row.rows_out = record.rows_in, record.rows_out
    row.rows_quarantined, row.bytes = record.rows_quarantined, size
    row.details.update(
        ingest_id=record.ingest_id,
        quarantined_by_rule=record.quarantined_by_rule,
        flagged_by_rule=record.flagged_by_rule,
    )
    if record.symbols is not None:
        row.details["symbols"] = record.symbols


def _land_file(
    lake: Lake, got: Downloaded, *, logical_key: str, flat: FlatFile
) -> tuple[ManifestEntry, bool]:
    """Land a streamed download in bronze once: moved (local lake) or uploaded (S3)."""
    ingest_id = make_ingest_id(SOURCE, logical_key, got.sha256)
    bronze_key = f"bronze/{SOURCE}/{got.sha256[:2]}/{got.sha256}.csv.gz"
    try:
        if not lake.exists(bronze_key):
            target = lake.full(bronze_key)
            if lake.is_local:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                tmp = f"{os.path.dirname(target)}/.tmp-{uuid.uuid4().hex}"
                shutil.move(got.path, tmp)  # a rename on the same filesystem
                os.replace(tmp, target)
            else:
                lake.fs.put_file(str(got.path), target)  # streamed (multipart) by fsspec
    except OSError as exc:
        raise LakeError(
            f"cannot land the file in bronze ({exc})",
            path=flat.key,
            hint="check free space and the lake's permissions; then run the same command again",
        ) from exc
    existing = get_entry(lake, SOURCE, logical_key, ingest_id)
    if existing is not None:
        return existing, False
    entry = ManifestEntry(
        ingest_id=ingest_id,
        source=SOURCE,
        logical_key=logical_key,
        sha256=got.sha256,
        bronze_key=bronze_key,
        original_name=flat.key,
        size=got.size,
        landed_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        symbol=flat.symbol,
        supersedes=[e.ingest_id for e in deliveries_of(lake, SOURCE, logical_key)],
    )
    # The manifest row is written last: its presence means the bytes are safely in bronze.
    lake.write_json(manifest_key(SOURCE, logical_key, ingest_id), asdict(entry))
    return entry, True


def _land(lake: Lake, listed: Listed, got: Fetched) -> tuple[ManifestEntry, bool]:
    flat = listed.file
    if isinstance(got, Downloaded):
        return _land_file(lake, got, logical_key=flat.logical_key, flat=flat)
    return land(
        lake,
        got,
        source=SOURCE,
        logical_key=flat.logical_key,
        original_name=flat.key,
        extension=".csv.gz",
        symbol=flat.symbol,
    )


@contextmanager
def _open(lake: Lake, entry: ManifestEntry, got: Fetched | None) -> Iterator[BinaryIO]:
    """The bytes of a delivery: in memory, the landed bronze file (local), or a streamed copy."""
    if isinstance(got, bytes):
        yield io.BytesIO(got)
    elif lake.is_local:
        with open(lake.full(entry.bronze_key), "rb") as handle:
            yield handle
    elif isinstance(got, Downloaded):
        with got.path.open("rb") as handle:
            yield handle
    else:
        with lake.fs.open(lake.full(entry.bronze_key), "rb", block_size=8 * 2**20) as handle:
            yield handle


def _publish(
    lake: Lake, listed: Listed, got: Fetched | None, entry: ManifestEntry | None, *,
    settings: Settings, symbols: list[str] | None, reprocess: bool, result: PolygonFile,
    row: LedgerRow,
) -> None:  # fmt: skip
    """Land (unless ``entry`` is given: bytes already in bronze) and publish one file."""
    flat = listed.file
    if entry is None:
        assert got is not None
        entry, result.landed_new = _land(lake, listed, got)
    result.ingest_id = row.details["ingest_id"] = entry.ingest_id
    record = get_record(lake, entry.ingest_id)
    wanted = _wanted(lake, flat, symbols, entry, record)
    if record is not None and not reprocess and _covers(record, wanted):
        lake.remove(progress_key(entry.ingest_id))  # a crash after the record
        row.status, result.outcome, result.record = "skipped", "unchanged", record
        _fill(row, record, entry.size)
        return
    if record is None and any(
        entry.ingest_id in later.supersedes
        for later in deliveries_of(lake, SOURCE, entry.logical_key)
    ):
        row.status, result.outcome = "skipped", "superseded"
        return
    if record is not None:
        # Publish the ingest again (more symbols, or --reprocess): start over; its old files are
        # replaced, and the record goes so that an interrupted publish is seen as interrupted.
        lake.remove(progress_key(entry.ingest_id))
        lake.remove(record_key(entry.ingest_id))
    with _open(lake, entry, got) as stream:
        try:
            published, resumed_at = publish_flat_file(
                lake, stream, flat, ingest_id=entry.ingest_id, symbols=wanted,
                settings=settings, supersedes=entry.supersedes,
            )  # fmt: skip
        except SourceError:
            # The bytes are broken: nothing of them may stay in silver, nor a resume point.
            dataset, _interval = SILVER_OF[flat.kind]
            retract_chunked_ingest(lake, dataset=dataset, ingest_id=entry.ingest_id)
            raise
    for stale in set(record.partitions if record else ()) - set(published.partitions):
        lake.remove(stale)  # files of an earlier, unchunked publish of the same ingest
    if resumed_at:
        row.details["resumed_at_row"] = result.resumed_at_row = resumed_at
    result.outcome, result.record = "published", published
    _fill(row, published, entry.size)


def with_source_dir(settings: Settings, folder: str | os.PathLike[str]) -> Settings:
    """The same settings reading flat files from ``folder`` (``sources.polygon.uri``).

    Args:
        settings: marketlake settings.
        folder: A local folder (or ``file://``/fsspec URL) with the vendor's key layout.

    Returns:
        A copy of ``settings``; no credentials are needed to read a folder.
    """
    sources = settings.sources
    polygon = sources.polygon.model_copy(update={"uri": os.fspath(folder)})
    return settings.model_copy(update={"sources": sources.model_copy(update={"polygon": polygon})})


def ingest_polygon(
    dataset: str,
    start: date,
    end: date,
    *,
    settings: Settings,
    symbols: list[str] | None = None,
    reprocess: bool = False,
    refresh: bool = False,
    run: Run | None = None,
    client: PolygonClient | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> PolygonReport:
    """Ingest Polygon/Massive flat files of one dataset for days ``start..end``.

    Args:
        dataset: ``{asset}/{kind}``, e.g. ``us_stocks_sip/trades_v1``.
        start: First day (inclusive).
        end: Last day (inclusive).
        settings: marketlake settings (``sources.polygon`` for the server, or ``uri`` for a
            folder with the vendor's key layout).
        symbols: Only these symbols (per-symbol files are filtered by key, per-day by row;
            symbols published from a per-day file before are kept).
        reprocess: Publish to silver again files published before (read back from bronze).
        refresh: Download every file again, even when the listing shows it unchanged.
        run: The run to record ledger rows in; a new one by default.
        client: The flat-files client; one from ``settings`` by default.
        on_progress: Called after each file with the running totals.

    Returns:
        One result per file and per missing weekday; failures carry their error.

    Raises:
        SourceError: the dataset is unknown, the range is reversed, or listing was refused.
        ConfigError: no flat-files credentials are configured.
    """
    kind = dataset.rsplit("/", 1)[-1]
    if kind not in SILVER_OF or dataset.count("/") != 1:
        raise SourceError(
            f"unknown flat-files dataset {dataset!r}",
            hint="use {asset}/{kind} with kind one of " + ", ".join(SILVER_OF),
        )
    if end < start:
        raise SourceError(f"--to {end} is before --from {start}", hint="swap the dates")
    polygon = settings.sources.polygon
    local = bool(polygon.uri)
    if client is None and not local and not (polygon.access_key_id and polygon.secret_access_key):
        raise ConfigError(
            "no flat-files credentials configured",
            hint="set sources.polygon.access_key_id and secret_access_key (or "
            "MARKETLAKE_SOURCES__POLYGON__ACCESS_KEY_ID / __SECRET_ACCESS_KEY): the S3 keys "
            "of your Massive/Polygon dashboard, not the REST API key",
        )
    symbols = sorted({s.strip().upper() for s in symbols if s.strip()}) if symbols else None
    lake = open_lake(settings)
    run = run or Run(lake)
    client = client or PolygonClient(settings.sources.polygon)
    report = PolygonReport(run_id=run.run_id, dataset=dataset)
    listed = client.list_files(dataset, start, end, symbols=symbols)
    present = {x.file.day for x in listed}
    for day in days(start, end):
        if day.weekday() < 5 and day not in present:
            report.files.append(PolygonFile(key=f"{dataset}/{day}", outcome="missing", day=day))

    progress = Progress(files_total=len(listed), bytes_total=sum(x.size for x in listed))

    def advance(item: Listed, result: PolygonFile) -> None:
        report.files.append(result)
        progress.files_done += 1
        progress.bytes_done += item.size
        progress.rows += result.record.rows_in if result.record else 0
        if on_progress is not None:
            on_progress(progress)

    to_fetch: list[Listed] = []
    in_bronze: list[tuple[Listed, ManifestEntry]] = []
    for item in listed:
        latest = None if refresh else _latest(lake, item.file.logical_key)
        if latest is None or not _same_upstream(latest, item):
            to_fetch.append(item)
            continue
        record = get_record(lake, latest.ingest_id)
        wanted = _wanted(lake, item.file, symbols, latest, record)
        if record is None or reprocess or not _covers(record, wanted):
            in_bronze.append((item, latest))  # landed before: publish from bronze
            continue
        advance(
            item,
            PolygonFile(
                key=item.file.key, outcome="unchanged", day=item.file.day,
                ingest_id=record.ingest_id, bytes=item.size, record=record,
            ),
        )  # fmt: skip

    step = f"ingest.{SOURCE}"

    def ingest_one(
        item: Listed, got: Fetched | MarketLakeError | None, entry: ManifestEntry | None
    ) -> None:
        result = PolygonFile(key=item.file.key, outcome="failed", day=item.file.day)
        try:
            with run.step(step, item.file.key) as row:
                if isinstance(got, MarketLakeError):
                    raise got
                result.bytes = item.size
                _publish(
                    lake, item, got, entry, settings=settings, symbols=symbols,
                    reprocess=reprocess, result=result, row=row,
                )  # fmt: skip
        except MarketLakeError as exc:
            result.error = exc
            log.warning("polygon file failed: %s", exc, extra={"key": item.file.key})
        finally:
            if got is not None:
                discard(got)
        advance(item, result)

    for item, entry in in_bronze:
        ingest_one(item, None, entry)
    spill = polygon.stream_threshold_mib * 2**20
    spill_dir = settings.state_dir / "polygon_downloads"
    for item, got in client.fetch_all(to_fetch, spill_bytes=spill, spill_dir=spill_dir):
        ingest_one(item, got, None)
    for missing in report.missing:
        with run.step(step, missing.key) as row:
            row.status = "skipped"
            row.details["missing"] = "no file on the server for this weekday"
    report.files.sort(key=lambda f: (f.day or date.min, f.key))
    return report
