"""The broker is killed mid-stream and started again on its store: the consumer reconnects,
finishes, and applies every tick exactly once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .conftest import make_settings
from .support import (
    Names,
    NatsServer,
    applied_seq,
    counts,
    publish_ticks,
    run_consumer,
    start_cli,
    values_table,
    wait_until,
    walk,
)

pytestmark = pytest.mark.integration

TICKS = walk(["AAA", "BBB", "CCC"], 5_000)


def test_consumer_reconnects_after_a_broker_restart(
    live_db: str, names: Names, tmp_path: Path
) -> None:
    server = NatsServer(tmp_path / "nats-store")
    server.start()
    try:
        settings = make_settings(
            server.url, live_db, names, tmp_path, unit="bar", batch_max=200, idle_s=6.0
        )
        assert publish_ticks(settings, TICKS) == len(TICKS)
        time.sleep(0.5)  # let the broker write its store before it is killed
        proc = start_cli(settings, "stream", "consume", "--until-idle")
        wait_until(lambda: applied_seq(settings) >= len(TICKS) // 4, 60, "progress")
        server.kill()
        at_kill = applied_seq(settings)
        assert at_kill < len(TICKS)
        time.sleep(1.0)
        server.start()  # the same port and store: stream, consumer and messages survive
        out, _ = proc.communicate(timeout=90)
        assert proc.returncode == 0, out
        assert f"applied {len(TICKS):,} ticks" in out  # one process, through the outage
        assert counts(settings)["applied"] == len(TICKS)
        assert counts(settings)["last_stream_seq"] == len(TICKS)

        reference = make_settings(
            server.url, live_db, names, tmp_path, unit="bar", pg_schema=f"ref_{names.tag}",
            durable=f"ref{names.tag}",
        )  # fmt: skip
        run_consumer(reference)
        rows = values_table(settings)
        assert len({(r[0], r[1], r[2]) for r in rows}) == len(rows) == len(TICKS)
        assert rows == values_table(reference)
    finally:
        server.kill()
