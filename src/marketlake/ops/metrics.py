"""Prometheus metrics, derived from the run ledger (so they survive restarts and agree with it).

Served by the API at ``/metrics`` (Prometheus text format). Every figure is read from the ledger
at scrape time through a fresh registry, never counted in process memory: a restarted API, or a
run made by another process (``marketlake run``, Dagster), shows the same numbers.

=========================================================  =====================================
``marketlake_rows_in_total{source}``                        rows read by new work of the source
``marketlake_rows_ingested_total{source}``                  rows that reached silver
``marketlake_rows_quarantined_total{source}``               rows quarantined
``marketlake_source_failures_total{source}``                failed deliveries (ledger rows)
``marketlake_source_last_success_timestamp_seconds``        last step of the source ended well
``marketlake_source_last_delivery_timestamp_seconds``       last new delivery published
``marketlake_source_fresh{source}``                         1 within its window, 0 stale
``marketlake_source_freshness_window_seconds{source}``      the expected window
``marketlake_step_duration_seconds{step}``                  histogram of step durations
``marketlake_step_last_duration_seconds{step}``             the latest duration of the step
``marketlake_steps_total{step,status}``                     ledger rows by step and status
``marketlake_runs_total``                                   runs in the ledger
=========================================================  =====================================
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from marketlake.config import Settings
from marketlake.lake.store import open_lake
from marketlake.ops.freshness import check_freshness
from marketlake.ops.ledger_stats import LedgerStats, ledger_stats

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # what every Prometheus version scrapes
BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)


class LedgerCollector(Collector):
    """Collects the metrics of the module docs from the ledger of ``settings``' lake."""

    def __init__(self, settings: Settings, *, now: datetime | None = None) -> None:
        self.settings = settings
        self.now = now

    def collect(self) -> Iterator[Metric]:
        """Read the ledger (cached per run) and yield every metric family."""
        stats = ledger_stats(open_lake(self.settings))
        yield from _source_metrics(stats)
        yield from self._freshness(stats)
        yield from _step_metrics(stats)
        runs = CounterMetricFamily("marketlake_runs", "Runs recorded in the ledger.")
        runs.add_metric([], stats.runs)
        yield runs

    def _freshness(self, stats: LedgerStats) -> Iterator[Metric]:
        fresh = GaugeMetricFamily(
            "marketlake_source_fresh",
            "1 when the source delivered within its window (ops.run.sources.*.freshness_hours).",
            labels=["source"],
        )
        window = GaugeMetricFamily(
            "marketlake_source_freshness_window_seconds",
            "How often a new delivery of the source is expected.",
            labels=["source"],
        )
        for item in check_freshness(self.settings, stats=stats, now=self.now or datetime.now(UTC)):
            fresh.add_metric([item.source], 0.0 if item.stale else 1.0)
            window.add_metric([item.source], item.window_hours * 3600)
        yield fresh
        yield window


def _source_metrics(stats: LedgerStats) -> Iterator[Metric]:
    counters = {
        "rows_in": ("marketlake_rows_in", "Rows read by new work of a source."),
        "rows_out": ("marketlake_rows_ingested", "Rows of a source that reached silver."),
        "rows_quarantined": ("marketlake_rows_quarantined", "Rows of a source quarantined."),
        "failures": ("marketlake_source_failures", "Failed deliveries of a source."),
    }
    families = {
        attr: CounterMetricFamily(name, text, labels=["source"])
        for attr, (name, text) in counters.items()
    }
    success = GaugeMetricFamily(
        "marketlake_source_last_success_timestamp_seconds",
        "When a step of the source last ended well (Unix time).",
        labels=["source"],
    )
    delivery = GaugeMetricFamily(
        "marketlake_source_last_delivery_timestamp_seconds",
        "When something new of the source was last published (Unix time).",
        labels=["source"],
    )
    for source, figures in sorted(stats.sources.items()):
        for attr, family in families.items():
            family.add_metric([source], getattr(figures, attr))
        if figures.last_success is not None:
            success.add_metric([source], figures.last_success.timestamp())
        if figures.last_delivery is not None:
            delivery.add_metric([source], figures.last_delivery.timestamp())
    yield from families.values()
    yield success
    yield delivery


def _step_metrics(stats: LedgerStats) -> Iterator[Metric]:
    duration = HistogramMetricFamily(
        "marketlake_step_duration_seconds", "Duration of steps (ledger rows).", labels=["step"]
    )
    last = GaugeMetricFamily(
        "marketlake_step_last_duration_seconds", "The latest duration of a step.", labels=["step"]
    )
    by_status = CounterMetricFamily(
        "marketlake_steps", "Ledger rows by step and status.", labels=["step", "status"]
    )
    for step, figures in sorted(stats.steps.items()):
        buckets = [(str(b), sum(1 for s in figures.seconds if s <= b)) for b in BUCKETS]
        buckets.append(("+Inf", len(figures.seconds)))
        duration.add_metric([step], buckets, sum_value=sum(figures.seconds))
        last.add_metric([step], figures.last_seconds)
        for status, n in sorted(figures.by_status.items()):
            by_status.add_metric([step, status], n)
    yield duration
    yield last
    yield by_status


def render_metrics(settings: Settings, *, now: datetime | None = None) -> bytes:
    """The metrics of ``settings``' ledger in the Prometheus text format (version 0.0.4).

    Args:
        settings: The lake whose ledger is read, and the freshness windows.
        now: The time freshness is measured against (default: now).

    Returns:
        The exposition text, served with :data:`CONTENT_TYPE`.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(settings, now=now))
    return generate_latest(registry)
