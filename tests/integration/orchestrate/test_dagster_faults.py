"""Faults in Dagster: a transient error is retried by the asset's RetryPolicy until it succeeds;
a terminal error is not retried (whatever the policy allows), is recorded in the ledger and
alerted once, and the other sources' assets still materialize."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from marketlake.lake import open_lake
from marketlake.ops.ledger import read_ledger
from marketlake.orchestrate.definitions import build_definitions
from marketlake.sources.alphavantage.sample import daily_bars, daily_payload
from marketlake.sources.csv_daily.sample import write_daily_csvs
from marketlake.sources.reference.sample import write_reference_files
from tests.integration.alphavantage.vendor import reply, serve_vendor, with_vendor
from tests.unit.ops.receiver import webhook_receiver

from .inputs import configured

pytestmark = pytest.mark.integration


def test_a_terminal_error_fails_its_asset_once_and_the_others_materialize(tmp_path: Path) -> None:
    csv = write_daily_csvs(tmp_path / "csv", symbols=("AAPL",), start=date(2023, 1, 2),
                           end=date(2023, 2, 28))  # fmt: skip
    ref = write_reference_files(tmp_path / "ref")
    run = {"sources": {"csv_daily": {"paths": [str(csv.files[0]), str(tmp_path / "NOPE.csv")]},
                       "reference": {"files": [str(ref.first)]}}}  # fmt: skip
    with webhook_receiver() as hook:
        settings = configured(
            tmp_path / "data", run,
            retry={"attempts": 3, "first_delay_s": 0, "jitter": 0},
            alerts={"webhook_url": hook.url, "quarantine_rate": 1.0},
        )  # fmt: skip
        defs = build_definitions(settings)
        sources = dg.AssetSelection.assets(
            *([layer, s] for s in ("csv_daily", "reference") for layer in ("bronze", "silver"))
        )
        done = dg.materialize(list(defs.assets or []), selection=sources, raise_on_error=False,
                              instance=dg.DagsterInstance.ephemeral())  # fmt: skip
    assert not done.success
    failures = [e for e in done.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert [e.step_key for e in failures] == ["ingest_csv_daily"]
    retries = [e for e in done.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert retries == []  # terminal: the retry policy does not apply
    materialized = {e.asset_key.to_user_string() for e in done.get_asset_materialization_events()}
    assert materialized == {"bronze/reference", "silver/reference"}
    rows = [r for r in read_ledger(open_lake(settings)) if r.step.startswith("pipeline.")]
    by_step = {r.step: r for r in rows}
    assert by_step["pipeline.ingest.csv_daily"].status == "failed"
    assert "NOPE.csv" in (by_step["pipeline.ingest.csv_daily"].error or "")
    assert by_step["pipeline.ingest.reference"].status == "ok"
    (alert,) = hook.accepted
    assert (alert["kind"], alert["step"]) == ("step_failed", "ingest.csv_daily")


def test_a_transient_error_twice_is_retried_by_dagster_and_ends_green(tmp_path: Path) -> None:
    # The vendor's API stand-in (a real HTTP server, recorded replies) is down twice, then
    # answers; the client does not retry itself here, so the asset's RetryPolicy must.
    with serve_vendor() as vendor:
        vendor.on(
            "TIME_SERIES_DAILY",
            "IBM",
            reply(b"", status=503),
            reply(b"", status=503),
            reply(daily_payload("IBM", daily_bars("IBM", date(2024, 1, 2), date(2024, 3, 28)))),
        )
        run = {"sources": {"alphavantage": {"symbols": ["IBM"]}}}
        settings = with_vendor(
            configured(
                tmp_path / "data", run, retry={"attempts": 3, "first_delay_s": 0, "jitter": 0}
            ),
            vendor,
            retries=0,
        )
        defs = build_definitions(settings)
        done = dg.materialize(
            list(defs.assets or []),
            selection=dg.AssetSelection.assets(
                ["bronze", "alphavantage"], ["silver", "alphavantage"]
            ),
            raise_on_error=False,
            instance=dg.DagsterInstance.ephemeral(),
        )
        assert vendor.calls("IBM") == 3
    assert done.success
    retries = [e for e in done.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert len(retries) == 2
    materialized = {e.asset_key.to_user_string() for e in done.get_asset_materialization_events()}
    assert materialized == {"bronze/alphavantage", "silver/alphavantage"}
    rows = [r for r in read_ledger(open_lake(settings)) if r.step == "pipeline.ingest.alphavantage"]
    assert [r.status for r in rows] == ["failed", "failed", "ok"]
