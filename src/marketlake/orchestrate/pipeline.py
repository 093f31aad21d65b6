"""The in-process flow: ingest -> silver -> warehouse build -> gold exports, with a ledger.

``run_demo`` is what ``marketlake demo`` runs: sample data of every source format, then the
whole flow on the embedded default (DuckDB, local lake). No server.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from marketlake.config import Settings
from marketlake.ingest import IngestReport
from marketlake.lake import open_lake
from marketlake.lake.totals import LakeTotals

if TYPE_CHECKING:
    from marketlake.analytics.report import ReportResult
    from marketlake.bars import SymbolBars
    from marketlake.bars.continuous_io import ContinuousReport
    from marketlake.ingest_hdf5 import Hdf5Report
    from marketlake.orchestrate.demo_alphavantage import AlphaVantageDemo
    from marketlake.orchestrate.demo_polygon import PolygonDemo
    from marketlake.orchestrate.demo_reference import ReferenceDemo
    from marketlake.orchestrate.demo_s3json import S3JsonDemo
    from marketlake.warehouse import BuildResult

# The demo's futures sample: about a year of ES-like trades (four quarterly rolls), small
# enough to run in seconds; bar thresholds are derived as a target number of bars per day.
DEMO_ES_TRADES = 1_500_000
DEMO_ES_TRADES_PER_DAY = 6_000
DEMO_BARS_PER_DAY = 50
DEMO_TIME_BARS = "30m"
# Sources in the order the demo ingests them (and prints them).
DEMO_SOURCES = ("csv_daily", "reference", "alphavantage", "s3_json", "polygon", "hdf5")


@dataclass(frozen=True)
class FuturesDemo:
    """What the demo did with the ES tick sample."""

    hdf5: Hdf5Report
    bars: list[SymbolBars]
    continuous: ContinuousReport


@dataclass(frozen=True)
class DemoSources:
    """What the demo did with the samples of the other source formats."""

    reference: ReferenceDemo
    alphavantage: AlphaVantageDemo
    s3json: S3JsonDemo
    polygon: PolygonDemo


@dataclass(frozen=True)
class DemoResult:
    """What the demo did and where its outputs are."""

    run_id: str
    samples: Path
    ingest: IngestReport
    totals: dict[str, LakeTotals]  # per source, in the order the demo ingests them
    build: BuildResult
    outputs: dict[str, str]
    futures: FuturesDemo
    report: ReportResult
    sources: DemoSources


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
        "bars_info (tick/volume/dollar/time)": lake.url("silver/bars_info"),
        "continuous contract + roll table": lake.url("silver/continuous_rolls"),
    }


def run_demo(settings: Settings) -> DemoResult:
    """Write sample data of every source format, run the whole flow; idempotent (run it twice).

    The flow is ``marketlake run`` over the samples (see :mod:`marketlake.orchestrate.demo_run`).
    """
    from marketlake.orchestrate.demo_run import run_demo_flow

    return run_demo_flow(settings)
