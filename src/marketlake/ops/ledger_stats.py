"""Figures derived from the run ledger: per source and per step, over every run ever recorded.

Metrics and freshness checks read these, so they survive restarts (the ledger is in the lake)
and agree with ``marketlake status``. A run's rows are read once and cached by the number of
files in its folder: a scrape re-reads only runs that grew since the last one.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from marketlake.lake.store import Lake
from marketlake.ops.ledger import LEDGER_PREFIX, LedgerRow

# Ledger step prefixes of what a source did, and the source names used for them.
_SOURCE_ALIASES = {"hdf5_ticks": "hdf5"}
PIPELINE_PREFIX = "pipeline."


def source_of(step: str) -> str | None:
    """The source a ledger step belongs to (``ingest.polygon`` -> ``polygon``), else None."""
    for prefix in ("ingest.", "land."):
        if step.startswith(prefix):
            name = step[len(prefix) :]
            return _SOURCE_ALIASES.get(name, name)
    return None


def ended_at(row: LedgerRow) -> datetime:
    """When a ledger row's step finished."""
    return datetime.fromisoformat(row.started_at) + timedelta(seconds=row.seconds)


@dataclass
class SourceStats:
    """What one source delivered, over every run (rows of new work only: status ``ok``)."""

    rows_in: int = 0
    rows_out: int = 0
    rows_quarantined: int = 0
    failures: int = 0
    last_success: datetime | None = None  # a step of the source ended ok or skipped
    last_delivery: datetime | None = None  # something new was published (status ok)


@dataclass
class StepStats:
    """How one step went, over every run."""

    seconds: list[float] = field(default_factory=list)
    by_status: Counter[str] = field(default_factory=Counter)
    last_seconds: float = 0.0
    last_end: datetime | None = None


@dataclass
class LedgerStats:
    """Everything the ledger says, summed."""

    runs: int = 0
    sources: dict[str, SourceStats] = field(default_factory=dict)
    steps: dict[str, StepStats] = field(default_factory=dict)


_cache: dict[tuple[str, str], tuple[int, list[LedgerRow]]] = {}
_lock = threading.Lock()


def _rows_of_runs(lake: Lake) -> list[list[LedgerRow]]:
    files: dict[str, int] = Counter(k.split("/")[1] for k in lake.glob(f"{LEDGER_PREFIX}/*/*.json"))
    out: list[list[LedgerRow]] = []
    root = lake.url("")
    with _lock:
        for stale in [k for k in _cache if k[0] == root and k[1] not in files]:
            del _cache[stale]
        for run_id, n in sorted(files.items()):
            cached = _cache.get((root, run_id))
            if cached is None or cached[0] != n:
                rows = [LedgerRow(**r) for r in lake.iter_json(f"{LEDGER_PREFIX}/{run_id}/*.json")]
                cached = (n, rows)
                _cache[(root, run_id)] = cached
            out.append(cached[1])
    return out


def ledger_stats(lake: Lake) -> LedgerStats:
    """Sum the ledger of ``lake`` per source and per step (cached per run, see module docs)."""
    stats = LedgerStats()
    for rows in _rows_of_runs(lake):
        stats.runs += 1
        for row in sorted(rows, key=lambda r: r.seq):
            _add(stats, row)
    return stats


def _add(stats: LedgerStats, row: LedgerRow) -> None:
    end = ended_at(row)
    step = stats.steps.setdefault(row.step, StepStats())
    step.seconds.append(row.seconds)
    step.by_status[row.status] += 1
    if step.last_end is None or end >= step.last_end:
        step.last_end, step.last_seconds = end, row.seconds
    source = source_of(row.step)
    if source is None:
        return
    figures = stats.sources.setdefault(source, SourceStats())
    if row.status == "failed":
        figures.failures += 1
        return
    if figures.last_success is None or end > figures.last_success:
        figures.last_success = end
    if row.status == "ok":
        figures.rows_in += row.rows_in
        figures.rows_out += row.rows_out
        figures.rows_quarantined += row.rows_quarantined
        if figures.last_delivery is None or end > figures.last_delivery:
            figures.last_delivery = end
