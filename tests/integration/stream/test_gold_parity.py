"""Streaming a replay of silver daily bars gives gold's batch SMA/EMA, to 1e-9."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from marketlake.lake.store import open_lake
from marketlake.warehouse import build_warehouse
from tests.integration.warehouse.sample_silver import publish_sample
from tests.integration.warehouse.support import read_table

from .conftest import make_settings
from .support import Names, cli, run_consumer, sessions_table

pytestmark = pytest.mark.integration

SYMBOLS = "AAA,BBB,BRK.B,X:BTCUSD"
COLUMNS = ("sma_20", "sma_30", "sma_200", "ema_12", "ema_20", "ema_26")


def test_daily_averages_streamed_equal_gold(
    nats_url: str, live_db: str, names: Names, tmp_path: Path
) -> None:
    settings = make_settings(nats_url, live_db, names, tmp_path / "data", unit="day")
    # Overlapping deliveries (AAA), a re-delivery with other bar times (BRK.B), minute bars
    # that must stay out (BBB), weekends (X:BTCUSD): the replay keeps the rows gold keeps.
    publish_sample(open_lake(settings))
    build_warehouse(settings)
    gold = read_table(settings, "marts.fct_indicators_daily")

    produced = cli(settings, "stream", "produce", "--from-silver", SYMBOLS, "--interval", "1d")
    assert produced.returncode == 0, produced.stderr
    assert f"published {gold.height:,} ticks of 4 symbol(s)" in produced.stdout
    report = run_consumer(settings)
    assert report.counts["applied"] == gold.height
    assert report.counts["late"] == report.counts["duplicate"] == 0

    # sessions table: symbol, session, ts_ns, seq, ts_event, close, volume, sma_20, sma_30,
    # sma_200, ema_12, ema_20, ema_26, vwap, final, stream_seq
    streamed = {(r[0], r[1]): r for r in sessions_table(settings)}
    assert len(streamed) == gold.height
    checked = 0
    for row in gold.iter_rows(named=True):
        mine = streamed[(row["symbol"], row["session_date"])]
        assert mine[5] == row["close"]
        for k, column in enumerate(COLUMNS, start=7):
            want, got = row[column], mine[k]
            if want is None:
                assert got is None, (row["symbol"], row["session_date"], column)
            else:
                assert math.isclose(got, want, rel_tol=0, abs_tol=1e-9), (column, got, want)
                checked += 1
    assert checked > 4 * 6 * 500  # the long windows are reached for every symbol
    # Every session but each symbol's last is final.
    assert sum(1 for r in streamed.values() if not r[14]) == 4
