"""The in-process runner of ``marketlake run``: the step graph in dependency order, with retries.

Each step is tried up to ``ops.retry.attempts`` times while it fails with a transient error
(exponential back-off from ``first_delay_s``, doubled per retry up to ``max_delay_s``, times a
jitter in ``[1 - jitter, 1]``); a terminal error is never retried. A failed step stops its
branch: every step that needs it is skipped, the others run. Each step gets a
``pipeline.<step>`` ledger row (status, attempts, rows of new work, error) besides the rows of
its items, one structured log event, and an alert when it failed for good or when its source
quarantined more than ``ops.alerts.quarantine_rate`` of the rows it read.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

from marketlake.config import RetrySettings, Settings
from marketlake.errors import MarketLakeError, TerminalError
from marketlake.lake import open_lake
from marketlake.ops.alerts import alert_payload, send_alert
from marketlake.ops.freshness import Freshness, check_freshness
from marketlake.ops.ledger import LedgerRow, Run
from marketlake.orchestrate.steps import (
    Step,
    StepContext,
    StepOutcome,
    Window,
    new_rows,
    outcome_error,
)

log = logging.getLogger(__name__)

StepStatus = Literal["ok", "failed", "skipped"]


@dataclass
class StepRecord:
    """How one step of a run went."""

    name: str
    status: StepStatus
    attempts: int = 0
    seconds: float = 0.0
    rows: list[LedgerRow] = field(default_factory=list)  # item rows, every attempt
    outcome: StepOutcome | None = None  # of the last attempt
    error: MarketLakeError | None = None
    skipped_because: str | None = None  # the failed step it needed

    @property
    def rows_in(self) -> int:
        """Rows read by new work (status ok items)."""
        return sum(r.rows_in for r in new_rows(self.rows))

    @property
    def rows_out(self) -> int:
        """Rows written by new work."""
        return sum(r.rows_out for r in new_rows(self.rows))

    @property
    def rows_quarantined(self) -> int:
        """Rows quarantined by new work."""
        return sum(r.rows_quarantined for r in new_rows(self.rows))


@dataclass
class PipelineResult:
    """What one run did, step by step, and the freshness of its sources afterwards."""

    run_id: str
    steps: list[StepRecord]
    freshness: list[Freshness] = field(default_factory=list)

    @property
    def failed(self) -> list[StepRecord]:
        """Steps that failed (not those skipped because of them)."""
        return [s for s in self.steps if s.status == "failed"]

    @property
    def ok(self) -> bool:
        """Every step ran and succeeded."""
        return all(s.status == "ok" for s in self.steps)

    def step(self, name: str) -> StepRecord:
        """The record of one step (KeyError when the run had no such step)."""
        for record in self.steps:
            if record.name == name:
                return record
        raise KeyError(name)


def backoff_delay(retry: RetrySettings, attempt: int) -> float:
    """The wait after failed attempt ``attempt`` (1-based): doubled per attempt, capped,
    jittered."""
    base = min(retry.max_delay_s, retry.first_delay_s * 2.0 ** (attempt - 1))
    return float(base * random.uniform(1 - retry.jitter, 1.0))


def run_once(step: Step, ctx: StepContext) -> tuple[StepOutcome | None, MarketLakeError | None]:
    """One attempt of a step: its outcome, and the error it ended with (None: success).

    An exception that is not a ``MarketLakeError`` is a bug, reported as terminal.
    """
    try:
        outcome = step.fn(ctx)
    except MarketLakeError as exc:
        return None, exc
    except Exception as exc:
        log.exception("step %s raised unexpectedly", step.name)
        error = TerminalError(
            f"unexpected {type(exc).__name__}: {exc}",
            step=step.name,
            hint="run again with --debug for the traceback and report it",
        )
        return None, error
    return outcome, outcome_error(step.name, outcome)


def attempt_step(step: Step, ctx: StepContext) -> StepRecord:
    """One attempt of a step, with the ledger rows it wrote (Dagster retries by its policy)."""
    mark = len(ctx.run.rows)
    start = time.perf_counter()
    outcome, error = run_once(step, ctx)
    status: StepStatus = "ok" if error is None else "failed"
    record = StepRecord(step.name, status, attempts=1, outcome=outcome, error=error)
    record.rows = ctx.run.rows[mark:]
    record.seconds = round(time.perf_counter() - start, 3)
    return record


def execute_step(step: Step, ctx: StepContext, retry: RetrySettings) -> StepRecord:
    """Run one step with retries after transient errors (see the module docs)."""
    start = time.perf_counter()
    rows: list[LedgerRow] = []
    for attempt in range(1, retry.attempts + 1):
        record = attempt_step(step, ctx)
        rows.extend(record.rows)
        record.rows, record.attempts = rows, attempt
        if record.error is None or not record.error.transient or attempt == retry.attempts:
            break
        delay = backoff_delay(retry, attempt)
        log.warning(
            "step %s failed (attempt %d of %d), retrying in %.1fs: %s",
            *(step.name, attempt, retry.attempts, delay, record.error),
            extra={"event": "retry", "run_id": ctx.run.run_id, "step": step.name},
        )
        ctx.sleep(delay)
    record.seconds = round(time.perf_counter() - start, 3)
    return record


def recorded_step(
    settings: Settings,
    run: Run,
    step: Step,
    body: Callable[[], StepRecord],
    *,
    retried_later: bool = False,
) -> StepRecord:
    """Run ``body`` inside the step's own ``pipeline.<step>`` ledger row (timed, with its log
    event, written before the rows of its items), then alert (see the module docs).

    ``retried_later``: a transient failure will be tried again by the caller (Dagster's retry
    policy), so it is not alerted yet.
    """
    record = StepRecord(step.name, "failed")
    with suppress(MarketLakeError), run.step(f"pipeline.{step.name}", step.name) as row:
        record = body()
        row.status = record.status
        row.rows_in, row.rows_out = record.rows_in, record.rows_out
        row.rows_quarantined = record.rows_quarantined
        row.details.update(attempts=record.attempts, items=len(record.rows))
        if step.source is not None:
            row.details["source"] = step.source
        if record.skipped_because:
            row.details["skipped_because"] = f"{record.skipped_because} failed"
        if record.error is not None:
            raise record.error  # the row is marked failed with it; the run goes on
    if not (retried_later and record.error is not None and record.error.transient):
        _alert(settings, run.run_id, step, record)
    return record


def run_pipeline(
    settings: Settings,
    plan: list[Step],
    *,
    window: Window | None = None,
    run: Run | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_step: Callable[[StepRecord], None] | None = None,
) -> PipelineResult:
    """Run ``plan`` (from :func:`marketlake.orchestrate.graph.plan_steps`) in order.

    Args:
        settings: marketlake settings (``ops.retry``, ``ops.alerts``, ``ops.run``).
        plan: The steps, each after the steps it needs.
        window: The days of dated sources (``--from/--to``); default their look-back.
        run: The ledger run; a new one by default.
        sleep: How to wait between attempts (tests pass a recorder).
        on_step: Called after each step (progress display).

    Returns:
        Every step's record, and the freshness of the sources after the run. Failures are
        recorded, alerted and returned, never raised.
    """
    run = run or Run(open_lake(settings))
    ctx = StepContext(settings=settings, run=run, window=window or Window(), sleep=sleep)
    result = PipelineResult(run_id=run.run_id, steps=[])
    broken: dict[str, str] = {}  # step -> the failed step at the root of its branch
    for step in plan:
        cause = next((broken[n] for n in step.needs if n in broken), None)
        if cause is not None:
            skip = partial(StepRecord, step.name, "skipped", skipped_because=cause)
            record = recorded_step(settings, run, step, skip)
            broken[step.name] = cause
        else:
            attempts = partial(execute_step, step, ctx, settings.ops.retry)
            record = recorded_step(settings, run, step, attempts)
            if record.status == "failed":
                broken[step.name] = step.name
        result.steps.append(record)
        if on_step is not None:
            on_step(record)
    result.freshness = check_freshness(settings)
    return result


def _alert(settings: Settings, run_id: str, step: Step, record: StepRecord) -> None:
    alerts = settings.ops.alerts
    if alerts.webhook_url is None:
        return
    if record.status == "failed":
        send_alert(alerts, alert_payload(
            "step_failed", run_id=run_id, step=step.name, source=step.source,
            attempts=record.attempts, error=str(record.error),
        ))  # fmt: skip
    elif step.source is not None and record.rows_in:
        rate = record.rows_quarantined / record.rows_in
        if rate > alerts.quarantine_rate:
            send_alert(alerts, alert_payload(
                "quarantine_rate", run_id=run_id, step=step.name, source=step.source,
                rate=rate, threshold=alerts.quarantine_rate, rows_in=record.rows_in,
                rows_quarantined=record.rows_quarantined,
            ))  # fmt: skip
