"""Dagster's assets, materialized in process for one partition, write what `marketlake run`
writes for that day: the same silver (every file, every row) and the same gold."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from marketlake.lake import open_lake
from marketlake.ops.ledger import read_ledger
from marketlake.orchestrate.definitions import build_definitions
from marketlake.orchestrate.graph import plan_steps
from marketlake.orchestrate.runner import run_pipeline
from marketlake.orchestrate.steps import Window

from .inputs import DAY, configured, every_source, parquet_tree

pytestmark = pytest.mark.integration


def test_materialized_assets_equal_the_in_process_run(tmp_path: Path) -> None:
    run_config = every_source(tmp_path / "inputs")
    by_run = configured(tmp_path / "by_run", run_config)
    by_dagster = configured(tmp_path / "by_dagster", run_config)

    result = run_pipeline(by_run, plan_steps(by_run), window=Window(DAY, DAY))
    assert result.ok, [(s.name, str(s.error)) for s in result.failed]

    defs = build_definitions(by_dagster)
    done = dg.materialize(list(defs.assets or []), partition_key=DAY.isoformat(),
                          instance=dg.DagsterInstance.ephemeral())  # fmt: skip
    assert done.success
    materialized = {e.asset_key.to_user_string() for e in done.get_asset_materialization_events()}
    assert {"bronze/polygon", "silver/hdf5", "silver/bars_info", "silver/continuous",
            "gold/fct_daily_bars", "gold/dim_symbol"} <= materialized  # fmt: skip

    silver_run = _silver(Path(by_run.lake_uri))
    silver_dagster = _silver(Path(by_dagster.lake_uri))
    assert sorted(silver_run) == sorted(silver_dagster)
    datasets = {k.split("/")[0] for k in silver_run}
    assert {"bars", "trades", "quotes", "symbols", "indicators", "bars_info", "continuous",
            "_quarantine"} <= datasets  # fmt: skip
    for key, table in silver_run.items():
        assert table.equals(silver_dagster[key]), key
    # only the partition's day of the dated sources was read, by both
    polygon_days = {r.target.rsplit("/", 1)[-1] for r in read_ledger(open_lake(by_dagster))
                    if r.step == "ingest.polygon"}  # fmt: skip
    assert polygon_days == {f"{DAY}.csv.gz"}

    gold_run = _gold(Path(by_run.gold_uri))
    gold_dagster = _gold(Path(by_dagster.gold_uri))
    assert sorted(gold_run) == sorted(gold_dagster)
    assert "fct_prices.parquet" in gold_run
    for key, table in gold_run.items():
        assert table.equals(gold_dagster[key]), key


def _silver(lake: Path) -> dict[str, object]:
    """Silver datasets and quarantine; not the continuous builder's private cache, whose
    file names carry the trade files' modification times."""
    tree = parquet_tree(lake / "silver")
    return {k: v for k, v in tree.items() if not k.startswith("_derived/cache/")}


def _gold(gold: Path) -> dict[str, pa.Table]:
    """Every gold mart, without the times each lake landed its files (``*landed_at``)."""
    return {
        key: table.drop_columns([c for c in table.column_names if c.endswith("landed_at")])
        for key, table in parquet_tree(gold).items()
    }
