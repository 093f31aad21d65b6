"""Land an HDF5 file in bronze once: sha256 streamed in bounded memory, then a hard link or a
streamed copy at its content address, and one manifest row per key (one delivery per key).

Why a hard link: a tick file can be 20 GB; a copy doubles the disk it needs. On a local lake on
the same filesystem the file is hard-linked into bronze (no second copy), and the shared inode is
made read-only, because HDF5 files are often appended to in place (``HDFStore.append``): an
in-place change would silently rewrite bronze's "immutable" bytes, while a read-only file makes
such a write fail loudly instead (``chmod u+w`` to write it again, knowingly). Elsewhere (another
filesystem, S3, or ``sources.hdf5.bronze: copy``) the file is copied in a stream.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from marketlake.errors import LakeError
from marketlake.lake import Lake
from marketlake.lake.bronze import (
    ManifestEntry,
    deliveries_of,
    get_entry,
    make_ingest_id,
    manifest_key,
)
from marketlake.sources import hdf5_ticks

log = logging.getLogger(__name__)

# 1 MiB: the block stays in cache between the read and the hash (8 MiB ran ~40% slower).
HASH_BLOCK = 2**20
# (what, done, total): "hash"/"copy" in bytes, or a key ("tick/trades") in rows.
OnProgress = Callable[[str, int, int], None]


def file_sha256(
    path: Path, *, cache: Path | None = None, on_bytes: OnProgress | None = None
) -> str:
    """The sha256 of a file, read in 1 MiB blocks; cached by (path, size, mtime, inode).

    Args:
        path: The file.
        cache: A JSON file remembering earlier hashes (a re-run does not read 20 GB again).
        on_bytes: Called with ``("hash", bytes_done, bytes_total)`` as the file is read.
    """
    stat = path.stat()
    identity = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}
    known: dict[str, dict[str, object]] = {}
    if cache is not None and cache.is_file():
        try:
            known = json.loads(cache.read_text())
        except (OSError, ValueError):
            known = {}  # a damaged cache only costs a re-hash
    entry = known.get(str(path.resolve()), {})
    if entry and all(entry.get(k) == v for k, v in identity.items()):
        return str(entry["sha256"])
    digest = hashlib.sha256()
    buffer = bytearray(HASH_BLOCK)
    view, done = memoryview(buffer), 0
    with path.open("rb", buffering=0) as handle:
        while read := handle.readinto(buffer):
            digest.update(view[:read])
            done += read
            if on_bytes is not None:
                on_bytes("hash", done, stat.st_size)
    sha = digest.hexdigest()
    if cache is not None:
        known[str(path.resolve())] = {**identity, "sha256": sha}
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".tmp-{uuid.uuid4().hex}")
        tmp.write_text(json.dumps(known, indent=1, sort_keys=True))
        tmp.replace(cache)
    return sha


def land_file(
    lake: Lake, path: Path, sha: str, *, mode: Literal["link", "copy"], on_bytes: OnProgress | None
) -> tuple[str, Literal["linked", "copied", "already"]]:
    """Put the file's bytes in bronze at their content address, once (see module docs)."""
    bronze_key = f"bronze/{hdf5_ticks.SOURCE}/{sha[:2]}/{sha}{path.suffix.lower()}"
    if lake.exists(bronze_key):
        return bronze_key, "already"
    target = lake.full(bronze_key)
    try:
        if not lake.is_local:
            lake.fs.put_file(str(path), target)  # streamed (multipart) by fsspec
            return bronze_key, "copied"
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = f"{os.path.dirname(target)}/.tmp-{uuid.uuid4().hex}"
        if mode == "link":
            try:
                os.link(path, tmp)
                os.replace(tmp, target)
                os.chmod(target, os.stat(target).st_mode & ~0o222)
                return bronze_key, "linked"
            except OSError as exc:  # another filesystem, or links not allowed: copy instead
                log.info("hard link failed (%s); copying %s into bronze", exc, path)
        with path.open("rb") as src, open(tmp, "wb") as dst:
            size, done = path.stat().st_size, 0
            while block := src.read(HASH_BLOCK):
                dst.write(block)
                done += len(block)
                if on_bytes is not None:
                    on_bytes("copy", done, size)
        os.replace(tmp, target)
        return bronze_key, "copied"
    except OSError as exc:
        raise LakeError(
            f"cannot land the file in bronze ({exc})",
            path=str(path),
            hint="check free disk space and the lake folder's permissions; then run again",
        ) from exc


def manifest_entry(
    lake: Lake, path: Path, key: str, *, sha: str, bronze_key: str, symbol: str
) -> ManifestEntry:
    """The manifest row of one key of the landed file (one delivery per key), written once."""
    logical_key = f"{path.name}/{key}"
    ingest_id = make_ingest_id(hdf5_ticks.SOURCE, logical_key, sha)
    existing = get_entry(lake, hdf5_ticks.SOURCE, logical_key, ingest_id)
    if existing is not None:
        return existing
    entry = ManifestEntry(
        ingest_id=ingest_id,
        source=hdf5_ticks.SOURCE,
        logical_key=logical_key,
        sha256=sha,
        bronze_key=bronze_key,
        original_name=path.name,
        size=path.stat().st_size,
        landed_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        symbol=symbol,
        supersedes=[e.ingest_id for e in deliveries_of(lake, hdf5_ticks.SOURCE, logical_key)],
    )
    lake.write_json(manifest_key(hdf5_ticks.SOURCE, logical_key, ingest_id), asdict(entry))
    return entry
