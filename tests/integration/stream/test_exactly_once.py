"""SIGKILL the consumer mid-stream, restart it: every tick once, the numbers of an
uninterrupted run."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from marketlake.config import Settings

from .conftest import make_settings
from .support import (
    Names,
    applied_seq,
    counts,
    publish_ticks,
    run_consumer,
    sessions_table,
    start_cli,
    values_table,
    wait_until,
    walk,
)

pytestmark = pytest.mark.integration

TICKS = walk(["AAA", "BRK.B", "X:BTCUSD", "ESZ4"], 4_000, step=3_600 * 10**9)  # ~170 sessions


def settings_for(nats_url: str, db: str, names: Names, tmp: Path, schema: str) -> Settings:
    s = make_settings(
        nats_url, db, names, tmp, unit="day", batch_max=250, pg_schema=f"{schema}_{names.tag}"
    )
    if schema == "ref":  # a second consumer of the same stream, never interrupted
        return s.model_copy(
            update={"stream": s.stream.model_copy(update={"durable": f"ref{names.tag}"})}
        )
    return s


def test_killed_consumer_resumes_without_loss_or_double_effect(
    nats_url: str, live_db: str, names: Names, tmp_path: Path
) -> None:
    killed = settings_for(nats_url, live_db, names, tmp_path, "killed")
    assert publish_ticks(killed, TICKS) == len(TICKS)
    last = len(TICKS)

    for fraction in (0.2, 0.5):  # killed twice, mid-stream
        proc = start_cli(killed, "stream", "consume", "--once")
        wait_until(lambda f=fraction: applied_seq(killed) >= f * last, 60, "progress")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert 0 < applied_seq(killed) < last  # it really died mid-stream
    proc = start_cli(killed, "stream", "consume", "--once")
    out, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0, out

    reference = settings_for(nats_url, live_db, names, tmp_path, "ref")
    run_consumer(reference)

    rows = values_table(killed)
    assert len(rows) == len(TICKS)
    assert len({(r[0], r[1], r[2]) for r in rows}) == len(TICKS)  # every tick exactly once
    assert rows == values_table(reference)  # identical floats, not merely close
    assert sessions_table(killed) == sessions_table(reference)
    done = counts(killed)
    assert done["applied"] == len(TICKS)
    assert (done["duplicate"], done["late"], done["malformed"]) == (0, 0, 0)
    assert done["last_stream_seq"] == last
