"""What is waiting at each configured source right now, as a digest per partition.

The Dagster landing sensor compares these digests with the ones it saw last (its cursor): a new
or changed file changes the digest of its source (and, for dated sources, of its day), which
asks for a run of that source's ingest; an unchanged landing area asks for nothing. Listing
only: nothing is read or landed here. Dated sources are listed over their look-back window
(Polygon: ``lookback_days`` up to today; S3 JSON: ``lookback_hours``), never the whole bucket.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from marketlake.config import Settings

UNDATED = ""  # the partition key of a source without daily partitions


def _digest(entries: Iterable[tuple[object, ...]]) -> str:
    text = json.dumps(sorted(entries, key=str), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _stat(path: Path) -> tuple[str, int, int]:
    st = os.stat(path)
    return (str(path.absolute()), st.st_size, st.st_mtime_ns)


def _files(paths: Iterable[Path]) -> dict[str, str]:
    found = [_stat(p) for p in paths if p.is_file()]
    return {UNDATED: _digest(found)}


def _json_files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for text in paths:
        path = Path(text)
        out.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    return out


def landing_state(settings: Settings, source: str, *, now: datetime) -> dict[str, str]:
    """Digest of what ``source`` offers now, per partition (day ``YYYY-MM-DD`` or ``""``).

    Args:
        settings: ``ops.run.sources`` (what to look at) and the source settings.
        source: ``csv_daily``, ``hdf5``, ``reference``, ``alphavantage``, ``polygon``, ``s3_json``.
        now: The time the look-back windows end at (UTC).

    Returns:
        Partition -> digest; Alpha Vantage symbols fetched from the API have nothing to list
        (only saved reply files are watched).

    Raises:
        MarketLakeError: a remote listing failed (the sensor reports it and tries next time).
    """
    config = settings.ops.run.sources
    if source == "csv_daily":
        from marketlake.sources.csv_daily import locate_files

        return _files(locate_files(config.csv_daily.paths)[0])
    if source == "hdf5":
        return _files(Path(p) for p in config.hdf5.files)
    if source == "reference":
        return _files(Path(f.path) for f in config.reference.files)
    if source == "alphavantage":
        return _files(_json_files(config.alphavantage.files))
    if source == "polygon":
        return _polygon(settings, now)
    if source == "s3_json":
        return _s3_json(settings, now)
    raise ValueError(f"unknown source {source!r}")


def _polygon(settings: Settings, now: datetime) -> dict[str, str]:
    from marketlake.ingest_polygon import with_source_dir
    from marketlake.sources.polygon.client import PolygonClient

    config = settings.ops.run.sources.polygon
    local = with_source_dir(settings, config.uri) if config.uri else settings
    client = PolygonClient(local.sources.polygon)
    end = now.date()
    start = end - timedelta(days=config.lookback_days)
    by_day: dict[str, list[tuple[object, ...]]] = {}
    for dataset in config.datasets:
        for item in client.list_files(dataset, start, end, symbols=config.symbols):
            day = item.file.day.isoformat()
            by_day.setdefault(day, []).append((item.file.key, item.size, item.modified))
    return {day: _digest(entries) for day, entries in by_day.items()}


def _s3_json(settings: Settings, now: datetime) -> dict[str, str]:
    from marketlake.ingest_s3json import source_settings
    from marketlake.sources.s3_json.listing import S3JsonClient

    config = settings.ops.run.sources.s3_json
    # Whole days: a day's digest must not change just because the window moved.
    first = (now - timedelta(hours=config.lookback_hours)).date()
    start = datetime.combine(first, datetime.min.time(), now.tzinfo)
    by_day: dict[str, list[tuple[object, ...]]] = {}
    for feed in config.feeds:
        client = S3JsonClient(feed.url, source_settings(settings))
        for item in client.list_objects(start, now):
            day = item.hour.date().isoformat()
            by_day.setdefault(day, []).append((feed.url, item.key, item.size, item.etag))
    return {day: _digest(entries) for day, entries in by_day.items()}


def changed_partitions(seen: dict[str, str], now_state: dict[str, str]) -> list[str]:
    """Partitions whose digest is new or different from the one seen (sorted)."""
    return sorted(p for p, digest in now_state.items() if seen.get(p) != digest)
