"""marketlake's Dagster definitions: ``dagster dev -m marketlake.orchestrate.definitions``
(``marketlake orchestrate`` does that with ``DAGSTER_HOME`` under the data dir).

Every layer is an asset, each a thin wrapper of a step ``marketlake run`` calls: bronze and
silver per configured source (``ops.run.sources``; Polygon and S3 JSON partitioned by day),
bars and continuous contracts, the silver views dbt reads, the dbt models (dagster-dbt, from
the packaged project's manifest), the report. Jobs per source and ``gold``, a schedule per
source, a landing sensor (new file -> its source's ingest) and a silver -> gold sensor; retries
with exponential back-off from ``ops.retry`` (terminal errors are not retried); backfills of a
partition range run as one ingest of the range.
"""

from __future__ import annotations

import dagster as dg

from marketlake.config import Settings, get_settings
from marketlake.orchestrate import steps
from marketlake.orchestrate.dagster import assets, triggers
from marketlake.orchestrate.dagster.warehouse import warehouse_assets
from marketlake.orchestrate.graph import plan_steps
from marketlake.orchestrate.steps import Step


def build_definitions(settings: Settings) -> dg.Definitions:
    """The Dagster definitions for ``settings`` (``ops.run`` decides which sources exist).

    Raises:
        WarehouseError: the dbt project cannot be parsed.
    """
    plan = {step.name: step for step in plan_steps(settings)}
    sources = [s.source for s in plan.values() if s.source is not None]
    defined: list[dg.AssetsDefinition] = [
        assets.source_asset(settings, plan[f"ingest.{s}"]) for s in sources
    ]
    derived: list[dg.AssetsDefinition] = []
    for name in ("bars", "continuous"):
        if name in plan:
            needs = [n.removeprefix("ingest.") for n in plan[name].needs]
            derived.append(assets.derived_asset(settings, plan[name], needs))
    made = {"bars_info" if d.key.path[-1] == "bars_info" else "continuous" for d in derived}
    gold = warehouse_assets(settings, Step("build", steps.build_warehouse))
    downstream: list[dg.AssetsDefinition] = [*derived, gold]
    if settings.ops.run.report:
        downstream.append(assets.report_asset(settings, Step("report", steps.write_report), gold))
    return dg.Definitions(
        assets=[*defined, *downstream, *assets.silver_views(sources, made)],
        jobs=[
            *triggers.source_jobs(sources),
            triggers.gold_job(dg.AssetSelection.assets(*downstream)),
        ],
        schedules=triggers.schedules(settings, sources),
        sensors=[
            triggers.landing_sensor(settings, sources),
            triggers.silver_to_gold(settings, sources),
        ],
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Loaded by Dagster: the definitions of the process settings (file + environment)."""
    return build_definitions(get_settings())
