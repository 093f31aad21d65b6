"""List and download flat files from a Polygon/Massive S3 endpoint. Never writes the lake.

Downloads run concurrently (``sources.polygon.concurrency`` at a time, so memory stays bounded),
retry transient errors (timeouts, 5xx, throttling, a short read) with exponential back-off and
jitter, and come back as ``(file, bytes)`` or ``(file, error)``: one bad file never stops the rest.
Files larger than a threshold are streamed to a temporary file instead (sha256 computed on the
way), and come back as a :class:`Downloaded`.

With ``sources.polygon.uri`` set, the same listing and reading run over a local folder (or any
fsspec URL) holding the vendor's key layout: files downloaded earlier, or the demo's sample.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from marketlake.config import PolygonSettings
from marketlake.errors import MarketLakeError, SourceError, TransientError
from marketlake.retry import bounded_map, first_line, with_retries
from marketlake.sources.polygon.keys import FlatFile, month_prefixes, parse_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listed:
    """A flat file found on the server, with what the listing says about it."""

    file: FlatFile
    size: int
    modified: datetime | None


@dataclass(frozen=True)
class Downloaded:
    """A file streamed to a temporary file (the caller removes it)."""

    path: Path
    sha256: str
    size: int


Fetched = bytes | Downloaded
# Bytes read from the server at a time when streaming to a file.
STREAM_BLOCK = 8 * 2**20


class DownloadError(TransientError):
    """A download kept failing with transient errors after every retry."""


class PolygonClient:
    """A flat-files endpoint, or a folder with the same key layout (``settings.uri``).

    Args:
        settings: Endpoint, bucket, credentials, concurrency and retry settings; ``uri`` to read
            a local folder (or fsspec URL) instead of the endpoint.
        sleep: How to wait between retries (tests pass a fake).

    Raises:
        SourceError: ``uri`` names a folder that does not exist.
    """

    def __init__(
        self, settings: PolygonSettings, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        if settings.uri:
            from fsspec.core import url_to_fs

            uri = settings.uri
            if "://" not in uri:
                uri = str(Path(uri).expanduser().resolve())
            self.fs, root = url_to_fs(uri)
            self._root = str(root).rstrip("/")
            self._show = settings.uri.rstrip("/")
            if not self.fs.isdir(self._root):
                raise SourceError(
                    "the flat-files folder does not exist",
                    path=self._show,
                    hint="point sources.polygon.uri (or --source-dir) at the folder holding "
                    "us_stocks_sip/..., or leave it empty to use the S3 endpoint",
                )
        else:
            import s3fs  # type: ignore[import-untyped]

            self.fs = s3fs.S3FileSystem(skip_instance_cache=True, **settings.storage_options())
            self._root = settings.bucket
            self._show = f"s3://{settings.bucket}"

    def _path(self, key: str) -> str:
        return f"{self._root}/{key}"

    def where(self, key: str) -> str:
        """Where a key is, as shown to users (``s3://bucket/key`` or the folder's path)."""
        return f"{self._show}/{key}"

    def _with_retries(self, what: str, key: str, fn: Callable[[], Any]) -> Any:
        s = self.settings

        def denied(exc: PermissionError) -> SourceError:
            return SourceError(
                f"the flat-files server refused access: {first_line(exc)}",
                path=self.where(key),
                endpoint=s.endpoint_url,
                hint="check sources.polygon.access_key_id / secret_access_key "
                "(MARKETLAKE_SOURCES__POLYGON__*): flat-file keys differ from the REST key",
            )

        def exhausted(exc: Exception, attempts: int) -> DownloadError:
            return DownloadError(
                f"could not {what} after {attempts} attempts: {first_line(exc)}",
                path=self.where(key),
                endpoint=s.endpoint_url,
                hint="check sources.polygon.endpoint_url and the network; run the "
                "same command again (finished files are skipped)",
            )

        return with_retries(
            fn, what=f"{what} {key}", retries=s.retries, backoff_s=s.backoff_s,
            backoff_max_s=s.backoff_max_s, denied=denied, exhausted=exhausted, sleep=self._sleep,
        )  # fmt: skip

    def list_files(
        self, dataset: str, start: date, end: date, *, symbols: Iterable[str] | None = None
    ) -> list[Listed]:
        """Flat files of ``dataset`` for days in ``start..end``, in both key layouts.

        Args:
            dataset: ``{asset}/{kind}``, e.g. ``us_stocks_sip/trades_v1``.
            start: First day (inclusive).
            end: Last day (inclusive).
            symbols: Keep only these symbols' per-symbol files (per-day files hold every symbol).

        Returns:
            The files found, by day then key. A day with a per-day file ignores per-symbol
            files of the same day (they would hold the same rows twice).

        Raises:
            SourceError: the server refused the credentials or the bucket does not exist.
        """
        wanted = {s.upper() for s in symbols} if symbols else None
        found: list[Listed] = []
        for prefix in month_prefixes(dataset, start, end):
            try:
                entries: dict[str, dict[str, Any]] = self._with_retries(
                    "list", prefix, partial(self.fs.find, self._path(prefix), detail=True)
                )
            except FileNotFoundError:
                continue  # nothing published for that month (yet)
            for path, info in sorted(entries.items()):
                key = path[len(self._root) + 1 :] if path.startswith(self._root + "/") else path
                flat = parse_key(key)
                if flat is None or flat.dataset != dataset or not start <= flat.day <= end:
                    continue
                if wanted is not None and flat.symbol is not None and flat.symbol not in wanted:
                    continue
                found.append(Listed(flat, int(info.get("size") or 0), _modified(info)))
        per_day = {x.file.day for x in found if x.file.symbol is None}
        kept = [x for x in found if x.file.symbol is None or x.file.day not in per_day]
        return sorted(kept, key=lambda x: (x.file.day, x.file.key))

    def fetch(self, listed: Listed) -> bytes:
        """The bytes of one file (retried; a short read counts as transient).

        Raises:
            SourceError: the file vanished, or access was refused.
            DownloadError: transient errors outlasted the retries.
        """

        def get() -> bytes:
            data: bytes = self.fs.cat_file(self._path(listed.file.key))
            if listed.size and len(data) != listed.size:
                raise ConnectionError(f"short read: {len(data)} of {listed.size} bytes")
            return data

        try:
            data: bytes = self._with_retries("download", listed.file.key, get)
        except FileNotFoundError as exc:
            raise SourceError(
                "the file was listed but is gone",
                path=self.where(listed.file.key),
                hint="the vendor may be re-publishing it; run the same command again later",
            ) from exc
        return data

    def fetch_to_file(self, listed: Listed, directory: Path) -> Downloaded:
        """Stream one file to a temporary file in ``directory`` (bounded memory, retried).

        Returns:
            The file, its sha256 and size. The caller removes it.

        Raises:
            SourceError: the file vanished, or access was refused.
            DownloadError: transient errors outlasted the retries.
        """
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f".tmp-{uuid.uuid4().hex}.csv.gz"

        def get() -> Downloaded:
            digest, size = hashlib.sha256(), 0
            with self.fs.open(self._path(listed.file.key), "rb") as src, target.open("wb") as dst:
                while block := src.read(STREAM_BLOCK):
                    digest.update(block)
                    dst.write(block)
                    size += len(block)
            if listed.size and size != listed.size:
                raise ConnectionError(f"short read: {size} of {listed.size} bytes")
            return Downloaded(target, digest.hexdigest(), size)

        try:
            got: Downloaded = self._with_retries("download", listed.file.key, get)
        except FileNotFoundError as exc:
            target.unlink(missing_ok=True)
            raise SourceError(
                "the file was listed but is gone",
                path=self.where(listed.file.key),
                hint="the vendor may be re-publishing it; run the same command again later",
            ) from exc
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return got

    def _fetch_any(
        self, listed: Listed, spill_bytes: int | None, spill_dir: Path | None
    ) -> Fetched:
        if spill_bytes is not None and spill_dir is not None and listed.size > spill_bytes:
            return self.fetch_to_file(listed, spill_dir)
        return self.fetch(listed)

    def fetch_all(
        self,
        files: list[Listed],
        *,
        spill_bytes: int | None = None,
        spill_dir: Path | None = None,
    ) -> Iterator[tuple[Listed, Fetched | MarketLakeError]]:
        """Download files concurrently, at most ``concurrency`` in flight, as they complete.

        Args:
            files: The files to download.
            spill_bytes: Files listed larger than this are streamed to a temporary file in
                ``spill_dir`` (and come back as :class:`Downloaded`); by default none is.
            spill_dir: Where those temporary files go.

        Yields:
            Each file with its bytes (or temporary file), or the error that stopped it.
        """

        def unexpected(listed: Listed, exc: Exception) -> SourceError:
            return SourceError(
                f"download failed: {first_line(exc)}",
                path=self.where(listed.file.key),
                hint="run the same command again; report it if it persists",
            )

        return bounded_map(
            lambda listed: self._fetch_any(listed, spill_bytes, spill_dir),
            files,
            concurrency=self.settings.concurrency,
            unexpected=unexpected,
        )


def _modified(info: dict[str, Any]) -> datetime | None:
    """The modification time of a listed file: S3's ``LastModified`` or a folder's ``mtime``."""
    modified = info.get("LastModified")
    if isinstance(modified, datetime):
        return modified
    mtime = info.get("mtime")
    if isinstance(mtime, (int, float)):
        return datetime.fromtimestamp(mtime, UTC)
    if isinstance(mtime, datetime):
        return mtime
    return None


def discard(fetched: Fetched | MarketLakeError) -> None:
    """Remove the temporary file of a streamed download (nothing for bytes or errors)."""
    if isinstance(fetched, Downloaded):
        with contextlib.suppress(OSError):
            os.remove(fetched.path)
