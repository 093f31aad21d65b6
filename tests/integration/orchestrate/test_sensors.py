"""Data-aware triggering: a new file at a source asks for its ingest (its day, when dated), an
unchanged landing area asks for nothing; new silver asks for gold."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from marketlake.orchestrate.definitions import build_definitions
from marketlake.sources.csv_daily.sample import write_daily_csvs

from .inputs import DAY, configured, polygon_sample

pytestmark = pytest.mark.integration


def _evaluate(defs: dg.Definitions, name: str, instance: dg.DagsterInstance, cursor: str | None):  # type: ignore[no-untyped-def]
    sensor = defs.resolve_sensor_def(name)
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    return sensor.evaluate_tick(context)


def _requests(result) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    return sorted(
        ("+".join(sorted(k.to_user_string() for k in r.asset_selection or [])), r.partition_key)
        for r in result.run_requests or []
    )


def test_a_new_landing_file_asks_for_its_ingest_and_an_unchanged_lake_for_nothing(
    tmp_path: Path,
) -> None:
    csv = tmp_path / "landing" / "csv"
    write_daily_csvs(csv, symbols=("AAPL",))
    flat = polygon_sample(tmp_path / "landing" / "polygon", days=2)
    lookback = (datetime.now(UTC).date() - DAY).days + 2  # the sample's days are in the window
    settings = configured(tmp_path / "data", {"sources": {
        "csv_daily": {"paths": [str(csv)]},
        "polygon": {"datasets": ["us_stocks_sip/day_aggs_v1"], "uri": str(flat),
                    "lookback_days": lookback},
    }})  # fmt: skip
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()

    first = _evaluate(defs, "landing_sensor", instance, None)
    assert _requests(first) == [
        ("bronze/csv_daily+silver/csv_daily", None),
        ("bronze/polygon+silver/polygon", "2024-01-02"),
        ("bronze/polygon+silver/polygon", "2024-01-03"),
    ]
    unchanged = _evaluate(defs, "landing_sensor", instance, first.cursor)
    assert _requests(unchanged) == []

    write_daily_csvs(csv, symbols=("IBM",))  # a new file lands
    new_csv = _evaluate(defs, "landing_sensor", instance, unchanged.cursor)
    assert _requests(new_csv) == [("bronze/csv_daily+silver/csv_daily", None)]

    day = flat / "us_stocks_sip" / "day_aggs_v1" / "2024" / "01"
    shutil.copy(day / "2024-01-03.csv.gz", day / "2024-01-05.csv.gz")  # the vendor's new day
    new_day = _evaluate(defs, "landing_sensor", instance, new_csv.cursor)
    assert _requests(new_day) == [("bronze/polygon+silver/polygon", "2024-01-05")]
    assert _requests(_evaluate(defs, "landing_sensor", instance, new_day.cursor)) == []


def test_new_silver_asks_for_gold_once(tmp_path: Path) -> None:
    csv = tmp_path / "landing" / "csv"
    write_daily_csvs(csv, symbols=("AAPL",))
    settings = configured(tmp_path / "data", {"sources": {"csv_daily": {"paths": [str(csv)]}}})
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    nothing = _evaluate(defs, "silver_to_gold", instance, None)
    assert not nothing.run_requests

    silver = dg.AssetSelection.assets(["bronze", "csv_daily"], ["silver", "csv_daily"])
    assert dg.materialize(list(defs.assets or []), selection=silver, instance=instance).success
    changed = _evaluate(defs, "silver_to_gold", instance, nothing.cursor)
    (request,) = changed.run_requests or []
    assert defs.resolve_sensor_def("silver_to_gold").job_name == "gold_job"
    assert request.tags["marketlake/changed"] == "silver/csv_daily"
    assert not _evaluate(defs, "silver_to_gold", instance, changed.cursor).run_requests
