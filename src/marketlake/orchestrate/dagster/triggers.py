"""Jobs, a schedule per source, and the data-aware sensors.

- ``ingest_<source>`` jobs (daily-partitioned for Polygon and S3 JSON) and the ``gold`` job
  (bars, continuous contracts, the dbt models, the report).
- A schedule per source (``ops.run.sources.<source>.cron``, UTC): Polygon asks for yesterday's
  partition (the vendor completes a day the next morning), S3 JSON for today's.
- ``landing_sensor``: a new or changed file at a source (:mod:`marketlake.orchestrate.landing`)
  asks for that source's ingest (for its day when dated); the cursor holds the digests seen, so
  an unchanged landing area asks for nothing.
- ``silver_to_gold``: a new materialization of any source's silver asks for the ``gold`` job.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster import (
    ScheduleEvaluationContext,
    SensorEvaluationContext,
)

from marketlake.config import Settings
from marketlake.errors import MarketLakeError
from marketlake.orchestrate.dagster.assets import (
    PARTITIONED,
    bronze_key,
    daily_partitions,
    silver_key,
)
from marketlake.orchestrate.landing import UNDATED, changed_partitions, landing_state

GOLD_JOB = "gold_job"


def job_name(source: str) -> str:
    """The ingest job of a source."""
    return f"{source}_job"


def source_jobs(sources: Sequence[str]) -> list[dg.UnresolvedAssetJobDefinition]:
    """One job per source selecting its bronze and silver assets (daily-partitioned for the
    dated sources, as their assets are)."""
    return [
        dg.define_asset_job(
            job_name(source),
            selection=dg.AssetSelection.assets(["bronze", source], ["silver", source]),
            description=f"Ingest {source}: land new deliveries in bronze, publish to silver.",
        )
        for source in sources
    ]


def gold_job(selection: dg.AssetSelection) -> dg.UnresolvedAssetJobDefinition:
    """Derived silver, the warehouse and the report."""
    return dg.define_asset_job(
        GOLD_JOB, selection=selection, description="Bars, continuous, dbt build, gold, report."
    )


def _status(running: bool) -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED


def schedules(settings: Settings, sources: Sequence[str]) -> list[dg.ScheduleDefinition]:
    """A schedule per source (see the module docs)."""
    config = settings.ops.run.sources
    status = _status(settings.ops.dagster.schedules_running)
    out: list[dg.ScheduleDefinition] = []
    for source in sources:
        cron: str = getattr(config, source).cron
        if source not in PARTITIONED:
            out.append(
                dg.ScheduleDefinition(
                    name=f"{source}_schedule",
                    cron_schedule=cron,
                    job_name=job_name(source),
                    execution_timezone="UTC",
                    default_status=status,
                )
            )
            continue
        out.append(
            _daily_schedule(source, cron, days_back=1 if source == "polygon" else 0, status=status)
        )
    return out


def _daily_schedule(
    source: str, cron: str, *, days_back: int, status: dg.DefaultScheduleStatus
) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"{source}_schedule",
        cron_schedule=cron,
        job_name=job_name(source),
        execution_timezone="UTC",
        default_status=status,
    )
    def daily(context: ScheduleEvaluationContext) -> dg.RunRequest:
        day = context.scheduled_execution_time.date() - timedelta(days=days_back)
        return dg.RunRequest(run_key=f"{source}:{day}", partition_key=day.isoformat())

    return daily


def landing_sensor(settings: Settings, sources: Sequence[str]) -> dg.SensorDefinition:
    """New or changed files at a source -> that source's ingest (see the module docs)."""
    partitions = daily_partitions(settings)

    @dg.sensor(
        name="landing_sensor",
        minimum_interval_seconds=settings.ops.dagster.sensor_interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="A new file at a source asks for its ingest (bronze -> silver).",
        asset_selection=dg.AssetSelection.assets(
            *(key for s in sources for key in (["bronze", s], ["silver", s]))
        ),
    )
    def sensor(context: SensorEvaluationContext) -> dg.SensorResult:
        seen: dict[str, dict[str, str]] = json.loads(context.cursor or "{}")
        now = datetime.now(UTC)
        valid = set(partitions.get_partition_keys(current_time=now))
        cursor: dict[str, dict[str, str]] = {}
        requests: list[dg.RunRequest] = []
        for source in sources:
            try:
                state = landing_state(settings, source, now=now)
            except MarketLakeError as exc:
                context.log.warning(f"cannot list {source}: {exc}")
                cursor[source] = seen.get(source, {})
                continue
            for part in changed_partitions(seen.get(source, {}), state):
                if part != UNDATED and part not in valid:
                    context.log.info(f"{source}: {part} is outside the daily partitions")
                    continue
                requests.append(
                    dg.RunRequest(
                        run_key=f"{source}:{part}:{state[part]}",
                        asset_selection=[bronze_key(source), silver_key(source)],
                        partition_key=part or None,
                        tags={"marketlake/trigger": "landing", "marketlake/source": source},
                    )
                )
            cursor[source] = state
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True))

    return sensor


def silver_to_gold(settings: Settings, sources: Sequence[str]) -> dg.SensorDefinition:
    """Any source's silver materialized since the last look -> one run of the gold job.

    The cursor holds the storage id of each silver asset's latest materialization seen.
    """
    keys = [silver_key(s) for s in sources]

    @dg.sensor(
        name="silver_to_gold",
        job_name=GOLD_JOB,
        minimum_interval_seconds=settings.ops.dagster.sensor_interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Silver changed -> bars, continuous, dbt build, gold, report.",
    )
    def sensor(context: SensorEvaluationContext) -> dg.SensorResult:
        seen: dict[str, int] = json.loads(context.cursor or "{}")
        latest: dict[str, int] = {}
        for record in context.instance.get_asset_records(keys):
            last = record.asset_entry.last_materialization_record
            if last is not None:
                latest[record.asset_entry.asset_key.to_user_string()] = last.storage_id
        changed = sorted(k for k, storage_id in latest.items() if seen.get(k) != storage_id)
        cursor = json.dumps(latest, sort_keys=True)
        if not changed:
            return dg.SensorResult(skip_reason="no silver materialized since gold", cursor=cursor)
        request = dg.RunRequest(
            run_key=f"silver:{max(latest[k] for k in changed)}",
            tags={"marketlake/trigger": "silver", "marketlake/changed": ",".join(changed)[:200]},
        )
        return dg.SensorResult(run_requests=[request], cursor=cursor)

    return sensor
