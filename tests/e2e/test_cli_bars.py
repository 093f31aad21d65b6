"""`marketlake bars` as a user runs it: bars from silver trades, a summary, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketlake.bars.writer import read_bars_info
from marketlake.config import load_settings
from marketlake.lake import open_lake
from tests.e2e.conftest import CLI
from tests.unit.bars.info_support import make_trades, write_trades

pytestmark = pytest.mark.e2e


def test_bars_from_silver_trades(cli: CLI, tmp_path: Path) -> None:
    lake = open_lake(load_settings(data_dir=tmp_path / "data"))
    ts, price, size = make_trades(3_000, start="2024-03-04T13:30:00", step_s=10)
    write_trades(lake, "ES", ts, price, size)
    kept = size > 0
    write_trades(
        lake,
        "NQ",
        ts[kept],
        price[kept],
        size[kept],
        source="hdf5:tick/trades_filter0vol",
        ingest_id="0123456789abcdef",
    )

    proc = cli("bars", "--kind", "tick", "--bars-per-day", "4", "--symbol", "ES")
    assert proc.returncode == 0, proc.stderr
    assert "ES" in proc.stdout
    assert "tick 750" in proc.stdout  # one day of 3,000 trades / 4
    assert "written" in proc.stdout
    assert "median daily tick measure 3,000 over 1 days / 4 bars per day" in proc.stdout
    bars = read_bars_info(lake, symbol="ES").to_pylist()
    assert [b["tick_count"] for b in bars] == [750] * 4
    assert all(b["complete"] for b in bars)

    again = cli("bars", "--kind", "tick", "--bars-per-day", "4", "--symbol", "ES")
    assert "unchanged" in again.stdout

    bad = cli("bars", "--kind", "dollar", "--threshold", "-5")
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    [line] = bad.stderr.strip().splitlines()
    assert line.startswith("error: dollar bar threshold must be a positive number, got -5")
    assert "pass --threshold X with X > 0, or --bars-per-day N" in line

    both = cli("bars", "--kind", "time", "--interval", "1h")  # every symbol by default
    assert both.returncode == 0, both.stderr
    assert "NQ" in both.stdout
    assert "hdf5:tick/trades_filter0vol" in both.stdout

    status = cli("status")
    assert "bars" in status.stdout
