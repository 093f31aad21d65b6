"""Compose Polygon/Massive flat files with the lake: list -> download -> bronze -> silver.

Each file is one delivery of a logical key (``us_stocks_sip/trades_v1/2024-01-02``, plus the
symbol of a per-symbol file and the ``--symbols`` chosen): it lands in bronze once, and a day
re-published upstream (new bytes, same logical key) *supersedes* the older delivery, whose silver
rows are retracted. A file already published is not downloaded again when the listing shows the
same size and no newer modification time (resume after a crash costs one listing); pass
``refresh`` to download and compare every file. Every file gets its own ledger row; a broken file
is reported and the others go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

import polars as pl

from marketlake.config import Settings
from marketlake.errors import ConfigError, MarketLakeError, SourceError
from marketlake.lake import Lake, open_lake
from marketlake.lake.bronze import ManifestEntry, deliveries_of, land
from marketlake.lake.silver import IngestRecord, get_record, publish_ingest
from marketlake.ops.ledger import LedgerRow, Run
from marketlake.sources.polygon import SILVER_OF, SOURCE, check_flat_file, read_flat_file
from marketlake.sources.polygon.client import Listed, PolygonClient
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


def _logical_key(listed: Listed, symbols: list[str] | None) -> str:
    key = listed.file.logical_key
    # A per-day file ingested for some symbols is a different delivery than for all of them.
    return f"{key}?symbols={','.join(symbols)}" if symbols and not listed.file.symbol else key


def _latest(lake: Lake, logical_key: str) -> ManifestEntry | None:
    entries = deliveries_of(lake, SOURCE, logical_key)
    return entries[-1] if entries else None


def _unchanged_upstream(lake: Lake, listed: Listed, logical_key: str) -> IngestRecord | None:
    """The record of the latest delivery, when the listing shows the same file again."""
    latest = _latest(lake, logical_key)
    if latest is None or latest.size != listed.size:
        return None
    landed = datetime.fromisoformat(latest.landed_at)
    if listed.modified is not None and listed.modified.astimezone(landed.tzinfo) > landed:
        return None
    return get_record(lake, latest.ingest_id)


def _fill(row: LedgerRow, record: IngestRecord, size: int) -> None:
    row.rows_in, row.rows_out = record.rows_in, record.rows_out
    row.rows_quarantined, row.bytes = record.rows_quarantined, size
    row.details.update(
        ingest_id=record.ingest_id,
        quarantined_by_rule=record.quarantined_by_rule,
        flagged_by_rule=record.flagged_by_rule,
    )


def _publish(
    lake: Lake, listed: Listed, data: bytes, *, settings: Settings, symbols: list[str] | None,
    reprocess: bool, result: PolygonFile, row: LedgerRow,
) -> None:  # fmt: skip
    flat = listed.file
    entry, result.landed_new = land(
        lake,
        data,
        source=SOURCE,
        logical_key=_logical_key(listed, symbols),
        original_name=flat.key,
        extension=".csv.gz",
        symbol=flat.symbol,
    )
    result.ingest_id = row.details["ingest_id"] = entry.ingest_id
    record = get_record(lake, entry.ingest_id)
    if record is not None and not reprocess:
        row.status, result.outcome, result.record = "skipped", "unchanged", record
        _fill(row, record, len(data))
        return
    if record is None and any(
        entry.ingest_id in later.supersedes
        for later in deliveries_of(lake, SOURCE, entry.logical_key)
    ):
        row.status, result.outcome = "skipped", "superseded"
        return
    dataset, _interval = SILVER_OF[flat.kind]
    parsed = read_flat_file(data, kind=flat.kind, path=flat.key, symbol=flat.symbol)
    if symbols:
        parsed = parsed.filter(pl.col("ticker").is_in(symbols))
    checked = check_flat_file(
        parsed,
        kind=flat.kind,
        dataset=dataset,
        source=SOURCE,
        ingest_id=entry.ingest_id,
        price_max=settings.quality.price_max,
    )
    record = publish_ingest(
        lake,
        dataset=dataset,
        source=SOURCE,
        ingest_id=entry.ingest_id,
        rows=checked.rows,
        quarantined=checked.quarantined,
        rows_in=checked.rows_in,
        flagged_by_rule=checked.flagged_by_rule,
        supersedes=entry.supersedes,
    )
    result.outcome, result.record = "published", record
    _fill(row, record, len(data))


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
        settings: marketlake settings (``sources.polygon`` for the server).
        symbols: Only these symbols (per-symbol files are filtered by key, per-day by row).
        reprocess: Publish to silver again files published before.
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
    if client is None and not (polygon.access_key_id and polygon.secret_access_key):
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
    to_fetch: list[Listed] = []
    for item in listed:
        record = None
        if not (refresh or reprocess):
            record = _unchanged_upstream(lake, item, _logical_key(item, symbols))
        if record is None:
            to_fetch.append(item)
            continue
        report.files.append(
            PolygonFile(
                key=item.file.key, outcome="unchanged", day=item.file.day,
                ingest_id=record.ingest_id, bytes=item.size, record=record,
            )
        )  # fmt: skip
        progress.files_done += 1
        progress.bytes_done += item.size
        progress.rows += record.rows_in
        if on_progress is not None:
            on_progress(progress)

    step = f"ingest.{SOURCE}"
    for item, got in client.fetch_all(to_fetch):
        result = PolygonFile(key=item.file.key, outcome="failed", day=item.file.day)
        try:
            with run.step(step, item.file.key) as row:
                if isinstance(got, MarketLakeError):
                    raise got
                result.bytes = len(got)
                _publish(
                    lake, item, got, settings=settings, symbols=symbols,
                    reprocess=reprocess, result=result, row=row,
                )  # fmt: skip
        except MarketLakeError as exc:
            result.error = exc
            log.warning("polygon file failed: %s", exc, extra={"key": item.file.key})
        report.files.append(result)
        progress.files_done += 1
        progress.bytes_done += item.size
        progress.rows += result.record.rows_in if result.record else 0
        if on_progress is not None:
            on_progress(progress)
    for missing in report.missing:
        with run.step(step, missing.key) as row:
            row.status = "skipped"
            row.details["missing"] = "no file on the server for this weekday"
    report.files.sort(key=lambda f: (f.day or date.min, f.key))
    return report
