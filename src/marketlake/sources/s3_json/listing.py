"""Find and read JSON objects under time-partitioned prefixes. Never writes the lake.

Objects live under ``<prefix>/YYYY/MM/DD/HH/``. Only the prefixes of the window are listed, never
the whole bucket: a whole month of the window is one listing of ``YYYY/MM/``, a whole day one of
``YYYY/MM/DD/``, and the ragged ends one listing per hour. The root is ``s3://bucket/prefix``, a
``file://`` URL or a local folder (the demo). Transient errors (timeouts, 5xx, throttling) are
retried with exponential back-off; refused credentials and unknown buckets fail at once.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import fsspec

from marketlake.config import S3JsonSettings
from marketlake.errors import MarketLakeError, SourceError, TransientError
from marketlake.retry import bounded_map, first_line, with_retries

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
_HOUR_KEY = re.compile(r"^(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/].*$")
SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz")


class S3JsonUnavailableError(TransientError):
    """The object store kept failing with transient errors after every retry."""


@dataclass(frozen=True)
class Listed:
    """One object found in the window."""

    key: str  # relative to the root: 2024/01/02/13/part-0.json.gz
    url: str  # where it is: s3://bucket/prefix/2024/... or a local path
    size: int
    etag: str  # the store's ETag (local: size and modification time)
    hour: datetime  # the hour partition it sits in (UTC)


def parse_moment(text: str, *, end: bool = False) -> datetime:
    """A ``--from``/``--to`` value as a UTC time: a date, or an ISO datetime (naive = UTC).

    A date given as ``end`` means the end of that day (the window is inclusive).

    Raises:
        SourceError: the text is neither.
    """
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) - timedelta(microseconds=1) if end else moment
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise SourceError(
            f"{text!r} is not a date or time",
            hint="use YYYY-MM-DD or an ISO datetime such as 2024-01-02T13:00 or "
            "2024-01-02T13:00:00Z (UTC unless an offset is given)",
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hours_of(start: datetime, end: datetime) -> list[datetime]:
    """Every hour partition that overlaps ``start..end`` (inclusive), in order."""
    hours, hour = [], _floor_hour(start)
    while hour <= end:
        hours.append(hour)
        hour += HOUR
    return hours


def listing_prefixes(start: datetime, end: datetime) -> list[str]:
    """The fewest prefixes that cover the hour partitions of the window and nothing else.

    Returns:
        Relative prefixes, in time order: ``YYYY/MM/`` (whole month), ``YYYY/MM/DD/`` (whole
        day) or ``YYYY/MM/DD/HH/``.
    """
    hours = hours_of(start, end)
    wanted = set(hours)
    days: list[date] = sorted({h.date() for h in hours})
    whole_days = {
        d for d in days if all(datetime(d.year, d.month, d.day, tzinfo=UTC) + i * HOUR in wanted
                               for i in range(24))
    }  # fmt: skip
    prefixes: list[str] = []
    for day in days:
        first = day.replace(day=1)
        next_month = (first + timedelta(days=32)).replace(day=1)
        month_days = [first + timedelta(days=i) for i in range((next_month - first).days)]
        if all(d in whole_days for d in month_days):
            prefix = f"{day:%Y/%m}/"
            if not prefixes or prefixes[-1] != prefix:
                prefixes.append(prefix)
        elif day in whole_days:
            prefixes.append(f"{day:%Y/%m/%d}/")
        else:
            prefixes.extend(f"{h:%Y/%m/%d/%H}/" for h in hours if h.date() == day)
    return prefixes


def hour_of_key(key: str) -> datetime | None:
    """The hour partition of a relative key ``YYYY/MM/DD/HH/name``, or None for other keys."""
    match = _HOUR_KEY.match(key)
    if not match:
        return None
    try:
        year, month, day, hour = (int(g) for g in match.groups())
        return datetime(year, month, day, hour, tzinfo=UTC)
    except ValueError:
        return None


class S3JsonClient:
    """Lists and reads the objects under one root.

    Args:
        url: ``s3://bucket/prefix``, ``file:///folder`` or a local folder.
        settings: Endpoint, credentials and retry settings (``sources.s3_json``).
        sleep: How to wait between retries.
    """

    def __init__(
        self, url: str, settings: S3JsonSettings, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.url = url.rstrip("/")
        self.settings = settings
        self._sleep = sleep
        self.listed_prefixes: list[str] = []  # what this client listed, for reports and tests
        if self.url.startswith("s3://"):
            import s3fs  # type: ignore[import-untyped]

            self.fs: fsspec.AbstractFileSystem = s3fs.S3FileSystem(
                skip_instance_cache=True, **settings.storage_options()
            )
            self.root = self.url[len("s3://") :]
            self.is_local = False
        else:
            path = self.url[len("file://") :] if self.url.startswith("file://") else self.url
            self.fs = fsspec.filesystem("file")
            self.root = str(Path(path).absolute())
            self.is_local = True
            if not Path(self.root).is_dir():
                raise SourceError(
                    "the folder does not exist", path=self.root,
                    hint="give s3://bucket/prefix or an existing folder of YYYY/MM/DD/HH/ objects",
                )  # fmt: skip

    def _where(self, key: str) -> str:
        return f"s3://{self.root}/{key}" if not self.is_local else f"{self.root}/{key}"

    def _call(self, what: str, key: str, fn: Callable[[], Any]) -> Any:
        s = self.settings

        def denied(exc: PermissionError) -> SourceError:
            return SourceError(
                f"the S3 server refused access: {first_line(exc)}",
                path=self._where(key),
                endpoint=s.endpoint_url,
                hint="check sources.s3_json.access_key_id / secret_access_key "
                "(MARKETLAKE_SOURCES__S3_JSON__*) and the bucket policy",
            )

        def exhausted(exc: Exception, attempts: int) -> S3JsonUnavailableError:
            return S3JsonUnavailableError(
                f"could not {what} after {attempts} attempts: {first_line(exc)}",
                path=self._where(key),
                endpoint=s.endpoint_url,
                hint="check sources.s3_json.endpoint_url and the network; then run the "
                "same command again (objects already ingested are skipped)",
            )

        def failed(exc: Exception) -> SourceError:
            return SourceError(
                f"could not {what}: {type(exc).__name__}: {first_line(exc)}",
                path=self._where(key),
                hint="run again with --debug for details and report it if it persists",
            )

        return with_retries(
            fn, what=f"{what} {key}", retries=s.retries, backoff_s=s.backoff_s,
            backoff_max_s=s.backoff_max_s, denied=denied, exhausted=exhausted, failed=failed,
            sleep=self._sleep,
        )  # fmt: skip

    def check_root(self) -> None:
        """Fail early and clearly when the bucket is missing or the credentials are refused.

        Raises:
            SourceError: access refused or no such bucket.
        """
        if self.is_local:
            return
        bucket = self.root.split("/", 1)[0]
        try:  # one key at most: the bucket's size does not matter
            self._call(
                "list", "", lambda: self.fs.call_s3("list_objects_v2", Bucket=bucket, MaxKeys=1)
            )
        except FileNotFoundError:
            raise SourceError(
                f"the bucket {bucket!r} does not exist",
                path=f"s3://{bucket}",
                endpoint=self.settings.endpoint_url,
                hint="check the URL and sources.s3_json.endpoint_url",
            ) from None

    def list_objects(self, start: datetime, end: datetime) -> list[Listed]:
        """Objects in the hour partitions overlapping ``start..end``, by hour then key.

        Raises:
            SourceError: access refused or the bucket does not exist.
            S3JsonUnavailableError: the store did not answer, after retries.
        """
        self.check_root()
        first, last = _floor_hour(start), _floor_hour(end)
        found: list[Listed] = []
        for prefix in listing_prefixes(start, end):
            self.listed_prefixes.append(prefix)
            path = f"{self.root}/{prefix}"
            try:
                entries: dict[str, dict[str, Any]] = self._call(
                    "list",
                    prefix,
                    lambda p=path: self.fs.find(p, detail=True),  # type: ignore[misc]
                )
            except FileNotFoundError:
                continue
            for full, info in entries.items():
                key = str(full)[len(self.root) + 1 :]
                hour = hour_of_key(key)
                name = key.rsplit("/", 1)[-1]
                if hour is None or not first <= hour <= last or name.startswith((".", "_")):
                    continue
                if not name.lower().endswith(SUFFIXES) or info.get("type") == "directory":
                    continue
                etag = info.get("ETag") or info.get("etag")
                if not etag:  # a local file: its size and modification time stand in
                    etag = f"{info.get('size')}-{info.get('mtime')}"
                found.append(
                    Listed(key, self._where(key), int(info.get("size") or 0), str(etag).strip('"'),
                           hour)
                )  # fmt: skip
        return sorted(found, key=lambda x: (x.hour, x.key))

    def fetch(self, item: Listed) -> bytes:
        """The bytes of one object (retried on transient errors).

        Raises:
            SourceError: the object is gone or access was refused.
            S3JsonUnavailableError: the store did not answer, after retries.
        """
        try:
            data: bytes = self._call(
                "read", item.key, lambda: self.fs.cat_file(f"{self.root}/{item.key}")
            )
        except FileNotFoundError as exc:
            raise SourceError(
                "the object was listed but is gone",
                path=item.url,
                hint="the producer may have moved it; run the same command again",
            ) from exc
        return data

    def fetch_all(self, items: list[Listed]) -> Iterator[tuple[Listed, bytes | MarketLakeError]]:
        """Read objects concurrently (at most ``concurrency`` in flight), as they complete.

        One object's failure comes back as its error; the others go on.
        """

        def unexpected(item: Listed, exc: Exception) -> SourceError:
            return SourceError(
                f"could not read the object: {first_line(exc)}",
                path=item.url,
                hint="run the same command again; report it if it persists",
            )

        return bounded_map(
            self.fetch, items, concurrency=self.settings.concurrency, unexpected=unexpected
        )
