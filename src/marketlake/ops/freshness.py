"""Freshness: has each source delivered within its expected window?

A delivery is a ledger row of the source with status ``ok`` (something new was published),
whoever wrote it (``marketlake run``, ``marketlake ingest``, a Dagster asset). The window of a
source is ``ops.run.sources.<source>.freshness_hours``; sources that ``marketlake run`` does not
read, or without a window, are not checked. A source that never delivered is stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from marketlake.config import Settings
from marketlake.lake.store import open_lake
from marketlake.ops.ledger_stats import LedgerStats, ledger_stats


@dataclass(frozen=True)
class Freshness:
    """One source's freshness."""

    source: str
    window_hours: float
    last_delivery: datetime | None
    age_hours: float | None  # None: never delivered

    @property
    def stale(self) -> bool:
        """No delivery within the window (or none ever)."""
        return self.age_hours is None or self.age_hours > self.window_hours

    def describe(self) -> str:
        """One line for people: ``polygon: last delivery 30.2 h ago (window 96 h): fresh``."""
        if self.last_delivery is None:
            return f"{self.source}: never delivered (window {self.window_hours:g} h): stale"
        state = "stale" if self.stale else "fresh"
        return (
            f"{self.source}: last delivery {self.age_hours:.1f} h ago, "
            f"{self.last_delivery:%Y-%m-%d %H:%M} UTC (window {self.window_hours:g} h): {state}"
        )


def check_freshness(
    settings: Settings, *, stats: LedgerStats | None = None, now: datetime | None = None
) -> list[Freshness]:
    """The freshness of every source ``marketlake run`` reads that has a window.

    Args:
        settings: ``ops.run.sources`` (which sources, their windows) and the lake.
        stats: Ledger figures already read (else read now).
        now: The time to measure against (default: now, UTC).

    Returns:
        One entry per checked source, in the order ``marketlake run`` ingests them.
    """
    sources = settings.ops.run.sources
    stats = stats or ledger_stats(open_lake(settings))
    now = now or datetime.now(UTC)
    out: list[Freshness] = []
    for source in sources.configured():
        window = sources.freshness_hours(source)
        if window is None:
            continue
        figures = stats.sources.get(source)
        last = figures.last_delivery if figures else None
        age = None if last is None else (now - last).total_seconds() / 3600
        out.append(Freshness(source, window, last, age))
    return out
