"""The API's /metrics: Prometheus text a scraper reads, from the ledger, after a restart too."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from marketlake.config import load_settings
from marketlake.orchestrate.graph import plan_steps
from marketlake.orchestrate.runner import run_pipeline
from marketlake.sources.csv_daily.sample import write_daily_csvs
from tests.integration.api.support import TOKEN, serve

from .inputs import configured

pytestmark = pytest.mark.integration


def test_metrics_are_served_in_the_prometheus_text_format(tmp_path: Path) -> None:
    csv = write_daily_csvs(tmp_path / "csv", symbols=("AAPL", "MSFT"), start=date(2023, 1, 2),
                           end=date(2023, 6, 30))  # fmt: skip
    run = {"sources": {"csv_daily": {"paths": [str(p) for p in csv.files]}}, "build": False}
    settings = configured(tmp_path / "data", run)
    result = run_pipeline(settings, plan_steps(settings))
    step = result.step("ingest.csv_daily")
    for _ in range(2):  # a restarted API reads the same figures from the ledger
        with serve(settings) as api:
            response = httpx.get(f"{api.url}/metrics", timeout=30)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples
        }
        src = (("source", "csv_daily"),)
        assert samples[("marketlake_rows_in_total", src)] == step.rows_in
        assert samples[("marketlake_rows_ingested_total", src)] == step.rows_out
        assert samples[("marketlake_rows_quarantined_total", src)] == step.rows_quarantined
        assert samples[("marketlake_source_fresh", src)] == 1.0
        assert ("marketlake_source_last_success_timestamp_seconds", src) in samples
        key = ("marketlake_step_duration_seconds_count", (("step", "pipeline.ingest.csv_daily"),))
        assert samples[key] == 1


def test_closed_reads_close_metrics_too(tmp_path: Path) -> None:
    closed = load_settings(data_dir=tmp_path / "data", api={"open_reads": False, "token": TOKEN})
    with serve(closed) as api:
        refused = httpx.get(f"{api.url}/metrics", timeout=30)
        ok = httpx.get(f"{api.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"},
                       timeout=30)  # fmt: skip
    assert refused.status_code == 401
    assert ok.status_code == 200
    assert "marketlake_runs_total 0.0" in ok.text
