"""``marketlake demo`` as a run: the samples of every source format, configured as ``ops.run``
sources, then the same steps and runner as ``marketlake run`` (retries, ledger, alerts).

The samples are deterministic (the same bytes every time; the Polygon flat files and the ES
tick file are written once), so a second demo lands nothing new and builds the same gold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from marketlake.config import (
    ReferenceFile,
    RunAlphaVantageSettings,
    RunBarsRequest,
    RunContinuousRequest,
    RunCsvDailySettings,
    RunHdf5Settings,
    RunPolygonSettings,
    RunReferenceSettings,
    RunS3JsonSettings,
    RunSettings,
    RunSourcesSettings,
    S3JsonFeed,
    Settings,
)
from marketlake.lake import open_lake
from marketlake.ops.ledger import Run
from marketlake.orchestrate.graph import plan_steps
from marketlake.orchestrate.runner import PipelineResult, run_pipeline
from marketlake.orchestrate.steps import Window

if TYPE_CHECKING:
    from datetime import date

    from marketlake.orchestrate.pipeline import DemoResult
    from marketlake.sources.alphavantage.sample import AlphaVantageSamples
    from marketlake.sources.csv_daily.sample import SampleSet
    from marketlake.sources.reference.sample import ReferenceSamples
    from marketlake.sources.s3_json.sample import SampleTree

S3JSON_KINDS = ("prices", "indicators", "anomalies")


@dataclass(frozen=True)
class DemoSamples:
    """The sample inputs of every source, written under ``<data_dir>/samples``."""

    root: Path
    csv: SampleSet
    reference: ReferenceSamples
    alphavantage: AlphaVantageSamples
    s3json: SampleTree
    polygon: Path
    polygon_days: list[date]
    es: Path


def write_demo_samples(root: Path) -> DemoSamples:
    """Write (or find) the sample data of every source format under ``root``."""
    from marketlake.orchestrate.demo_polygon import (
        DEMO_POLYGON_DAYS,
        DEMO_POLYGON_START,
        write_polygon_sample,
    )
    from marketlake.orchestrate.pipeline import DEMO_ES_TRADES, DEMO_ES_TRADES_PER_DAY
    from marketlake.sources.alphavantage.sample import write_alphavantage_payloads
    from marketlake.sources.csv_daily.sample import write_daily_csvs
    from marketlake.sources.hdf5_ticks.sample import write_es_h5
    from marketlake.sources.polygon.sample import trading_days
    from marketlake.sources.reference.sample import write_reference_files
    from marketlake.sources.s3_json.sample import write_s3json_tree

    es = root / "hdf5" / "ES.h5"
    if not es.exists():  # landed by hard link and made read-only: never rewritten
        es.parent.mkdir(parents=True, exist_ok=True)
        write_es_h5(es, trades=DEMO_ES_TRADES, trades_per_day=DEMO_ES_TRADES_PER_DAY,
                    faults=20, seed=7)  # fmt: skip
    return DemoSamples(
        root=root,
        csv=write_daily_csvs(root / "csv_daily"),
        reference=write_reference_files(root / "reference"),
        alphavantage=write_alphavantage_payloads(root / "alphavantage"),
        s3json=write_s3json_tree(root / "s3_json"),
        polygon=write_polygon_sample(root),
        polygon_days=trading_days(DEMO_POLYGON_START, DEMO_POLYGON_DAYS),
        es=es,
    )


def demo_run_settings(samples: DemoSamples) -> RunSettings:
    """``ops.run`` reading the samples: every source, the ES bars and continuous contract."""
    from datetime import UTC, datetime

    from marketlake.orchestrate.pipeline import DEMO_BARS_PER_DAY, DEMO_TIME_BARS
    from marketlake.sources.polygon.sample import SAMPLE_DATASETS
    from marketlake.sources.s3_json.sample import INTERVAL

    ref = samples.reference
    second_as_of = datetime.combine(ref.second_as_of, datetime.min.time(), tzinfo=UTC)
    sources = RunSourcesSettings(
        csv_daily=RunCsvDailySettings(paths=[str(p) for p in samples.csv.files]),
        reference=RunReferenceSettings(files=[
            ReferenceFile(path=str(ref.first)),
            ReferenceFile(path=str(ref.second), as_of=second_as_of),
        ]),
        alphavantage=RunAlphaVantageSettings(
            files=[str(p) for p in samples.alphavantage.files]
        ),
        s3_json=RunS3JsonSettings(feeds=[
            S3JsonFeed(url=str(samples.s3json.root / kind), kind=kind, interval=INTERVAL)
            for kind in S3JSON_KINDS
        ]),
        polygon=RunPolygonSettings(datasets=list(SAMPLE_DATASETS), uri=str(samples.polygon)),
        hdf5=RunHdf5Settings(files=[str(samples.es)]),
    )  # fmt: skip
    bars = [RunBarsRequest(kind="time", interval=DEMO_TIME_BARS)]
    bars += [RunBarsRequest(kind=k, bars_per_day=DEMO_BARS_PER_DAY)
             for k in ("tick", "volume", "dollar")]  # fmt: skip
    continuous = [RunContinuousRequest(root="ES", roll="volume", adjust="difference")]
    return RunSettings(sources=sources, bars=bars, continuous=continuous)


def demo_window(samples: DemoSamples) -> Window:
    """The days of the dated samples: the Polygon days (they hold the S3 JSON hours too)."""
    return Window(samples.polygon_days[0], samples.polygon_days[-1])


def run_demo_flow(settings: Settings) -> DemoResult:
    """Write the samples, run every step over them, and say what happened (see the module docs).

    Raises:
        MarketLakeError: the first step that failed (after its retries), once the other
            branches have run.
    """
    samples = write_demo_samples(settings.data_dir.absolute() / "samples")
    ops = settings.ops.model_copy(update={"run": demo_run_settings(samples)})
    configured = settings.model_copy(update={"ops": ops})
    run = Run(open_lake(settings))
    result = run_pipeline(configured, plan_steps(configured), window=demo_window(samples), run=run)
    for record in result.failed:
        assert record.error is not None
        raise record.error
    return _demo_result(settings, samples, result)


def _demo_result(settings: Settings, samples: DemoSamples, result: PipelineResult) -> DemoResult:
    from marketlake.lake.totals import lake_totals
    from marketlake.orchestrate.demo_alphavantage import AlphaVantageDemo
    from marketlake.orchestrate.demo_polygon import PolygonDemo
    from marketlake.orchestrate.demo_reference import ReferenceDemo
    from marketlake.orchestrate.demo_s3json import S3JsonDemo
    from marketlake.orchestrate.pipeline import (
        DEMO_SOURCES,
        DemoResult,
        DemoSources,
        FuturesDemo,
        output_paths,
    )

    def report(step: str):  # type: ignore[no-untyped-def]  # each step's own report type
        outcome = result.step(step).outcome
        assert outcome is not None
        return outcome.report

    first, second = report("ingest.reference")
    s3json = {key.split(":", 1)[0]: r for key, r in report("ingest.s3_json").items()}
    return DemoResult(
        run_id=result.run_id,
        samples=samples.root,
        ingest=report("ingest.csv_daily"),
        totals={s: lake_totals(settings, source=s) for s in DEMO_SOURCES},
        build=report("build"),
        outputs=output_paths(settings),
        futures=FuturesDemo(
            hdf5=report("ingest.hdf5")[0],
            bars=report("bars"),
            continuous=report("continuous")[0],
        ),
        report=report("report"),
        sources=DemoSources(
            reference=ReferenceDemo(samples=samples.reference, first=first, second=second),
            alphavantage=AlphaVantageDemo(samples.alphavantage, report("ingest.alphavantage")[0]),
            s3json=S3JsonDemo(tree=samples.s3json, reports=s3json),
            polygon=PolygonDemo(folder=samples.polygon, reports=report("ingest.polygon")),
        ),
    )
