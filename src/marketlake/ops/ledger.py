"""The run ledger: one row per step (per item) per run, kept in the lake under ``_ledger/``.

Each row is its own small JSON object (``_ledger/<run_id>/<seq>-<step>.json``): append-only, no
read-modify-write, so it is safe with concurrent runs and works unchanged on S3.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import count
from typing import Any, Literal

from marketlake.errors import MarketLakeError
from marketlake.lake.store import Lake

log = logging.getLogger(__name__)

LEDGER_PREFIX = "_ledger"
Status = Literal["ok", "skipped", "failed"]


@dataclass
class LedgerRow:
    """What one step did in one run."""

    run_id: str
    seq: int
    step: str  # "ingest.csv_daily", "build", "export"
    target: str  # what the step worked on: a file, a dbt project, a model
    started_at: str
    seconds: float = 0.0
    status: Status = "ok"
    rows_in: int = 0
    rows_out: int = 0
    rows_quarantined: int = 0
    bytes: int = 0
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def new_run_id() -> str:
    """A run id that sorts by time: ``20261123T025231Z-1a2b3c``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


class Run:
    """One run of one or more steps, writing a ledger row per step.

    Args:
        lake: Where the ledger lives.
        run_id: Reuse an id to add steps to an existing run; a new one by default.
    """

    def __init__(self, lake: Lake, run_id: str | None = None) -> None:
        self.lake = lake
        self.run_id = run_id or new_run_id()
        self._seq = count(len(lake.glob(f"{LEDGER_PREFIX}/{self.run_id}/*.json")) + 1)
        self.rows: list[LedgerRow] = []  # the rows this object wrote, in order

    @contextmanager
    def step(self, step: str, target: str) -> Iterator[LedgerRow]:
        """Time a step and record it; the body fills in rows and may set ``status="skipped"``.

        An exception marks the row failed with the error's text and is re-raised.
        """
        row = LedgerRow(
            run_id=self.run_id,
            seq=next(self._seq),
            step=step,
            target=target,
            started_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        )
        start = time.perf_counter()
        try:
            yield row
        except BaseException as exc:
            row.status = "failed"
            row.error = str(exc) if isinstance(exc, MarketLakeError) else _describe(exc)
            raise
        finally:
            row.seconds = round(time.perf_counter() - start, 3)
            self.lake.write_json(
                f"{LEDGER_PREFIX}/{self.run_id}/{row.seq:05d}-{step}.json", asdict(row)
            )
            self.rows.append(row)
            log.info("step %s %s: %s", step, row.status, target, extra=event_fields(row))


def event_fields(row: LedgerRow) -> dict[str, Any]:
    """The fields of a structured log event for one ledger row (see ``marketlake.ops.logs``)."""
    return {
        "event": "step",
        "run_id": row.run_id,
        "step": row.step,
        "target": row.target,
        "status": row.status,
        "rows_in": row.rows_in,
        "rows_out": row.rows_out,
        "rows_quarantined": row.rows_quarantined,
        "seconds": row.seconds,
        "error": row.error,
    }


def _describe(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {last[0].filename}:{last[0].lineno}" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def read_ledger(lake: Lake, *, last_runs: int | None = None) -> list[LedgerRow]:
    """Ledger rows, newest run first, steps in order; ``last_runs`` limits to the newest runs."""
    run_dirs = sorted(
        {k.split("/")[1] for k in lake.glob(f"{LEDGER_PREFIX}/*/*.json")}, reverse=True
    )
    if last_runs is not None:
        run_dirs = run_dirs[:last_runs]
    rows: list[LedgerRow] = []
    for run_id in run_dirs:
        rows.extend(LedgerRow(**r) for r in lake.iter_json(f"{LEDGER_PREFIX}/{run_id}/*.json"))
    return rows
