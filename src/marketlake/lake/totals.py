"""What silver holds, summed from the records of the ingests published into it.

One place for the sum, so the demo summary, ``marketlake quality`` and the report's sources
section always agree on rows in / in silver / quarantined.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from marketlake.config import Settings
from marketlake.lake.silver import IngestRecord, read_records
from marketlake.lake.store import open_lake


@dataclass(frozen=True)
class LakeTotals:
    """What silver holds now, summed over every published ingest."""

    ingests: int
    rows_in: int
    rows_out: int
    rows_quarantined: int
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    flagged_by_rule: dict[str, int] = field(default_factory=dict)


def record_source(record: IngestRecord) -> str:
    """The source a record came from, without a layout suffix (``hdf5:tick/trades``: ``hdf5``)."""
    return record.source.split(":")[0]


def sum_records(records: Iterable[IngestRecord]) -> LakeTotals:
    """Sum ingest records: rows in / out / quarantined, and rows per rule.

    Args:
        records: The records to sum (e.g. ``read_records(lake)``, filtered).

    Returns:
        The totals; rules sorted by id.
    """
    chosen = list(records)
    by_rule: dict[str, int] = {}
    flagged: dict[str, int] = {}
    for record in chosen:
        for rule, n in record.quarantined_by_rule.items():
            by_rule[rule] = by_rule.get(rule, 0) + n
        for rule, n in record.flagged_by_rule.items():
            flagged[rule] = flagged.get(rule, 0) + n
    return LakeTotals(
        ingests=len(chosen),
        rows_in=sum(r.rows_in for r in chosen),
        rows_out=sum(r.rows_out for r in chosen),
        rows_quarantined=sum(r.rows_quarantined for r in chosen),
        quarantined_by_rule=dict(sorted(by_rule.items())),
        flagged_by_rule=dict(sorted(flagged.items())),
    )


def lake_totals(
    settings: Settings, dataset: str | None = None, *, source: str | None = None
) -> LakeTotals:
    """Sum the records of every ingest now in silver (of one dataset and/or source, or all).

    Args:
        settings: Where the lake is.
        dataset: Only this silver dataset (``bars``, ``trades`` ...); None for all.
        source: Only this source (an HDF5 record's ``hdf5:<key>`` counts as ``hdf5``).

    Returns:
        The totals.
    """
    return sum_records(
        r
        for r in read_records(open_lake(settings))
        if (dataset is None or r.dataset == dataset)
        and (source is None or record_source(r) == source)
    )
