"""`marketlake run`'s runner: retries of transient errors, branches stopped by terminal ones,
the ledger, and alerts to a real local webhook."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from marketlake.config import Settings, load_settings
from marketlake.errors import LakeUnavailableError
from marketlake.lake import open_lake
from marketlake.lake.silver import read_dataset
from marketlake.ops.ledger import read_ledger
from marketlake.orchestrate import steps
from marketlake.orchestrate.graph import plan_steps
from marketlake.orchestrate.runner import run_pipeline
from marketlake.orchestrate.steps import Step, StepContext, StepOutcome
from marketlake.sources.alphavantage.sample import write_alphavantage_payloads
from marketlake.sources.csv_daily.sample import write_daily_csvs
from tests.unit.ops.receiver import webhook_receiver

RETRY = {"attempts": 3, "first_delay_s": 2.0, "max_delay_s": 60.0, "jitter": 0.5}


def _settings(tmp_path: Path, sources: dict[str, Any], **ops: Any) -> Settings:
    run = {"sources": sources, "build": True, "report": False}
    return load_settings(data_dir=tmp_path / "data", ops={"run": run, "retry": RETRY, **ops})


def _csv(tmp_path: Path) -> list[str]:
    sample = write_daily_csvs(
        tmp_path / "csv", symbols=("AAPL", "MSFT"), start=date(2023, 1, 1), end=date(2023, 3, 31)
    )
    return [str(p) for p in sample.files]


def _av_files(tmp_path: Path) -> list[str]:
    written = write_alphavantage_payloads(
        tmp_path / "av", ("IBM",), start=date(2024, 1, 1), end=date(2024, 6, 30)
    )
    return [str(p) for p in written.files]


def _flaky(step: Step, failures: int) -> tuple[Step, list[int]]:
    """The real step, failing with a transient error its first ``failures`` times."""
    calls: list[int] = []

    def fn(ctx: StepContext) -> StepOutcome:
        calls.append(1)
        if len(calls) <= failures:
            raise LakeUnavailableError("the object store did not answer", path="lake")
        return step.fn(ctx)

    return Step(step.name, fn, step.needs, step.source), calls


def _without_build(plan: list[Step]) -> list[Step]:
    return [s for s in plan if s.name not in ("build", "report")]


def test_a_transient_error_twice_then_success_is_retried_with_backoff_and_ends_green(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path, {"csv_daily": {"paths": _csv(tmp_path)}})
    (csv_step,) = _without_build(plan_steps(settings))
    flaky, calls = _flaky(csv_step, failures=2)
    waits: list[float] = []
    result = run_pipeline(settings, [flaky], sleep=waits.append)
    assert result.ok
    record = result.step("ingest.csv_daily")
    assert (record.status, record.attempts, len(calls)) == ("ok", 3, 3)
    # exponential back-off with jitter in [1 - 0.5, 1]: ~2 s, then ~4 s
    assert len(waits) == 2
    assert 1.0 <= waits[0] <= 2.0
    assert 2.0 <= waits[1] <= 4.0
    assert record.rows_in > 0
    bars = read_dataset(open_lake(settings), "bars")
    assert set(bars["symbol"].to_pylist()) == {"AAPL", "MSFT"}
    (row,) = [r for r in read_ledger(open_lake(settings)) if r.step == "pipeline.ingest.csv_daily"]
    assert (row.status, row.details["attempts"]) == ("ok", 3)


def test_transient_errors_that_outlast_the_attempts_fail_the_step(tmp_path: Path) -> None:
    settings = _settings(tmp_path, {"csv_daily": {"paths": _csv(tmp_path)}})
    (csv_step,) = _without_build(plan_steps(settings))
    flaky, calls = _flaky(csv_step, failures=5)
    waits: list[float] = []
    result = run_pipeline(settings, [flaky], sleep=waits.append)
    record = result.step("ingest.csv_daily")
    assert (record.status, record.attempts, len(calls), len(waits)) == ("failed", 3, 3, 2)
    assert isinstance(record.error, LakeUnavailableError)


def test_a_terminal_error_stops_its_branch_and_the_others_complete(tmp_path: Path) -> None:
    csv = [*_csv(tmp_path), str(tmp_path / "csv" / "NOPE.csv")]  # a file that is not there
    with webhook_receiver() as hook:
        settings = _settings(
            tmp_path,
            {"csv_daily": {"paths": csv}, "alphavantage": {"files": _av_files(tmp_path)}},
            alerts={"webhook_url": hook.url},
        )
        plan = plan_steps(settings)
        assert [s.name for s in plan] == ["ingest.csv_daily", "ingest.alphavantage", "build"]
        waits: list[float] = []
        result = run_pipeline(settings, plan, sleep=waits.append)
    assert waits == []  # terminal: never retried
    assert [(s.name, s.status) for s in result.steps] == [
        ("ingest.csv_daily", "failed"),
        ("ingest.alphavantage", "ok"),
        ("build", "skipped"),
    ]
    assert result.step("build").skipped_because == "ingest.csv_daily"
    assert "NOPE.csv" in str(result.step("ingest.csv_daily").error)
    lake = open_lake(settings)
    # the other deliveries of the failed branch and the other branch are in silver
    assert {"AAPL", "MSFT", "IBM"} <= set(read_dataset(lake, "bars")["symbol"].to_pylist())
    rows = {r.step: r for r in read_ledger(lake) if r.step.startswith("pipeline.")}
    assert rows["pipeline.ingest.csv_daily"].status == "failed"
    assert "NOPE.csv" in (rows["pipeline.ingest.csv_daily"].error or "")
    assert rows["pipeline.ingest.alphavantage"].status == "ok"
    assert rows["pipeline.build"].status == "skipped"
    assert rows["pipeline.build"].details["skipped_because"] == "ingest.csv_daily failed"
    (alert,) = hook.accepted  # exactly one message
    assert (alert["kind"], alert["step"], alert["run_id"]) == (
        "step_failed", "ingest.csv_daily", result.run_id,
    )  # fmt: skip
    assert "NOPE.csv" in alert["error"]
    assert str(hook.url) not in str(read_ledger(lake))  # the webhook URL is never recorded


def test_a_source_quarantining_too_much_raises_one_alert(tmp_path: Path) -> None:
    with webhook_receiver() as hook:
        settings = _settings(
            tmp_path, {"csv_daily": {"paths": _csv(tmp_path)}},
            alerts={"webhook_url": hook.url, "quarantine_rate": 0.001},
        )  # fmt: skip
        result = run_pipeline(settings, _without_build(plan_steps(settings)))
        again = run_pipeline(settings, _without_build(plan_steps(settings)))
    record = result.step("ingest.csv_daily")
    (alert,) = hook.accepted  # the second run read nothing new: no alert
    assert again.ok
    assert alert["kind"] == "quarantine_rate"
    assert alert["source"] == "csv_daily"
    assert alert["rows_quarantined"] == record.rows_quarantined > 0
    assert alert["rate"] == pytest.approx(record.rows_quarantined / record.rows_in)


def test_the_graph_follows_the_configuration(tmp_path: Path) -> None:
    sources = {"csv_daily": {"paths": ["x.csv"]}, "hdf5": {"files": ["ES.h5"]},
               "polygon": {"datasets": ["us_stocks_sip/trades_v1"]}}  # fmt: skip
    settings = load_settings(
        data_dir=tmp_path,
        ops={"run": {"sources": sources, "bars": [{"kind": "tick", "threshold": 100}],
                     "continuous": [{"root": "ES"}]}},
    )  # fmt: skip
    plan = {s.name: s.needs for s in plan_steps(settings)}
    assert list(plan) == [
        "ingest.csv_daily", "ingest.polygon", "ingest.hdf5", "bars", "continuous", "build",
        "report",
    ]  # fmt: skip
    assert plan["bars"] == ("ingest.polygon", "ingest.hdf5")
    assert set(plan["build"]) == set(list(plan)[:5])
    only_csv = [s.name for s in plan_steps(settings, ["csv_daily"])]
    assert only_csv == ["ingest.csv_daily", "build", "report"]  # no tick source: no bars
    from marketlake.errors import ConfigError

    with pytest.raises(ConfigError, match="nothing to read"):
        plan_steps(settings, ["reference"])
    with pytest.raises(ConfigError, match="unknown source"):
        plan_steps(settings, ["bloomberg"])


def test_windows_bound_the_dated_sources() -> None:
    from datetime import UTC, datetime

    now = datetime(2024, 5, 10, 13, 30, tzinfo=UTC)
    assert steps.Window().days(lookback_days=3, today=now.date()) == (
        date(2024, 5, 7), date(2024, 5, 9),
    )  # fmt: skip
    window = steps.Window(date(2024, 1, 2), date(2024, 1, 3))
    assert window.days(lookback_days=3, today=now.date()) == (date(2024, 1, 2), date(2024, 1, 3))
    start, end = window.hours(lookback_hours=24, now=now)
    assert (start.isoformat(), end.date()) == ("2024-01-02T00:00:00+00:00", date(2024, 1, 3))
    assert end.hour == 23
    start, end = steps.Window().hours(lookback_hours=6, now=now)
    assert (start.hour, end) == (7, now)
