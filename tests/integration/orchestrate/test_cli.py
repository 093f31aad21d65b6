"""`marketlake run`, `marketlake status --freshness` and `marketlake orchestrate` as a user runs
them: the installed command in a subprocess, settings from a marketlake.yaml."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from marketlake.sources.alphavantage.sample import write_alphavantage_payloads
from marketlake.sources.csv_daily.sample import write_daily_csvs
from marketlake.sources.reference.sample import write_reference_files
from tests.support import free_port

pytestmark = pytest.mark.integration

MARKETLAKE = str(Path(sys.executable).parent / "marketlake")


def _marketlake(tmp_path: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    full = {k: v for k, v in os.environ.items() if not k.startswith("MARKETLAKE_")}
    full |= {"MARKETLAKE_CONFIG": str(tmp_path / "marketlake.yaml"), "NO_COLOR": "1",
             "MARKETLAKE_DATA_DIR": str(tmp_path / "data"), **(env or {})}  # fmt: skip
    return subprocess.run([MARKETLAKE, *args], capture_output=True, text=True, env=full,
                          cwd=tmp_path, timeout=300, check=False)  # fmt: skip


def _config(tmp_path: Path, run: dict[str, Any]) -> None:
    (tmp_path / "marketlake.yaml").write_text(yaml.safe_dump({"ops": {"run": run}}))


def test_run_reports_a_failed_branch_exits_1_and_logs_json_events(tmp_path: Path) -> None:
    csv = write_daily_csvs(tmp_path / "csv", symbols=("AAPL",), start=date(2023, 1, 2),
                           end=date(2023, 3, 31))  # fmt: skip
    av = write_alphavantage_payloads(tmp_path / "av", ("IBM",), start=date(2024, 1, 1),
                                     end=date(2024, 3, 1))  # fmt: skip
    _config(tmp_path, {
        "sources": {"csv_daily": {"paths": [str(csv.files[0]), "missing/*.csv"]},
                    "alphavantage": {"files": [str(p) for p in av.files]}},
        "report": False,
    })  # fmt: skip
    done = _marketlake(tmp_path, "run", env={"MARKETLAKE_OPS__LOG_FORMAT": "json"})
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "│ ingest.csv_daily    │ failed" in out
    assert "│ ingest.alphavantage │ ok" in out
    assert "│ build               │ skipped (ingest.csv_daily failed)" in out
    assert "✗ ingest.csv_daily: 1 of 2 item(s)" in out
    assert "no CSV file found (path=missing/*.csv)" in out
    assert "freshness csv_daily: last delivery 0.0 h ago" in out
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    steps = {e["step"]: e for e in events if e.get("event") == "step"}
    run_id = steps["pipeline.ingest.csv_daily"]["run_id"]
    assert steps["pipeline.ingest.csv_daily"]["status"] == "failed"
    assert steps["pipeline.build"]["status"] == "skipped"
    assert steps["pipeline.ingest.alphavantage"]["rows_in"] > 0
    assert {e["run_id"] for e in steps.values()} == {run_id}
    assert all({"seconds", "rows_out", "rows_quarantined"} <= set(e) for e in steps.values())

    only_av = _marketlake(tmp_path, "run", "--sources", "alphavantage",
                          env={"MARKETLAKE_OPS__RUN__BUILD": "false"})  # fmt: skip
    assert only_av.returncode == 0, only_av.stdout + only_av.stderr
    assert "ingest.csv_daily" not in only_av.stdout
    assert "│ build" not in only_av.stdout

    status = _marketlake(tmp_path, "status", "--runs", "1", "--detail")
    assert "pipeline.ingest.alphavantage" in status.stdout


def test_status_freshness_names_a_source_that_never_delivered(tmp_path: Path) -> None:
    ref = write_reference_files(tmp_path / "ref")
    csv = write_daily_csvs(tmp_path / "csv", symbols=("AAPL",), start=date(2023, 1, 2),
                           end=date(2023, 1, 31))  # fmt: skip
    _config(tmp_path, {"sources": {
        "csv_daily": {"paths": [str(csv.files[0])], "freshness_hours": 24},
        "reference": {"files": [str(ref.first)], "freshness_hours": 720},
    }, "build": False})  # fmt: skip
    assert _marketlake(tmp_path, "run", "--sources", "csv_daily").returncode == 0
    stale = _marketlake(tmp_path, "status", "--freshness")
    assert stale.returncode == 1
    assert "csv_daily: last delivery 0.0 h ago" in stale.stdout
    assert "(window 24 h): fresh" in stale.stdout
    assert "reference: never delivered (window 720 h): stale" in stale.stdout
    assert _marketlake(tmp_path, "run", "--sources", "reference").returncode == 0
    fresh = _marketlake(tmp_path, "status", "--freshness")
    assert fresh.returncode == 0, fresh.stdout


def test_run_refuses_an_unconfigured_source(tmp_path: Path) -> None:
    _config(tmp_path, {"sources": {"csv_daily": {"paths": ["x.csv"]}}})
    done = _marketlake(tmp_path, "run", "--sources", "polygon")
    assert done.returncode == 1
    assert "source polygon has nothing to read" in done.stderr
    assert "ops.run.sources.polygon" in done.stderr


def test_orchestrate_starts_dagster_on_marketlakes_definitions(tmp_path: Path) -> None:
    csv = write_daily_csvs(tmp_path / "csv", symbols=("AAPL",), start=date(2023, 1, 2),
                           end=date(2023, 1, 31))  # fmt: skip
    _config(tmp_path, {"sources": {"csv_daily": {"paths": [str(csv.files[0])]}}})
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETLAKE_")}
    env |= {"MARKETLAKE_CONFIG": str(tmp_path / "marketlake.yaml"), "NO_COLOR": "1"}
    log = (tmp_path / "orchestrate.log").open("w")
    # Started as `marketlake orchestrate &` from a script is: SIGINT ignored. dagster dev maps
    # TERM onto its SIGINT handler, so it must still stop on TERM.
    process = subprocess.Popen(
        [MARKETLAKE, "--data-dir", str(tmp_path / "data"), "orchestrate", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # noqa: PLW1509
    )  # fmt: skip
    query = "{ repositoriesOrError { ... on RepositoryConnection { nodes { name " \
            "jobs { name } sensors { name } schedules { name } } } } }"  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(240):  # bounded: dagster dev starts its webserver, daemon, code server
            try:
                nodes = httpx.post(f"{url}/graphql", json={"query": query}, timeout=5).json()
                repos = nodes["data"]["repositoriesOrError"]["nodes"]
                if repos:
                    break
            except (httpx.HTTPError, KeyError, TypeError, ValueError):
                pass
            assert process.poll() is None, (tmp_path / "orchestrate.log").read_text()
            time.sleep(0.5)
        else:
            pytest.fail("dagster dev did not serve the definitions: "
                        + (tmp_path / "orchestrate.log").read_text()[-3000:])  # fmt: skip
        (repo,) = repos
        assert {"csv_daily_job", "gold_job"} <= {j["name"] for j in repo["jobs"]}
        assert {s["name"] for s in repo["sensors"]} == {"landing_sensor", "silver_to_gold"}
        assert (tmp_path / "data" / "dagster" / "dagster.yaml").exists()  # DAGSTER_HOME
        # the dbt manifest was parsed under the data dir's state, offline
        assert (tmp_path / "data" / ".state" / "dagster" / "dbt" / "target" / "manifest.json"
                ).exists()  # fmt: skip
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        try:  # nothing of dagster dev is left behind (webserver, daemon, code server)
            for _ in range(60):
                os.killpg(process.pid, 0)
                time.sleep(0.5)
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail("dagster dev left processes behind")
        except ProcessLookupError:
            pass
        log.close()


def test_a_dagster_that_does_not_stop_is_killed_with_its_children_after_the_grace(
    tmp_path: Path,
) -> None:
    import psutil

    from marketlake.cli.orchestrate import _wait

    # A stand-in for a dagster dev stuck in its shutdown: ignores TERM, and has a child.
    script = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
        "print('ready', flush=True)\n"
        "time.sleep(300)\n"
    )
    stuck = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert stuck.stdout is not None
    assert stuck.stdout.readline().strip() == b"ready"
    tree = [psutil.Process(stuck.pid), *psutil.Process(stuck.pid).children(recursive=True)]
    assert len(tree) == 2
    stuck.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert _wait(stuck, [started], grace_s=1.0) is None  # not stopped: killed
    assert time.monotonic() - started < 15
    _, alive = psutil.wait_procs(tree, timeout=5)
    assert alive == []
