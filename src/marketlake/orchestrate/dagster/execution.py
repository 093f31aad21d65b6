"""How a Dagster asset runs one step: the ledger run of its Dagster run, one attempt, the
``pipeline.<step>`` row and alerts once the attempt is the last, and the errors Dagster
understands (a terminal error is a ``Failure`` that is not retried)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import dagster as dg

from marketlake.config import RetrySettings, Settings
from marketlake.lake import open_lake
from marketlake.ops.ledger import Run
from marketlake.orchestrate.runner import StepRecord, attempt_step, recorded_step
from marketlake.orchestrate.steps import Step, StepContext, Window


def retry_policy(retry: RetrySettings) -> dg.RetryPolicy:
    """Dagster's retry policy from ``ops.retry``: exponential back-off with jitter.

    Dagster's policy has no longest delay; ``max_delay_s`` applies to ``marketlake run`` only.
    """
    return dg.RetryPolicy(
        max_retries=retry.attempts - 1,
        delay=retry.first_delay_s,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS if retry.jitter > 0 else None,
    )


def ledger_run(context: dg.AssetExecutionContext, settings: Settings) -> Run:
    """The ledger run of this Dagster run: ``<its start, UTC>-dg<its id>``, shared by its steps."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    created = record.create_timestamp if record is not None else datetime.now(UTC)
    return Run(open_lake(settings), run_id=f"{created:%Y%m%dT%H%M%SZ}-dg{context.run.run_id[:6]}")


def partition_window(context: dg.AssetExecutionContext) -> Window:
    """The days of a partitioned run (one partition, or a backfill's range); empty when not."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return Window()
    keys = context.partition_key_range
    return Window(date.fromisoformat(keys.start), date.fromisoformat(keys.end))


def run_step(
    context: dg.AssetExecutionContext, settings: Settings, step: Step, window: Window
) -> StepRecord:
    """Run one attempt of ``step`` for an asset; raise what Dagster should retry or not.

    Raises:
        dagster.Failure: the step failed; retried by the asset's policy only when transient.
    """
    run = ledger_run(context, settings)
    ctx = StepContext(settings=settings, run=run, window=window)
    attempt = context.retry_number + 1

    def body() -> StepRecord:
        record = attempt_step(step, ctx)
        record.attempts = attempt
        return record

    retried_later = attempt < settings.ops.retry.attempts
    record = recorded_step(settings, run, step, body, retried_later=retried_later)
    error = record.error
    if error is not None:
        raise dg.Failure(
            description=str(error),
            metadata={"ledger_run": run.run_id, "transient": error.transient},
            allow_retries=error.transient,
        )
    return record


def step_metadata(record: StepRecord, run_id: str | None = None) -> dict[str, Any]:
    """What a materialization records: rows of new work, items, attempts, the ledger run."""
    meta: dict[str, Any] = {
        "rows_in": record.rows_in,
        "rows_out": record.rows_out,
        "rows_quarantined": record.rows_quarantined,
        "items": len(record.rows),
        "new_items": sum(1 for r in record.rows if r.status == "ok"),
        "seconds": record.seconds,
    }
    if record.rows:
        meta["ledger_run"] = run_id or record.rows[0].run_id
    return meta
