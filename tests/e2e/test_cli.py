"""The CLI as a user runs it: answers, exit codes, one-line errors, ledger and quality views."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

from marketlake.sources.csv_daily.sample import write_daily_csvs
from tests.e2e.conftest import CLI

HEAVY = (
    "polars",
    "pyarrow",
    "duckdb",
    "dbt",
    "pandas",
    "fsspec",
    "pydantic",
    "numba",
    "tables",
    "h5py",
    "scipy",
    "statsmodels",
    "matplotlib",
    "exchange_calendars",
    "numpy",
    "fastapi",
    "uvicorn",
    "httpx",
    "psycopg",
    "sqlglot",
)


def test_help_imports_nothing_heavy() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "marketlake.cli.main", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "ingest" in proc.stdout
    assert "status" in proc.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines()}
    assert not imported & set(HEAVY), imported & set(HEAVY)


def test_ingest_folder_reports_bad_file_and_goes_on(cli: CLI, tmp_path: Path) -> None:
    samples = write_daily_csvs(
        tmp_path / "in", symbols=("MSFT", "IBM"), start=date(2022, 1, 1), end=date(2022, 12, 31)
    )
    (tmp_path / "in" / "BAD.csv").write_text("ticker;price\nMSFT;1\n")
    proc = cli("ingest", "csv", str(tmp_path / "in"))
    assert proc.returncode == 1
    assert "MSFT.csv" in proc.stdout
    assert "published (new)" in proc.stdout
    assert "BAD.csv: header lacks Date" in proc.stdout
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: 1 of 3 files failed")

    status = cli("status")
    assert status.returncode == 0
    assert "ingest.csv_daily" in status.stdout
    assert "1 failed" in status.stdout
    assert f"{samples.data_lines:,}" in status.stdout  # rows in, over the two good files

    quality = cli("quality")
    assert quality.returncode == 0
    for rule in ("row.null", "row.malformed", "date.duplicate", "ohlc.inconsistent"):
        assert rule in quality.stdout
    assert "price.jump WARNING" in quality.stdout
    assert "null,null,null,null,null,null" in quality.stdout  # the original row is shown

    one = cli("quality", "--rule", "volume.negative", "--examples", "1")
    assert "volume.negative" in one.stdout
    assert "row.null" not in one.stdout


def test_symbol_option_and_reingest(cli: CLI, tmp_path: Path) -> None:
    write_daily_csvs(
        tmp_path / "in", symbols=("prices",), start=date(2021, 1, 1), end=date(2021, 3, 31)
    )
    path = str(tmp_path / "in" / "prices.csv")
    first = cli("ingest", "csv", path, "--symbol", "AAPL")
    assert first.returncode == 0, first.stderr
    assert "AAPL" in first.stdout
    second = cli("ingest", "csv", path, "--symbol", "AAPL")
    assert "unchanged" in second.stdout
    assert (tmp_path / "data" / "lake" / "silver" / "bars" / "symbol=AAPL").is_dir()


def test_errors_are_one_red_line_and_tracebacks_need_debug(cli: CLI) -> None:
    env = {"MARKETLAKE_QUALITY__JUMP_WINDOW": "4"}
    proc = cli("status", env=env)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: invalid setting quality: Value error, quality.jump_window must be odd (a centred "
        "window) — fix it in marketlake.yaml or the MARKETLAKE_* environment"
    ]
    debug = cli("--debug", "status", env=env)
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1].startswith("error: invalid setting")


def test_nothing_to_show_yet(cli: CLI) -> None:
    assert "no runs yet" in cli("status").stdout
    assert "nothing quarantined" in cli("quality").stdout
    unknown = cli("quality", "--rule", "no.such.rule")
    assert unknown.returncode == 1
    assert "marketlake quality --rules" in unknown.stderr
