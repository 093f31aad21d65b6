"""Compose JSON records in S3 with the lake: list the window -> read -> bronze -> silver.

Each object is one delivery of a logical key (its URL, plus the kind it is read as): it lands in
bronze once, and an object rewritten upstream (same key, new bytes) *supersedes* its earlier
delivery, whose silver rows are retracted. A cursor in the lake
(``_state/s3_json/<hash of url and kind>.json``: key -> ETag, size, ingest id) remembers what was
ingested, so the next run over the same window reads only new or changed objects (``refresh``
reads everything again). Each object read gets its own ledger row; a broken object is reported
and the others go on.

Where the objects are: ``sources.s3_json`` (endpoint, credentials, region). When it names no
endpoint and the lake is on an S3 endpoint, that endpoint is used, with the lake's credentials
unless ``sources.s3_json`` has its own.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from marketlake.config import S3JsonSettings, Settings
from marketlake.errors import MarketLakeError, SourceError
from marketlake.lake import Lake, open_lake
from marketlake.lake.bronze import land
from marketlake.lake.deliveries import fill_row, prior_of, skip_row
from marketlake.lake.silver import IngestRecord, get_record, publish_ingest
from marketlake.ops.ledger import LedgerRow, Run
from marketlake.sources.s3_json import (
    DATASET_OF,
    SOURCE,
    Checked,
    Listed,
    S3JsonClient,
    check_anomalies,
    check_indicators,
    check_prices,
    read_records,
)
from marketlake.sources.s3_json.parse import is_gzip

log = logging.getLogger(__name__)

STATE_PREFIX = "_state/s3_json"
INTERVAL = re.compile(r"^[1-9]\d*(s|m|h|d|w|mo)$")
Outcome = Literal["published", "unchanged", "superseded", "failed"]


@dataclass
class S3JsonObject:
    """What happened to one object of the window."""

    key: str
    url: str
    outcome: Outcome
    hour: datetime
    size: int = 0
    read: bool = False  # fetched in this run (not skipped by the cursor)
    landed_new: bool = False
    ingest_id: str | None = None
    record: IngestRecord | None = None
    error: MarketLakeError | None = None


@dataclass
class S3JsonReport:
    """What one ``ingest s3-json`` did, object by object."""

    run_id: str
    url: str
    kind: str
    dataset: str
    start: datetime
    end: datetime
    prefixes: list[str] = field(default_factory=list)  # what was listed, relative to the url
    objects: list[S3JsonObject] = field(default_factory=list)

    @property
    def failed(self) -> list[S3JsonObject]:
        """Objects that could not be ingested."""
        return [o for o in self.objects if o.outcome == "failed"]

    @property
    def read(self) -> list[S3JsonObject]:
        """Objects fetched in this run (new, changed, or read again with ``refresh``)."""
        return [o for o in self.objects if o.read]


@dataclass
class Progress:
    """Running totals, passed to ``on_progress`` after each object."""

    objects_total: int = 0
    objects_done: int = 0
    rows: int = 0


def cursor_key(url: str, kind: str) -> str:
    """Where the cursor of one URL and kind lives in the lake."""
    digest = hashlib.sha256(f"{url.rstrip('/')}\n{kind}".encode()).hexdigest()[:16]
    return f"{STATE_PREFIX}/{digest}.json"


def read_cursor(lake: Lake, url: str, kind: str) -> dict[str, dict[str, Any]]:
    """Objects already ingested from ``url`` as ``kind``: key -> etag, size, ingest_id."""
    key = cursor_key(url, kind)
    if not lake.exists(key):
        return {}
    objects: dict[str, dict[str, Any]] = lake.read_json(key).get("objects", {})
    return objects


def _write_cursor(lake: Lake, url: str, kind: str, objects: dict[str, dict[str, Any]]) -> None:
    state = {"url": url.rstrip("/"), "kind": kind, "objects": dict(sorted(objects.items()))}
    lake.write_json(cursor_key(url, kind), state)


def source_settings(settings: Settings) -> S3JsonSettings:
    """``sources.s3_json``, falling back to the lake's S3 endpoint (see the module docs)."""
    own, lake = settings.sources.s3_json, settings.lake
    if own.endpoint_url or not lake.endpoint_url or not settings.lake_uri.startswith("s3://"):
        return own
    update: dict[str, Any] = {"endpoint_url": lake.endpoint_url}
    if not (own.access_key_id or own.secret_access_key):
        update |= {"access_key_id": lake.access_key_id, "secret_access_key": lake.secret_access_key}
    if not own.region:
        update["region"] = lake.region
    return own.model_copy(update=update)


def _check(
    data: bytes, item: Listed, *, kind: str, interval: str, ingest_id: str, settings: Settings
) -> Checked:
    records = read_records(data, path=item.url)
    pattern = re.compile(settings.sources.s3_json.symbol_pattern)
    if kind == "prices":
        return check_prices(
            records, pattern=pattern, interval=interval, source=SOURCE, ingest_id=ingest_id,
            quality=settings.quality,
        )  # fmt: skip
    if kind == "indicators":
        return check_indicators(
            records, pattern=pattern, interval=interval, source=SOURCE, ingest_id=ingest_id
        )
    return check_anomalies(records, pattern=pattern, source=SOURCE, ingest_id=ingest_id)


def _ingest_object(
    lake: Lake, item: Listed, data: bytes, *, url: str, kind: str, interval: str,
    settings: Settings, reprocess: bool, result: S3JsonObject, row: LedgerRow,
) -> None:  # fmt: skip
    entry, result.landed_new = land(
        lake,
        data,
        source=SOURCE,
        logical_key=f"{item.url}?kind={kind}",
        original_name=item.key,
        extension=".json.gz" if is_gzip(data) else ".json",
    )
    result.ingest_id = row.details["ingest_id"] = entry.ingest_id
    row.details["url"] = url
    prior = prior_of(lake, entry, reprocess=reprocess)
    if prior is not None:
        skip_row(row, prior, len(data))
        result.outcome, result.record = prior.outcome, prior.record
        return
    checked = _check(
        data, item, kind=kind, interval=interval, ingest_id=entry.ingest_id, settings=settings
    )
    record = publish_ingest(
        lake,
        dataset=checked.dataset,
        source=SOURCE,
        ingest_id=entry.ingest_id,
        rows=checked.rows,
        quarantined=checked.quarantined,
        rows_in=checked.rows_in,
        flagged_by_rule=checked.flagged_by_rule,
        supersedes=entry.supersedes,
    )
    result.outcome, result.record = "published", record
    fill_row(row, record, len(data))


def ingest_s3json(
    url: str,
    kind: str,
    start: datetime,
    end: datetime,
    *,
    settings: Settings,
    interval: str | None = None,
    refresh: bool = False,
    reprocess: bool = False,
    run: Run | None = None,
    client: S3JsonClient | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> S3JsonReport:
    """Ingest the JSON records under ``url`` in the hour partitions of ``start..end``.

    Args:
        url: ``s3://bucket/prefix`` (objects under ``prefix/YYYY/MM/DD/HH/``), or a local folder.
        kind: ``prices`` (silver ``bars``), ``indicators`` or ``anomalies``.
        start: Start of the window (UTC, inclusive).
        end: End of the window (UTC, inclusive).
        settings: marketlake settings (``sources.s3_json``, ``quality``).
        interval: Bar interval of price records (default ``sources.s3_json.interval``).
        refresh: Read every object of the window again, whatever the cursor says.
        reprocess: Read every object again and publish it to silver again, even when its bytes
            were published before (after a change of rules or settings).
        run: The run to record ledger rows in; a new one by default.
        client: The object client; one for ``url`` from ``settings`` by default.
        on_progress: Called after each object with the running totals.

    Returns:
        One result per object of the window; failures carry their error.

    Raises:
        SourceError: unknown kind or interval, a reversed window, refused credentials, a missing
            bucket or folder.
        S3JsonUnavailableError: the store did not answer the listing, after retries.
    """
    if kind not in DATASET_OF:
        raise SourceError(f"unknown kind {kind!r}", hint="use prices, indicators or anomalies")
    interval = interval or settings.sources.s3_json.interval
    if not INTERVAL.match(interval):
        raise SourceError(
            f"interval {interval!r} is not an interval", hint="use e.g. 1m, 5m, 1h, 1d, 1w"
        )
    if end < start:
        raise SourceError(f"--to {end:%Y-%m-%dT%H:%M} is before --from {start:%Y-%m-%dT%H:%M}",
                          hint="swap them")  # fmt: skip
    url = url.rstrip("/")
    lake = open_lake(settings)
    run = run or Run(lake)
    client = client or S3JsonClient(url, source_settings(settings))
    report = S3JsonReport(run.run_id, url, kind, DATASET_OF[kind], start, end)
    listed = client.list_objects(start, end)
    report.prefixes = list(client.listed_prefixes)
    cursor = read_cursor(lake, url, kind)
    progress = Progress(objects_total=len(listed))

    def done(result: S3JsonObject) -> None:
        report.objects.append(result)
        progress.objects_done += 1
        progress.rows += result.record.rows_in if result.record and result.read else 0
        if on_progress is not None:
            on_progress(progress)

    to_read: list[Listed] = []
    for item in listed:
        seen = cursor.get(item.key)
        if (
            refresh
            or reprocess
            or not seen
            or (seen["etag"], seen["size"]) != (item.etag, item.size)
        ):
            to_read.append(item)
            continue
        result = S3JsonObject(item.key, item.url, "unchanged", item.hour, item.size)
        result.ingest_id = seen.get("ingest_id")
        result.record = get_record(lake, result.ingest_id) if result.ingest_id else None
        done(result)
    try:
        for item, got in client.fetch_all(to_read):
            result = S3JsonObject(item.key, item.url, "failed", item.hour, item.size)
            try:
                with run.step(f"ingest.{SOURCE}", item.url) as row:
                    if isinstance(got, MarketLakeError):
                        raise got
                    result.read = True
                    _ingest_object(
                        lake, item, got, url=url, kind=kind, interval=interval,
                        settings=settings, reprocess=reprocess, result=result, row=row,
                    )  # fmt: skip
                cursor[item.key] = {
                    "etag": item.etag, "size": item.size, "ingest_id": result.ingest_id
                }  # fmt: skip
            except MarketLakeError as exc:
                result.error = exc
                log.warning("s3-json object failed: %s", exc, extra={"key": item.key})
            done(result)
    finally:
        if any(o.read and o.outcome != "failed" for o in report.objects):
            _write_cursor(lake, url, kind, cursor)
    report.objects.sort(key=lambda o: (o.hour, o.key))
    return report
