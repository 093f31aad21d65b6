"""Bronze: the immutable raw landing zone.

A landed file is stored once, at a key made of its sha256
(``bronze/<source>/<sha[:2]>/<sha><ext>``), and described by one manifest row
(``bronze/_manifest/<source>/<key hash>/<ingest_id>.json``: grouped by logical key, so the
earlier deliveries of a key are one listing away, however large the manifest grows).

The ingest id names one *delivery*: the same bytes delivered again under the same logical key
(the same export of the same symbol, the same vendor day) get the same id and land nothing new.
New bytes under a logical key that was delivered before *supersede* the older delivery: silver
then replaces its rows instead of keeping both (a re-exported history, a re-published vendor day).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from marketlake.lake.store import Lake
from marketlake.schemas import IngestId

log = logging.getLogger(__name__)

MANIFEST_PREFIX = "bronze/_manifest"


@dataclass(frozen=True)
class ManifestEntry:
    """One landed delivery of a raw file."""

    ingest_id: str
    source: str
    logical_key: (
        str  # what this delivery is *of*: "MSFT/MSFT.csv", "us_stocks_sip/trades_v1/2024-01-02"
    )
    sha256: str
    bronze_key: str
    original_name: str
    size: int
    landed_at: str  # ISO-8601 UTC
    symbol: str | None = None
    supersedes: list[str] = field(default_factory=list)


def sha256_of(data: bytes) -> str:
    """The hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def make_ingest_id(source: str, logical_key: str, sha256: str) -> IngestId:
    """The id of one delivery: stable for the same bytes under the same logical key."""
    digest = hashlib.sha256(f"{source}\n{logical_key}\n{sha256}".encode()).hexdigest()
    return IngestId(digest[:16])


def _key_dir(source: str, logical_key: str) -> str:
    return f"{MANIFEST_PREFIX}/{source}/{hashlib.sha256(logical_key.encode()).hexdigest()[:16]}"


def manifest_key(source: str, logical_key: str, ingest_id: str) -> str:
    """Where the manifest row of an ingest lives."""
    return f"{_key_dir(source, logical_key)}/{ingest_id}.json"


def _sorted(entries: list[ManifestEntry]) -> list[ManifestEntry]:
    return sorted(entries, key=lambda e: (e.landed_at, e.ingest_id))


def read_manifest(lake: Lake, source: str | None = None) -> list[ManifestEntry]:
    """Every manifest row (of one source, or all), oldest landing first."""
    pattern = f"{MANIFEST_PREFIX}/{source or '*'}/*/*.json"
    return _sorted([ManifestEntry(**row) for row in lake.iter_json(pattern)])


def deliveries_of(lake: Lake, source: str, logical_key: str) -> list[ManifestEntry]:
    """Every delivery of one logical key, oldest landing first."""
    pattern = f"{_key_dir(source, logical_key)}/*.json"
    return _sorted([ManifestEntry(**row) for row in lake.iter_json(pattern)])


def get_entry(lake: Lake, source: str, logical_key: str, ingest_id: str) -> ManifestEntry | None:
    """The manifest row of one ingest, or None when it was never landed."""
    key = manifest_key(source, logical_key, ingest_id)
    return ManifestEntry(**lake.read_json(key)) if lake.exists(key) else None


def land(
    lake: Lake,
    data: bytes,
    *,
    source: str,
    logical_key: str,
    original_name: str,
    extension: str = "",
    symbol: str | None = None,
) -> tuple[ManifestEntry, bool]:
    """Land raw bytes in bronze, once.

    Args:
        lake: The lake to land in.
        data: The file's bytes, exactly as received.
        source: The source name (``csv_daily``...).
        logical_key: What the file is a delivery of (see module docs).
        original_name: The name the file had where it came from (for people, not for identity).
        extension: Kept on the bronze object so tools recognise it (``.csv``, ``.csv.gz``).
        symbol: The symbol the delivery is about, when it is about one.

    Returns:
        The manifest row, and whether anything new was landed.
    """
    digest = sha256_of(data)
    ingest_id = make_ingest_id(source, logical_key, digest)
    existing = get_entry(lake, source, logical_key, ingest_id)
    if existing is not None:
        log.info("already landed", extra={"ingest_id": ingest_id, "source": source})
        return existing, False

    bronze_key = f"bronze/{source}/{digest[:2]}/{digest}{extension}"
    if not lake.exists(bronze_key):
        lake.write_bytes(bronze_key, data)
    earlier = [e.ingest_id for e in deliveries_of(lake, source, logical_key)]
    entry = ManifestEntry(
        ingest_id=ingest_id,
        source=source,
        logical_key=logical_key,
        sha256=digest,
        bronze_key=bronze_key,
        original_name=original_name,
        size=len(data),
        landed_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        symbol=symbol,
        supersedes=earlier,
    )
    # The manifest row is written last: its presence means the bytes are safely in bronze.
    lake.write_json(manifest_key(source, logical_key, ingest_id), asdict(entry))
    return entry, True
