"""Metrics and freshness come from the ledger: what a run did, whoever ran it, after restarts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from marketlake.config import Settings, load_settings
from marketlake.ingest import ingest_csv
from marketlake.lake import open_lake
from marketlake.ops import ledger_stats
from marketlake.ops.freshness import check_freshness
from marketlake.ops.ledger import Run
from marketlake.ops.metrics import render_metrics
from marketlake.sources.csv_daily.sample import write_daily_csvs


def _samples(tmp_path: Path) -> list[str]:
    written = write_daily_csvs(
        tmp_path / "csv", symbols=("AAPL", "MSFT"), start=date(2023, 1, 1), end=date(2023, 6, 30)
    )
    return [str(p) for p in written.files]


def _settings(tmp_path: Path, paths: list[str], hours: float = 24) -> Settings:
    sources = {"csv_daily": {"paths": paths, "freshness_hours": hours}}
    return load_settings(data_dir=tmp_path / "data", ops={"run": {"sources": sources}})


def _samples_by_name(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_sum_what_the_ledger_says_and_survive_a_restart(tmp_path: Path) -> None:
    paths = _samples(tmp_path)
    settings = _settings(tmp_path, paths)
    report = ingest_csv(paths, settings=settings, run=Run(open_lake(settings)))
    records = [f.record for f in report.files if f.record is not None]
    ingest_csv(paths, settings=settings, run=Run(open_lake(settings)))  # unchanged: no new rows
    text = render_metrics(settings).decode()
    got = _samples_by_name(text)
    src = (("source", "csv_daily"),)
    assert got[("marketlake_rows_in_total", src)] == sum(r.rows_in for r in records)
    assert got[("marketlake_rows_ingested_total", src)] == sum(r.rows_out for r in records)
    assert got[("marketlake_rows_quarantined_total", src)] == sum(
        r.rows_quarantined for r in records
    )
    assert sum(r.rows_quarantined for r in records) > 0  # the samples carry faults
    step = (("step", "ingest.csv_daily"),)
    assert got[("marketlake_step_duration_seconds_count", step)] == 4  # 2 files x 2 runs
    assert got[("marketlake_steps_total", (("status", "ok"), *step))] == 2
    assert got[("marketlake_steps_total", (("status", "skipped"), *step))] == 2
    assert got[("marketlake_runs_total", ())] == 2
    last = got[("marketlake_source_last_success_timestamp_seconds", src)]
    assert abs(last - datetime.now(UTC).timestamp()) < 120
    assert got[("marketlake_source_fresh", src)] == 1.0
    # A new process (cache gone) reads the same figures from the lake.
    ledger_stats._cache.clear()
    assert _samples_by_name(render_metrics(settings).decode()) == got


def test_a_source_without_a_delivery_in_its_window_is_stale(tmp_path: Path) -> None:
    paths = _samples(tmp_path)
    settings = _settings(tmp_path, paths, hours=24)
    (never,) = check_freshness(settings)
    assert never.stale
    assert never.last_delivery is None
    assert "never delivered" in never.describe()
    ingest_csv(paths, settings=settings, run=Run(open_lake(settings)))
    (now,) = check_freshness(settings)
    assert not now.stale
    later = datetime.now(UTC) + timedelta(hours=25)
    (then,) = check_freshness(settings, now=later)
    assert then.stale
    assert then.age_hours is not None
    assert then.age_hours > 24
    text = render_metrics(settings, now=later).decode()
    got = _samples_by_name(text)
    assert got[("marketlake_source_fresh", (("source", "csv_daily"),))] == 0.0
    assert got[("marketlake_source_freshness_window_seconds", (("source", "csv_daily"),))] == 86400


def test_a_failed_delivery_is_counted_and_not_a_success(tmp_path: Path) -> None:
    settings = _settings(tmp_path, [str(tmp_path / "missing.csv")])
    ingest_csv([str(tmp_path / "missing.csv")], settings=settings, run=Run(open_lake(settings)))
    got = _samples_by_name(render_metrics(settings).decode())
    src = (("source", "csv_daily"),)
    assert got[("marketlake_source_failures_total", src)] == 1
    assert ("marketlake_source_last_success_timestamp_seconds", src) not in got
    assert got[("marketlake_source_fresh", src)] == 0.0
