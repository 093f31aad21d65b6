"""The consumer against the real broker and PostgreSQL: what is applied, counted, dead-lettered."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import nats
import pytest

from marketlake.config import Settings
from marketlake.stream.messages import Tick, encode
from tests.integration.warehouse import indicators_reference as ref

from .conftest import make_settings
from .support import (
    TS0,
    Names,
    cli,
    counts,
    publish_ticks,
    run_consumer,
    sessions_table,
    values_table,
    walk,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(nats_url: str, live_db: str, names: Names, tmp_path: Path) -> Settings:
    return make_settings(
        nats_url, live_db, names, tmp_path, unit="bar", windows=[3, 20], ema_spans=[5]
    )


def test_cli_produce_consume_status_as_a_user_runs_them(settings: Settings) -> None:
    produced = cli(settings, "stream", "produce", "--synthetic", "--symbols", "AAA,BRK.B",
                   "--count", "3000")  # fmt: skip
    assert produced.returncode == 0, produced.stderr
    assert "published 3,000 ticks of 2 symbol(s)" in produced.stdout
    consumed = cli(settings, "stream", "consume", "--once")
    assert consumed.returncode == 0, consumed.stdout + consumed.stderr
    assert "applied 3,000 ticks" in consumed.stdout
    status = cli(settings, "stream", "status")
    assert status.returncode == 0, status.stderr
    assert "applied up to 3,000 (0 behind)" in status.stdout
    assert "2 symbols" in status.stdout

    rows = values_table(settings)
    assert len(rows) == 3000
    prices = [r[5] for r in rows if r[0] == "BRK.B"]  # symbol, ts_ns, seq, ts_event, session, price
    sma_20 = [r[8] for r in rows if r[0] == "BRK.B"]
    for got, want in zip(sma_20, ref.sma(prices, 20), strict=True):
        assert (got is None and want is None) or math.isclose(got, want, rel_tol=1e-12)


async def _publish_raw(settings: Settings, messages: list[tuple[str, bytes]]) -> None:
    nc = await nats.connect(settings.stream.nats_url)
    js = nc.jetstream()
    for subject, payload in messages:
        await js.publish(f"{settings.stream.subject_prefix}.{subject}", payload)
    await nc.close()


async def _dead_letters(settings: Settings) -> list[tuple[str, str, bytes]]:
    nc = await nats.connect(settings.stream.nats_url)
    js = nc.jetstream()
    info = await js.stream_info(settings.stream.dead_stream)
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(settings.stream.dead_stream, seq)
        headers = msg.headers or {}
        found.append((msg.subject, headers.get("Marketlake-Reason", ""), msg.data or b""))
    await nc.close()
    return found


def test_bad_late_and_repeated_ticks_are_counted_and_never_block(settings: Settings) -> None:
    good = walk(["AAA"], 30)
    publish_ticks(settings, good[:20])
    garbage = [
        ("AAA", b"not json at all"),
        ("AAA", b'{"symbol": "AAA", "ts_event": 1704205800000000000, "price": -1, "size": 1}'),
        ("BBB", encode(Tick("AAA", TS0, 10.0, 1.0))),  # subject and body disagree
    ]
    asyncio.run(_publish_raw(settings, garbage))
    late = Tick("AAA", good[5].ts_event + 1, 99.0, 1.0)  # never seen, older than the last
    publish_ticks(settings, [late, good[10], good[19], *good[20:]])  # good[10], [19]: again

    report = run_consumer(settings)
    assert report.counts == {
        "applied": 30, "duplicate": 2, "late": 1, "malformed": 3, "redelivered": 0
    }  # fmt: skip
    assert counts(settings)["applied"] == 30
    assert counts(settings)["malformed"] == 3
    # Each applied tick once; the late price never reached the averages.
    rows = values_table(settings)
    assert [r[1] for r in rows] == [t.ts_event for t in good]
    assert 99.0 not in [r[5] for r in rows]

    dead = asyncio.run(_dead_letters(settings))
    s = settings.stream
    assert sorted((subject, reason) for subject, reason, _ in dead) == sorted(
        [
            (s.dead_subject, "json.invalid"),
            (s.dead_subject, "price.invalid"),
            (s.dead_subject, "symbol.mismatch"),
            (s.late_subject, "tick.late"),
        ]
    )
    assert b"not json at all" in [payload for _, _, payload in dead]

    # Consuming again applies nothing and dead-letters nothing more.
    again = run_consumer(settings)
    assert again.counts["applied"] == 0
    assert len(asyncio.run(_dead_letters(settings))) == 4


def test_day_unit_keeps_one_row_per_session_final_once_the_next_began(
    nats_url: str, live_db: str, names: Names, tmp_path: Path
) -> None:
    settings = make_settings(
        nats_url, live_db, names, tmp_path, unit="day", windows=[2], ema_spans=[],
        session_timezone="UTC",
    )  # fmt: skip
    day = 86_400 * 10**9
    ticks = [
        Tick("AAA", TS0, 10.0, 100.0),
        Tick("AAA", TS0 + 60 * 10**9, 12.0, 300.0),
        Tick("AAA", TS0 + day, 14.0, 100.0),
    ]
    publish_ticks(settings, ticks)
    run_consumer(settings)
    sessions = sessions_table(settings)
    assert [(r[1].isoformat(), r[5], r[-2]) for r in sessions] == [
        ("2024-01-02", 12.0, True),  # its latest price is its close; final
        ("2024-01-03", 14.0, False),
    ]
    (sma_first, vwap_first), (sma_second, vwap_second) = [(r[7], r[8]) for r in sessions]
    assert sma_first is None  # one session: SMA(2) not defined yet
    assert vwap_first == (10 * 100 + 12 * 300) / 400
    assert sma_second == (12.0 + 14.0) / 2
    assert vwap_second == 14.0
