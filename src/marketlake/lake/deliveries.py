"""What a landed delivery already is: published, or superseded by a newer one.

Every ingest (CSV, HDF5, Polygon, Alpha Vantage, JSON records, reference data) asks the same two
questions after landing a file in bronze, before parsing it: was this delivery published to
silver already (skip it, unless re-processing), and has a newer delivery of the same logical key
replaced it (never publish the older one over the newer)? The answers, and how they go into the
ledger, live here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from marketlake.lake.bronze import ManifestEntry, deliveries_of
from marketlake.lake.silver import IngestRecord, get_record
from marketlake.lake.store import Lake

if TYPE_CHECKING:
    from marketlake.ops.ledger import LedgerRow


@dataclass(frozen=True)
class Prior:
    """Why a landed delivery is not published again."""

    outcome: Literal["unchanged", "superseded"]
    record: IngestRecord | None = None  # the published record (unchanged)
    superseded_by: str | None = None  # the newer delivery's ingest id (superseded)


def superseded_by(lake: Lake, entry: ManifestEntry) -> str | None:
    """The ingest id of a newer delivery of the same logical key that replaced ``entry``."""
    for later in deliveries_of(lake, entry.source, entry.logical_key):
        if entry.ingest_id in later.supersedes:
            return later.ingest_id
    return None


def prior_of(lake: Lake, entry: ManifestEntry, *, reprocess: bool = False) -> Prior | None:
    """Why ``entry`` needs no publishing, or None when it must be published (again).

    A superseded delivery is never published, even with ``reprocess``: its rows would come
    back over the newer delivery's.
    """
    record = get_record(lake, entry.ingest_id)
    if record is not None and not reprocess:
        return Prior("unchanged", record=record)
    if record is None:
        newer = superseded_by(lake, entry)
        if newer is not None:
            return Prior("superseded", superseded_by=newer)
    return None


def fill_row(row: LedgerRow, record: IngestRecord, size: int) -> None:
    """A ledger row's figures from a published ingest's record (``size``: bytes read)."""
    row.rows_in, row.rows_out = record.rows_in, record.rows_out
    row.rows_quarantined, row.bytes = record.rows_quarantined, size
    row.details.update(
        ingest_id=record.ingest_id,
        quarantined_by_rule=record.quarantined_by_rule,
        flagged_by_rule=record.flagged_by_rule,
    )


def skip_row(row: LedgerRow, prior: Prior, size: int) -> None:
    """Record in the ledger that a delivery was skipped, and why."""
    row.status = "skipped"
    if prior.record is not None:
        fill_row(row, prior.record, size)
    if prior.superseded_by is not None:
        row.details["superseded_by"] = prior.superseded_by
