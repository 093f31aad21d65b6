"""A backfill over a date range reads each day once; running it again changes nothing."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from marketlake.lake import open_lake
from marketlake.ops.ledger import read_ledger
from marketlake.orchestrate.definitions import build_definitions

from .inputs import configured, polygon_sample

pytestmark = pytest.mark.integration

RANGE = {"dagster/asset_partition_range_start": "2024-01-02",
         "dagster/asset_partition_range_end": "2024-01-04"}  # fmt: skip


def _silver_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


def test_a_backfill_processes_each_partition_once_and_a_rerun_changes_nothing(
    tmp_path: Path,
) -> None:
    flat = polygon_sample(tmp_path / "flatfiles", days=4)  # 2024-01-02 .. 2024-01-05
    datasets = ["us_stocks_sip/trades_v1", "us_stocks_sip/day_aggs_v1"]
    settings = configured(tmp_path / "data", {"sources": {"polygon": {
        "datasets": datasets, "uri": str(flat)}}, "build": False})  # fmt: skip
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    polygon = dg.AssetSelection.assets(["bronze", "polygon"], ["silver", "polygon"])

    first = dg.materialize(list(defs.assets or []), selection=polygon, tags=RANGE,
                           instance=instance)  # fmt: skip
    assert first.success
    parts = sorted((e.asset_key.to_user_string(), e.partition)
                   for e in first.get_asset_materialization_events())  # fmt: skip
    days = ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert parts == sorted([("bronze/polygon", d) for d in days] +
                           [("silver/polygon", d) for d in days])  # fmt: skip
    lake = open_lake(settings)
    rows = [r for r in read_ledger(lake) if r.step == "ingest.polygon"]
    targets = sorted(r.target for r in rows)
    expected = sorted(f"{ds}/2024/01/{d}.csv.gz" for ds in datasets for d in days)
    assert targets == expected  # each day of each dataset once, and not the 5th
    assert {r.status for r in rows} == {"ok"}
    silver = Path(settings.lake_uri) / "silver"
    before = _silver_bytes(silver)

    again = dg.materialize(list(defs.assets or []), selection=polygon, tags=RANGE,
                           instance=instance)  # fmt: skip
    assert again.success
    ledger_run = f"-dg{again.run_id[:6]}"  # the ledger run of the second Dagster run
    newer = [r for r in read_ledger(lake) if r.run_id.endswith(ledger_run)]
    # the listing shows every file unchanged: none is downloaded, landed or published again
    assert [(r.step, r.status) for r in newer] == [("pipeline.ingest.polygon", "ok")]
    assert _silver_bytes(silver) == before
    silver_meta = [e.materialization.metadata for e in again.get_asset_materialization_events()
                   if e.asset_key == dg.AssetKey(["silver", "polygon"])]  # fmt: skip
    assert {m["new_items"].value for m in silver_meta} == {0}
