"""Assets of the lake: bronze and silver per source, derived silver (bars, continuous), the
silver views dbt reads, and the report. Each is a thin wrapper of a step of
:mod:`marketlake.orchestrate.steps` (through ``execution.run_step``).

Keys: ``bronze/<source>`` and ``silver/<source>`` (one multi-asset per configured source: its
ingest lands in bronze and publishes to silver in one pass), ``silver/bars_info``,
``silver/continuous``, the views ``silver/bars``, ``silver/ingests``, ``silver/symbols``,
``silver/indicators``, ``silver/anomalies``, ``silver/trading_calendar`` (external: the
warehouse build exposes them; they stand for the dbt sources and carry the lineage from the
sources that write them), ``gold/<model>`` (see ``warehouse.py``) and ``reports/html``.
"""

from collections.abc import Iterator, Sequence

import dagster as dg
from dagster import AssetExecutionContext

from marketlake.config import Settings
from marketlake.orchestrate.dagster.execution import (
    partition_window,
    retry_policy,
    run_step,
    step_metadata,
)
from marketlake.orchestrate.graph import SOURCES
from marketlake.orchestrate.steps import Step, Window

PARTITIONED = ("polygon", "s3_json")  # daily partitions (Polygon day files, S3 JSON hours)
# The silver tables the dbt project reads (its sources), and the sources that write each.
SILVER_VIEWS: dict[str, tuple[str, ...]] = {
    "bars": ("csv_daily", "alphavantage", "s3_json", "polygon"),
    "ingests": SOURCES,
    "symbols": ("reference",),
    "indicators": ("s3_json",),
    "anomalies": ("s3_json",),
    "trading_calendar": (),
}
DERIVED = {"bars_info": "bars_info", "continuous": "continuous", "continuous_rolls": "continuous"}


def bronze_key(source: str) -> dg.AssetKey:
    """The bronze asset of a source."""
    return dg.AssetKey(["bronze", source])


def silver_key(source: str) -> dg.AssetKey:
    """The silver asset of a source (its rows in every silver dataset it writes)."""
    return dg.AssetKey(["silver", source])


def dbt_source_key(table: str) -> dg.AssetKey:
    """The asset a dbt source table ``silver.<table>`` stands for."""
    return dg.AssetKey(["silver", DERIVED.get(table, table)])


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """Days (UTC) from ``ops.dagster.partitions_start`` to today included."""
    start = settings.ops.dagster.partitions_start.isoformat()
    return dg.DailyPartitionsDefinition(start_date=start, end_offset=1)


def source_asset(settings: Settings, step: Step) -> dg.AssetsDefinition:
    """``bronze/<source>`` + ``silver/<source>``, materialized by the source's ingest step.

    Polygon and S3 JSON are partitioned by day; a backfill runs its whole range as one
    ingest (``BackfillPolicy.single_run``), each day read once.
    """
    assert step.source is not None
    source = step.source
    partitioned = source in PARTITIONED
    partitions = daily_partitions(settings) if partitioned else None
    bronze, silver = bronze_key(source), silver_key(source)

    @dg.multi_asset(
        name=f"ingest_{source}",
        specs=[
            dg.AssetSpec(
                bronze,
                group_name="bronze",
                kinds={"parquet"},
                description=f"Raw deliveries of {source}, content-addressed, once each.",
            ),
            dg.AssetSpec(
                silver,
                deps=[bronze],
                group_name="silver",
                kinds={"parquet"},
                description=f"Validated rows of {source} in silver, and its quarantine.",
            ),
        ],
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run() if partitioned else None,
        retry_policy=retry_policy(settings.ops.retry),
    )
    def ingest(context: AssetExecutionContext) -> Iterator[dg.MaterializeResult[None]]:
        record = run_step(context, settings, step, partition_window(context))
        meta = step_metadata(record)
        yield dg.MaterializeResult(
            asset_key=bronze,
            metadata={
                "deliveries": meta["items"],
                "new_deliveries": meta["new_items"],
                "bytes": sum(r.bytes for r in record.rows if r.status == "ok"),
            },
        )
        yield dg.MaterializeResult(asset_key=silver, metadata=meta)

    return ingest


def derived_asset(settings: Settings, step: Step, needs: Sequence[str]) -> dg.AssetsDefinition:
    """``silver/bars_info`` or ``silver/continuous``, built from the silver trades."""
    key = dg.AssetKey(["silver", "bars_info" if step.name == "bars" else "continuous"])
    what = "Information-driven and time bars" if step.name == "bars" else "Continuous contracts"

    @dg.asset(
        key=key,
        deps=[silver_key(s) for s in needs],
        group_name="silver",
        kinds={"parquet"},
        description=f"{what} from silver trades (unchanged series are skipped).",
        retry_policy=retry_policy(settings.ops.retry),
    )
    def derived(context: AssetExecutionContext) -> dg.MaterializeResult[None]:
        record = run_step(context, settings, step, Window())
        return dg.MaterializeResult(metadata=step_metadata(record))

    return derived


def silver_views(sources: Sequence[str], defined: set[str]) -> list[dg.AssetSpec]:
    """The silver tables dbt reads, as external assets with their writers as deps; derived
    tables whose step is not configured here are external too (built by ``marketlake bars``)."""
    specs = [
        dg.AssetSpec(
            dg.AssetKey(["silver", table]),
            deps=[silver_key(s) for s in writers if s in sources],
            group_name="silver",
            description=f"silver.{table} as the warehouse sees it (exposed by the build).",
        )
        for table, writers in SILVER_VIEWS.items()
    ]
    for name in sorted(set(DERIVED.values()) - defined):
        specs.append(
            dg.AssetSpec(
                dg.AssetKey(["silver", name]),
                group_name="silver",
                description=f"silver.{name}, built outside these assets.",
            )
        )
    return specs


def report_asset(settings: Settings, step: Step, gold: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """``reports/html``: the HTML report, after the warehouse."""

    @dg.asset(
        key=dg.AssetKey(["reports", "html"]),
        deps=list(gold.keys),
        group_name="reports",
        description="The self-contained HTML report (bar statistics, indicators, quality).",
        retry_policy=retry_policy(settings.ops.retry),
    )
    def report(context: AssetExecutionContext) -> dg.MaterializeResult[None]:
        record = run_step(context, settings, step, Window())
        meta = step_metadata(record)
        if record.outcome is not None:
            meta["path"] = dg.MetadataValue.path(str(record.outcome.report.path))
        return dg.MaterializeResult(metadata=meta)

    return report
