"""The dbt models as Dagster assets (dagster-dbt ``@dbt_assets`` over the packaged project).

The asset graph comes from the manifest (``dbt parse``, offline, see
:mod:`marketlake.orchestrate.dbt_manifest`): one asset ``gold/<node>`` per model and snapshot,
with dbt sources mapped to the silver assets. Materializing them runs the same build step as
``marketlake run`` (expose or load silver, replay symbol history, ``dbt build`` with its data
and unit tests, export gold): the warehouse is built whole, as dbt snapshots, tests and the
exports are one consistent step. A failed model or test fails the asset.
"""

from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from graphlib import TopologicalSorter
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets

from marketlake.config import Settings
from marketlake.orchestrate.dagster.assets import dbt_source_key
from marketlake.orchestrate.dagster.execution import retry_policy, run_step, step_metadata
from marketlake.orchestrate.dbt_manifest import prepare_manifest
from marketlake.orchestrate.steps import Step, Window


class MarketlakeTranslator(DagsterDbtTranslator):
    """dbt nodes -> ``gold/<name>`` (group ``gold``); dbt sources -> the silver assets."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> dg.AssetSpec:
        """The spec of one dbt node, with marketlake's keys and groups."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        if unique_id.startswith("source."):
            table = manifest["sources"][unique_id]["name"]
            return spec.replace_attributes(key=dbt_source_key(table))
        name = manifest["nodes"][unique_id]["name"]
        return spec.replace_attributes(key=dg.AssetKey(["gold", name]), group_name="gold")


def warehouse_assets(settings: Settings, step: Step) -> dg.AssetsDefinition:
    """Every dbt model and snapshot, materialized by the build step."""
    translator = MarketlakeTranslator(
        settings=DagsterDbtTranslatorSettings(enable_asset_checks=False)
    )

    @dbt_assets(
        manifest=prepare_manifest(settings),
        name="warehouse",
        dagster_dbt_translator=translator,
        retry_policy=retry_policy(settings.ops.retry),
    )
    def warehouse(context: AssetExecutionContext) -> Iterator[dg.MaterializeResult[None]]:
        record = run_step(context, settings, step, Window())
        meta = step_metadata(record)
        build = record.outcome.report if record.outcome is not None else None
        exports: dict[str, str] = build.exports if build is not None else {}
        if build is not None:
            meta.update(models_built=build.models_built, tests_passed=build.tests_passed)
        for key in _in_dependency_order(context.assets_def, context.selected_asset_keys):
            extra = {"gold_parquet": exports[key.path[-1]]} if key.path[-1] in exports else {}
            yield dg.MaterializeResult(asset_key=key, metadata={**meta, **extra})

    return warehouse


def _in_dependency_order(
    assets_def: dg.AssetsDefinition, selected: AbstractSet[dg.AssetKey]
) -> list[dg.AssetKey]:
    """The selected keys, each after the keys it depends on (Dagster asks for that order)."""
    graph = {
        spec.key: {d.asset_key for d in spec.deps if d.asset_key in selected}
        for spec in assets_def.specs
        if spec.key in selected
    }
    return list(TopologicalSorter(graph).static_order())
