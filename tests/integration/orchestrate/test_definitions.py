"""The Dagster definitions load and validate (`marketlake orchestrate` loads them as
`dagster dev` does: see test_cli.py)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from marketlake.orchestrate.definitions import build_definitions

from .inputs import configured

pytestmark = pytest.mark.integration

RUN = {
    "sources": {
        "csv_daily": {"paths": ["csv/"], "cron": "15 6 * * 1-5"},
        "polygon": {"datasets": ["us_stocks_sip/trades_v1"], "uri": "flatfiles/"},
        "hdf5": {"files": ["ES.h5"]},
    },
    "bars": [{"kind": "tick", "threshold": 100}],
    "continuous": [{"root": "ES"}],
}


def test_definitions_validate_with_every_layer_as_an_asset(tmp_path: Path) -> None:
    settings = configured(tmp_path / "data", RUN, retry={"attempts": 4, "first_delay_s": 3})
    defs = build_definitions(settings)
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"bronze/csv_daily", "silver/csv_daily", "bronze/polygon", "silver/hdf5",
            "silver/bars_info", "silver/continuous", "gold/fct_daily_bars", "gold/dim_symbol",
            "gold/snap_symbols", "reports/html"} <= keys  # fmt: skip
    assert "bronze/reference" not in keys  # not configured: not an asset

    def parents(key: str) -> set[str]:
        return {
            p.to_user_string() for p in graph.get(dg.AssetKey.from_user_string(key)).parent_keys
        }

    # lineage: source -> silver view -> dbt staging -> marts; ticks -> bars -> dbt
    assert parents("silver/csv_daily") == {"bronze/csv_daily"}
    assert parents("silver/bars") == {"silver/csv_daily", "silver/polygon"}
    assert "silver/bars" in parents("gold/stg_silver__bars")
    assert parents("silver/bars_info") == {"silver/polygon", "silver/hdf5"}
    assert "silver/bars_info" in parents("gold/stg_silver__bars_info")

    polygon = graph.get(dg.AssetKey(["silver", "polygon"]))
    assert isinstance(polygon.partitions_def, dg.DailyPartitionsDefinition)
    assert polygon.partitions_def.get_first_partition_key() == "2024-01-01"
    assert graph.get(dg.AssetKey(["silver", "csv_daily"])).partitions_def is None
    assert graph.get(dg.AssetKey(["silver", "hdf5"])).partitions_def is None

    policy = graph.get(dg.AssetKey(["silver", "csv_daily"])).assets_def.op.retry_policy
    assert policy is not None
    assert (policy.max_retries, policy.delay, policy.backoff) == (3, 3, dg.Backoff.EXPONENTIAL)

    schedules = {s.name: s for s in repo.schedule_defs}
    assert set(schedules) == {"csv_daily_schedule", "polygon_schedule", "hdf5_schedule"}
    assert schedules["csv_daily_schedule"].cron_schedule == "15 6 * * 1-5"
    assert {s.name for s in repo.sensor_defs} == {"landing_sensor", "silver_to_gold"}
    assert {"csv_daily_job", "polygon_job", "hdf5_job", "gold_job"} <= {
        j.name for j in repo.get_all_jobs()
    }
    assert repo.get_job("polygon_job").partitions_def is not None
