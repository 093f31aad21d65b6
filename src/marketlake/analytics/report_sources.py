"""What the report says about each source: deliveries, rows, the time its data covers, last run.

Deliveries come from the bronze manifest, rows from the records of the ingests published into
silver (summed by :func:`marketlake.lake.totals.sum_records`, as the demo and
``marketlake quality`` sum them), the time covered from the silver files' Parquet footers (read
once for the coverage section), and the last run from the run ledger. A record is attributed to
the source that landed its delivery (the manifest's name: ``hdf5_ticks``), not the parser's name
(``hdf5:tick/trades``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import unquote

import polars as pl

from marketlake.lake.bronze import ManifestEntry
from marketlake.lake.silver import IngestRecord
from marketlake.lake.store import Lake
from marketlake.lake.totals import LakeTotals, record_source, sum_records
from marketlake.ops.ledger import LedgerRow, read_ledger

Span = tuple[date | None, date | None]
REPORT_STEP = "report"  # the ledger step of a report: a run of nothing else changed no data


@dataclass(frozen=True)
class SourceLine:
    """One source: what it delivered, what reached silver, the time covered, its last run."""

    source: str
    kind: str | None
    deliveries: int
    first_landed: str | None  # ISO-8601 UTC
    last_landed: str | None
    totals: LakeTotals
    datasets: list[str]
    first_data: date | None
    last_data: date | None
    last_run: LedgerRow | None  # the newest ledger row of an ingest (or landing) of it


@dataclass(frozen=True)
class RunSummary:
    """The newest run of the ledger."""

    run_id: str
    started_at: str
    steps: int
    ok: int
    skipped: int
    failed: list[LedgerRow]


@dataclass(frozen=True)
class SourcesInputs:
    """The sources section's inputs."""

    lines: list[SourceLine] = field(default_factory=list)
    idle: list[str] = field(default_factory=list)  # known to gold, never delivered
    last_run: RunSummary | None = None
    from_gold: bool = False  # kinds and idle sources come from gold's dim_source


def record_symbols(record: IngestRecord) -> set[str]:
    """The symbols an ingest published: its partitions' ``symbol=`` folders."""
    found = {
        unquote(part.removeprefix("symbol="))
        for key in record.partitions
        for part in key.split("/")
        if part.startswith("symbol=")
    }
    return found | set(record.symbols or ())


def of_symbols(
    records: list[IngestRecord], manifest: list[ManifestEntry], symbols: list[str] | None
) -> tuple[list[IngestRecord], list[ManifestEntry]]:
    """The ingests and deliveries that hold rows of ``symbols`` (all of them for None).

    An ingest qualifies when it published rows of one of the symbols, or when its delivery is
    about one of them (a delivery whose every row was quarantined published none).
    """
    if symbols is None:
        return records, manifest
    wanted = set(symbols)
    about = {e.ingest_id for e in manifest if e.symbol in wanted}
    chosen = [r for r in records if record_symbols(r) & wanted or r.ingest_id in about]
    published = {r.ingest_id for r in chosen}
    return chosen, [e for e in manifest if e.ingest_id in published or e.ingest_id in about]


def gather_sources(
    lake: Lake,
    records: list[IngestRecord],
    manifest: list[ManifestEntry],
    spans: dict[str, Span],
    dim_source: pl.DataFrame | None,
    *,
    symbols: list[str] | None,
    ledger_runs: int,
) -> SourcesInputs:
    """Per source: deliveries, row totals, time covered and last run.

    Args:
        lake: Where the ledger is.
        records: The records of the ingests now in silver.
        manifest: The bronze manifest (``read_manifest``).
        spans: First and last date of the silver rows of each ingest id (from the footers).
        dim_source: Gold's ``dim_source``, when exported: kinds and sources never delivered.
        symbols: Only deliveries and ingests of these symbols (:func:`of_symbols`); None: all.
        ledger_runs: How many of the newest runs to search for each source's last run.

    Returns:
        One line per source that delivered (of ``symbols``), by name.
    """
    landed_by = {e.ingest_id: e.source for e in manifest}
    records, manifest = of_symbols(records, manifest, symbols)
    by_source: dict[str, list[IngestRecord]] = {}
    for record in records:
        name = landed_by.get(record.ingest_id, record_source(record))
        by_source.setdefault(name, []).append(record)
    entries: dict[str, list[ManifestEntry]] = {}
    for entry in manifest:
        entries.setdefault(entry.source, []).append(entry)
    rows = read_ledger(lake, last_runs=ledger_runs)
    kinds = _kinds(dim_source)
    lines = [
        _line(
            name,
            entries=entries.get(name, []),
            records=by_source.get(name, []),
            spans=spans,
            ledger=rows,
            kind=kinds.get(name),
        )
        for name in sorted(set(by_source) | set(entries))
    ]
    idle = []
    if dim_source is not None and symbols is None:
        idle = sorted(set(dim_source["source"].to_list()) - {line.source for line in lines})
    return SourcesInputs(
        lines=lines, idle=idle, last_run=summarise_run(rows), from_gold=dim_source is not None
    )


def _kinds(dim_source: pl.DataFrame | None) -> dict[str, str]:
    if dim_source is None or "source_kind" not in dim_source.columns:
        return {}
    return dict(
        zip(dim_source["source"].to_list(), dim_source["source_kind"].to_list(), strict=True)
    )


def _line(
    name: str,
    *,
    entries: list[ManifestEntry],
    records: list[IngestRecord],
    spans: dict[str, Span],
    ledger: list[LedgerRow],
    kind: str | None,
) -> SourceLine:
    landed = sorted(e.landed_at for e in entries)
    firsts = [f for r in records if (f := spans.get(r.ingest_id, (None, None))[0])]
    lasts = [t for r in records if (t := spans.get(r.ingest_id, (None, None))[1])]
    return SourceLine(
        source=name,
        kind=kind,
        deliveries=len(entries),
        first_landed=landed[0] if landed else None,
        last_landed=landed[-1] if landed else None,
        totals=sum_records(records),
        datasets=sorted({r.dataset for r in records}),
        first_data=min(firsts, default=None),
        last_data=max(lasts, default=None),
        last_run=last_row_of(name, ledger),
    )


def last_row_of(source: str, ledger: Iterable[LedgerRow]) -> LedgerRow | None:
    """The newest ledger row that ingested (or landed) a delivery of ``source``."""
    steps = {f"ingest.{source}", f"land.{source}"}
    mine = [row for row in ledger if row.step in steps]
    return max(mine, key=lambda row: (row.run_id, row.seq), default=None)


def summarise_run(ledger: list[LedgerRow]) -> RunSummary | None:
    """The newest run's steps by status; runs that only wrote a report are passed over."""
    if not ledger:
        return None
    worked = {row.run_id for row in ledger if row.step != REPORT_STEP}
    run_id = max(worked or {row.run_id for row in ledger})
    rows = sorted((r for r in ledger if r.run_id == run_id), key=lambda r: r.seq)
    return RunSummary(
        run_id=run_id,
        started_at=rows[0].started_at,
        steps=len(rows),
        ok=sum(r.status == "ok" for r in rows),
        skipped=sum(r.status == "skipped" for r in rows),
        failed=[r for r in rows if r.status == "failed"],
    )
