"""``marketlake continuous`` as a user runs it: the summary, the roll table, plain errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from marketlake.bars.contracts import load_sessions
from marketlake.config import load_settings
from marketlake.lake import Lake, open_lake
from tests.e2e.conftest import CLI
from tests.unit.bars.test_continuous import write_trades

pytestmark = pytest.mark.e2e


def lake_of(tmp_path: Path) -> Lake:
    return open_lake(load_settings(data_dir=tmp_path / "data"))


def test_build_then_show_the_roll_table(cli: CLI, tmp_path: Path) -> None:
    lake = lake_of(tmp_path)
    sessions = load_sessions("CMES", date(2023, 12, 1), date(2025, 1, 31))
    write_trades(lake, sessions, "ESH24", date(2024, 1, 2), date(2024, 3, 15), price=5000.0)
    write_trades(lake, sessions, "ESM24", date(2024, 2, 1), date(2024, 6, 21), price=5040.0)

    built = cli("continuous", "ES", "--roll", "days:2", "--adjust", "difference")
    assert built.returncode == 0, built.stderr
    assert "roll days:2, earlier prices back-adjusted by difference" in built.stdout
    assert "exchange calendar CMES" in built.stdout
    assert "2 contracts (ESH24 .. ESM24), 1 roll" in built.stdout
    assert "silver continuous_rolls" in built.stdout

    shown = cli("continuous", "ES", "--show-rolls", "--roll", "days:2")
    assert shown.returncode == 0, shown.stderr
    row = next(line for line in shown.stdout.splitlines() if "2024-03-13" in line)
    assert "ESH24" in row
    assert "ESM24" in row
    assert "+" in row  # the gap, signed
    assert "days" in row

    status = cli("status")
    assert "continuous" in status.stdout


def test_root_without_contracts_is_said_plainly(cli: CLI, tmp_path: Path) -> None:
    lake = lake_of(tmp_path)
    sessions = load_sessions("CMES", date(2023, 12, 1), date(2025, 1, 31))
    write_trades(lake, sessions, "ES", date(2024, 1, 2), date(2024, 2, 28), price=5000.0)
    proc = cli("continuous", "ES", "--adjust", "ratio")
    assert proc.returncode == 0, proc.stderr
    assert "no contract column" in proc.stdout
    assert "already continuous" in proc.stdout


def test_several_sources_and_unknown_roots_fail_in_one_line(cli: CLI, tmp_path: Path) -> None:
    lake = lake_of(tmp_path)
    sessions = load_sessions("CMES", date(2023, 12, 1), date(2025, 1, 31))
    for source in ("hdf5:tick/trades", "hdf5:tick/trades_filter0vol"):
        write_trades(
            lake, sessions, "ESH24", date(2024, 1, 2), date(2024, 2, 28), price=5e3, source=source
        )
    proc = cli("continuous", "ES")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    error = " ".join(proc.stderr.split())  # one message, however the terminal wraps it
    assert error.startswith("error: ES trades come from 2 sources")
    assert "--source hdf5:tick/trades" in error

    unknown = cli("continuous", "ZZ")
    assert unknown.returncode == 1
    assert "no contract specification for futures root 'ZZ'" in unknown.stderr
