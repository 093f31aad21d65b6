"""The in-process flow: ingest -> silver -> warehouse build -> gold exports, with a ledger.

``run_demo`` is what ``marketlake demo`` runs: sample data of every source format, then the
whole flow on the embedded default (DuckDB, local lake). No server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from marketlake.config import Settings
from marketlake.ingest import FileResult, IngestReport, ingest_csv
from marketlake.lake import open_lake
from marketlake.lake.totals import LakeTotals, lake_totals
from marketlake.ops.ledger import Run

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


def run_futures_demo(settings: Settings, samples: Path, run: Run) -> FuturesDemo:
    """ES ticks: HDF5 sample -> silver trades -> bars of every kind -> continuous contract."""
    from marketlake.bars import BarsRequest, build_bars
    from marketlake.bars.continuous_io import make_continuous
    from marketlake.ingest_hdf5 import ingest_hdf5
    from marketlake.sources.hdf5_ticks.sample import write_es_h5

    path = samples / "hdf5" / "ES.h5"
    if not path.exists():  # landed by hard link and made read-only: never rewritten
        path.parent.mkdir(parents=True, exist_ok=True)
        write_es_h5(
            path, trades=DEMO_ES_TRADES, trades_per_day=DEMO_ES_TRADES_PER_DAY, faults=20, seed=7
        )
    hdf5 = ingest_hdf5(path, settings=settings, run=run)
    requests = [
        BarsRequest(kind="time", interval=DEMO_TIME_BARS),
        *(
            BarsRequest(kind=k, bars_per_day=DEMO_BARS_PER_DAY)
            for k in ("tick", "volume", "dollar")
        ),
    ]
    bars = [s for request in requests for s in build_bars(settings, request, run=run).symbols]
    continuous = make_continuous(settings, "ES", roll="volume", adjust="difference", run=run)
    return FuturesDemo(hdf5=hdf5, bars=bars, continuous=continuous)


def run_source_demos(settings: Settings, samples: Path, run: Run) -> DemoSources:
    """Reference data, Alpha Vantage payloads, JSON records and Polygon flat files, from samples.

    Each is read from a local folder the way the real source is read from its server, so the
    demo needs no server and no internet.
    """
    from marketlake.orchestrate.demo_alphavantage import demo_alphavantage
    from marketlake.orchestrate.demo_polygon import demo_polygon
    from marketlake.orchestrate.demo_reference import demo_reference
    from marketlake.orchestrate.demo_s3json import demo_s3json

    return DemoSources(
        reference=demo_reference(settings, samples, run),
        alphavantage=demo_alphavantage(settings, samples, run),
        s3json=demo_s3json(settings, samples, run),
        polygon=demo_polygon(settings, samples, run),
    )


def run_demo(
    settings: Settings, *, on_file: Callable[[FileResult], None] | None = None
) -> DemoResult:
    """Write sample data of every source format, run the whole flow; idempotent (run it twice)."""
    from marketlake.analytics.report import write_report
    from marketlake.sources.csv_daily.sample import write_daily_csvs
    from marketlake.warehouse import build_warehouse

    samples = settings.data_dir.absolute() / "samples"
    csv_set = write_daily_csvs(samples / "csv_daily")
    run = Run(open_lake(settings))
    report = ingest_csv(
        [str(p) for p in csv_set.files], settings=settings, run=run, on_file=on_file
    )
    sources = run_source_demos(settings, samples, run)
    futures = run_futures_demo(settings, samples, run)
    build = build_warehouse(settings, run=run)
    report_result = write_report(settings, run=run)
    return DemoResult(
        run_id=run.run_id,
        samples=samples,
        ingest=report,
        totals={s: lake_totals(settings, source=s) for s in DEMO_SOURCES},
        build=build,
        outputs=output_paths(settings),
        futures=futures,
        report=report_result,
        sources=sources,
    )
