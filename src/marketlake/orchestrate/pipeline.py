"""The in-process flow: ingest -> silver -> warehouse build -> gold exports, with a ledger.

``run_demo`` is what ``marketlake demo`` runs: sample data of every source format, then the
whole flow on the embedded default (DuckDB, local lake). No server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from marketlake.config import Settings
from marketlake.ingest import FileResult, IngestReport, ingest_csv
from marketlake.lake import open_lake
from marketlake.lake.silver import read_records
from marketlake.ops.ledger import Run

if TYPE_CHECKING:
    from marketlake.warehouse import BuildResult


@dataclass(frozen=True)
class LakeTotals:
    """What silver holds now, summed over every published ingest."""

    ingests: int
    rows_in: int
    rows_out: int
    rows_quarantined: int
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    flagged_by_rule: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoResult:
    """What the demo did and where its outputs are."""

    run_id: str
    samples: Path
    ingest: IngestReport
    totals: LakeTotals
    build: BuildResult
    outputs: dict[str, str]


def lake_totals(settings: Settings) -> LakeTotals:
    """Sum the records of every ingest now in silver."""
    records = read_records(open_lake(settings))
    by_rule: dict[str, int] = {}
    flagged: dict[str, int] = {}
    for record in records:
        for rule, n in record.quarantined_by_rule.items():
            by_rule[rule] = by_rule.get(rule, 0) + n
        for rule, n in record.flagged_by_rule.items():
            flagged[rule] = flagged.get(rule, 0) + n
    return LakeTotals(
        ingests=len(records),
        rows_in=sum(r.rows_in for r in records),
        rows_out=sum(r.rows_out for r in records),
        rows_quarantined=sum(r.rows_quarantined for r in records),
        quarantined_by_rule=dict(sorted(by_rule.items())),
        flagged_by_rule=dict(sorted(flagged.items())),
    )


def output_paths(settings: Settings) -> dict[str, str]:
    """Where a user looks at what marketlake wrote."""
    lake = open_lake(settings)
    return {
        "bronze (raw files + manifest)": lake.url("bronze"),
        "silver (validated Parquet)": lake.url("silver/bars"),
        "quarantine (rejected rows)": lake.url("silver/_quarantine"),
        "run ledger": lake.url("_ledger"),
        "warehouse (DuckDB)": str(settings.duckdb_path),
        "gold (Parquet exports)": settings.gold_uri,
    }


def run_demo(
    settings: Settings, *, on_file: Callable[[FileResult], None] | None = None
) -> DemoResult:
    """Write sample data, ingest it, build the warehouse; idempotent (run it twice)."""
    from marketlake.sources.csv_daily.sample import write_daily_csvs
    from marketlake.warehouse import build_warehouse

    samples = settings.data_dir.absolute() / "samples"
    csv_set = write_daily_csvs(samples / "csv_daily")
    run = Run(open_lake(settings))
    report = ingest_csv(
        [str(p) for p in csv_set.files], settings=settings, run=run, on_file=on_file
    )
    build = build_warehouse(settings, run=run)
    return DemoResult(
        run_id=run.run_id,
        samples=samples,
        ingest=report,
        totals=lake_totals(settings),
        build=build,
        outputs=output_paths(settings),
    )
