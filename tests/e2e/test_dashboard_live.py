"""The dashboard's live page in a real browser, fed by the real consumer from the real NATS."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from playwright.sync_api import Browser, Page

from marketlake.config import Settings, load_settings
from marketlake.serve.live import read_live, read_progress
from marketlake.stream.messages import Tick
from tests.integration.stream.conftest import make_settings
from tests.integration.stream.support import (
    SECOND,
    Names,
    applied_seq,
    delete_streams,
    publish_ticks,
    run_consumer,
    start_cli,
    wait_until,
    walk,
)
from tests.servers import nats_url
from tests.support import free_port

from .dashboard_support import (
    assert_no_error,
    settle,
    wait_for_elements,
)
from .live_support import (
    database,
    live_dashboard,
    metric,
    number,
    off_loop,
    wait_for_metric,
)

pytestmark = pytest.mark.e2e

SYMBOLS = ["AAA", "BRK.B"]
STEP = 6 * 3600 * SECOND  # four ticks a day: 120 ticks span 30 days of daily sessions
REFRESH_S = 1.0


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 2000})
    yield context.new_page()
    context.close()


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """A database, streams, durable and schema of this test's own (daily periods)."""
    url, names = nats_url(), Names.unique()
    with database() as dbname:
        yield make_settings(url, dbname, names, tmp_path / "data")
    off_loop(delete_streams, url, names)


async def _publish_raw(settings: Settings, subject: str, payload: bytes) -> None:
    nc = await nats.connect(settings.stream.nats_url)
    await nc.jetstream().publish(f"{settings.stream.subject_prefix}.{subject}", payload)
    await nc.close()


@pytest.fixture
def consuming(settings: Settings) -> Iterator[Settings]:
    """A month of daily sessions of two symbols (a tick again, one late, one malformed),
    applied by ``marketlake stream consume`` running in the background."""
    ticks = walk(SYMBOLS, 120, step=STEP)
    stored = off_loop(publish_ticks, settings, ticks)
    off_loop(asyncio.run, _publish_raw(settings, "AAA", b"not a tick"))
    stored += 1 + off_loop(
        publish_ticks, settings, [ticks[-2], Tick("AAA", ticks[-2].ts_event - 1, 99.0, 1.0)]
    )  # ticks[-2] again (AAA's last): a duplicate; then an AAA tick older than it: late
    consumer = start_cli(settings, "stream", "consume")
    try:
        wait_until(lambda: applied_seq(settings) == stored, 60, "the consumer to commit")
        yield settings
    finally:
        consumer.terminate()
        try:
            consumer.wait(30)
        except subprocess.TimeoutExpired:
            consumer.kill()
            consumer.wait(30)


def test_live_page_shows_the_committed_values_and_moves_by_itself(
    consuming: Settings, page: Page, tmp_path: Path
) -> None:
    settings = consuming
    view = read_live("BRK.B", settings=settings)
    progress = read_progress(settings)
    assert view is not None
    assert progress is not None
    assert progress.counts == {
        "applied": 240, "duplicate": 1, "late": 1, "malformed": 1, "redelivered": 0
    }  # fmt: skip
    with live_dashboard(settings, tmp_path, refresh_s=REFRESH_S) as url:
        page.goto(f"{url}/live?live-symbol=BRK.B")
        wait_for_elements(page, charts=2, tables=0)
        settle(page)
        main = page.get_by_test_id("stMain")
        assert "BRK.B live" in main.inner_text()
        # The numbers on the page are those read_live gives.
        latest = view.latest
        assert number(metric(page, "Price")) == latest["price"]
        for label, column in (("SMA 20", "sma_20"), ("SMA 30", "sma_30"), ("EMA 26", "ema_26")):
            assert latest[column] is not None
            assert number(metric(page, label)) == pytest.approx(latest[column], abs=0.005), label
        assert number(metric(page, "Session VWAP")) == pytest.approx(latest["vwap"], abs=0.005)
        assert latest["sma_200"] is None  # 30 sessions: not defined yet, and the page says so
        assert metric(page, "SMA 200") == "—"
        assert "Not defined yet: SMA 200" in main.inner_text()
        assert metric(page, "Last tick (UTC)") == latest["ts_event"].strftime("%H:%M:%S.%f")[:-3]
        # The consumer's counts (all symbols), as committed.
        for name, count in progress.counts.items():
            assert number(metric(page, name.capitalize())) == count, name
        titles = page.locator('[data-testid="stPlotlyChart"] .gtitle').all_text_contents()
        assert titles[0].startswith("BRK.B · last 120 ticks")
        first, sessions = view.sessions["session"][0], view.sessions.height
        assert titles[1].startswith(f"BRK.B · {sessions} sessions · {first}")
        assert_no_error(page, "live BRK.B")
        page.screenshot(path=tmp_path / "live-1.png")

        # More ticks: the running consumer applies them, the open page shows them by itself.
        page.evaluate("window.__notReloaded = true")
        more = walk(SYMBOLS, 124, step=STEP)[240:]
        off_loop(publish_ticks, settings, more)
        wait_until(lambda: applied_seq(settings) == progress.last_stream_seq + 8, 30, "commit")
        fresh = read_live("BRK.B", settings=settings)
        assert fresh is not None
        assert fresh.latest["price"] != latest["price"]
        wait_for_metric(page, "Price", fresh.latest["price"], timeout=20, tol=0)
        assert page.evaluate("window.__notReloaded") is True
        settle(page)
        assert (
            metric(page, "Last tick (UTC)") == fresh.latest["ts_event"].strftime("%H:%M:%S.%f")[:-3]
        )
        assert number(metric(page, "SMA 20")) == pytest.approx(fresh.latest["sma_20"], abs=0.005)
        assert number(metric(page, "Applied")) == 248
        assert fresh.sessions.height == sessions + 1
        assert f"BRK.B · {sessions + 1} sessions" in " ".join(
            page.locator('[data-testid="stPlotlyChart"] .gtitle').all_text_contents()
        )
        assert_no_error(page, "live BRK.B, updated")
        page.screenshot(path=tmp_path / "live-2.png")
    assert len(list(tmp_path.glob("live-*.png"))) == 2


def test_nothing_streamed_says_what_to_run_then_shows_the_first_ticks(
    settings: Settings, page: Page, tmp_path: Path
) -> None:
    with live_dashboard(settings, tmp_path, refresh_s=REFRESH_S) as url:
        page.goto(f"{url}/live")
        sentence = page.get_by_text("Nothing streamed yet")
        sentence.wait_for(timeout=60_000)
        text = sentence.inner_text()
        assert "marketlake stream consume" in text
        assert "marketlake stream produce --synthetic" in text
        assert_no_error(page, "live, nothing streamed")
        page.screenshot(path=tmp_path / "live-empty.png")

        # The first ticks consumed: the open page draws them without a reload.
        page.evaluate("window.__notReloaded = true")
        off_loop(publish_ticks, settings, walk(["CCC"], 5))
        off_loop(run_consumer, settings)
        view = read_live("CCC", settings=settings)
        assert view is not None
        wait_for_metric(page, "Price", view.latest["price"], timeout=20, tol=0)
        assert page.evaluate("window.__notReloaded") is True
        assert page.get_by_text("Nothing streamed yet").count() == 0
        assert_no_error(page, "live, first ticks")
        page.screenshot(path=tmp_path / "live-first.png")


def test_postgres_down_is_one_sentence_not_an_exception(page: Page, tmp_path: Path) -> None:
    down = load_settings(
        data_dir=tmp_path / "data",
        warehouse={"postgres": {"host": "127.0.0.1", "port": free_port()}},  # nobody listens
        stream=Names.unique().settings(),
    )
    with live_dashboard(down, tmp_path, refresh_s=REFRESH_S) as url:
        page.goto(f"{url}/live")
        warning = page.get_by_text("PostgreSQL does not answer")
        warning.wait_for(timeout=60_000)
        assert f":{down.warehouse.postgres.port}/" in warning.inner_text()
        assert "marketlake stream consume" in warning.inner_text()
        assert_no_error(page, "live, PostgreSQL down")
        page.screenshot(path=tmp_path / "live-down.png")
