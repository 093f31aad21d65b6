"""``marketlake dashboard`` in a real browser: charts that follow the picker, every page."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from marketlake.config import load_settings
from marketlake.lake.store import open_lake
from marketlake.ops.ledger import Run
from marketlake.warehouse import build_warehouse
from tests.integration.api.support import publish_info_bars, publish_quarantined
from tests.integration.warehouse.sample_silver import publish_sample
from tests.support import listening

from .conftest import CLI
from .dashboard_support import (
    assert_no_error,
    chart_title,
    dashboard,
    settle,
    wait_for_chart,
    wait_for_elements,
)

pytestmark = pytest.mark.e2e

# Every page of the menu, and what shows it drew its data (not a "nothing yet" sentence):
# a text, and how many Plotly charts and tables it draws.
PAGES = {
    "Aggregates": ("Avg daily volume", 1, 1),
    "Bar types": ("Distribution of returns", 2, 1),
    "Symbols": ("First session", 1, 1),
    "Quality": ("price.range — 2 rows", 1, 1),
    "Runs": ("Steps of run", 0, 2),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small lake (four symbols, quarantine, ES information bars) and its gold, built once."""
    data_dir = tmp_path_factory.mktemp("dashboard") / "data"
    settings = load_settings(data_dir=data_dir)
    lake = open_lake(settings)
    publish_sample(lake)
    publish_quarantined(lake)
    publish_info_bars(lake)
    build_warehouse(settings, run=Run(lake))
    return data_dir


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    yield context.new_page()
    context.close()


def open_page(page: Page, title: str) -> None:
    """Click ``title`` in the sidebar menu, as a user does, and wait for the page to draw."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    settle(page)


def pick_symbol(page: Page, symbol: str) -> None:
    """Type ``symbol`` in the picker and choose it."""
    box = page.get_by_role("combobox", name="Symbol")
    box.click()
    box.fill(symbol)
    page.get_by_role("option", name=symbol, exact=True).click()


def test_charts_follow_the_picker_and_every_page_draws(
    built: Path, page: Page, tmp_path: Path
) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with dashboard(built, tmp_path) as running:
        page.goto(running.url)
        wait_for_chart(page, "AAA · daily")  # the first symbol, last year of daily bars
        settle(page)
        assert_no_error(page, "chart AAA")
        assert "RSI 14" in page.locator('[data-testid="stPlotlyChart"]').first.inner_text()
        page.screenshot(path=shots / "chart-AAA.png")

        pick_symbol(page, "BBB")
        wait_for_chart(page, "BBB · daily")
        settle(page)
        assert "symbol=BBB" in page.url  # the view can be shared
        assert "BBB" in chart_title(page)
        assert_no_error(page, "chart BBB")
        page.screenshot(path=shots / "chart-BBB.png")

        # BBB also has minute bars of one session in silver.
        page.get_by_role("radiogroup", name="Interval").get_by_role("radio", name="1m").click()
        wait_for_chart(page, "BBB · 1-minute · 2021-06-01")
        settle(page)
        assert "30 bars from silver" in page.locator('[data-testid="stMain"]').inner_text()
        assert_no_error(page, "chart BBB 1m")
        page.screenshot(path=shots / "chart-BBB-1m.png")

        for title, (marker, charts, tables) in PAGES.items():
            open_page(page, title)
            page.get_by_text(marker).first.wait_for(state="attached", timeout=60_000)
            wait_for_elements(page, charts=charts, tables=tables)
            assert_no_error(page, title)
            page.screenshot(path=shots / f"{title.lower().replace(' ', '-')}.png")
        # The symbol picked on the chart page is kept on the aggregates page.
        open_page(page, "Aggregates")
        assert page.get_by_role("combobox", name="Symbol").input_value() == "BBB"
    # Stopping marketlake (SIGTERM) stopped Streamlit too: nothing had to be killed.
    assert not running.forced
    assert not listening(running.port)
    assert len(list(shots.glob("*.png"))) == 3 + len(PAGES)


def test_without_data_every_page_says_what_to_run(page: Page, tmp_path: Path) -> None:
    expected = {
        "Chart": "No bars in silver yet",
        "Aggregates": "No gold yet",
        "Bar types": "No tick, volume or dollar bars yet",
        "Symbols": "No gold yet",
        "Quality": "No bars in silver yet",
        "Runs": "No runs in the ledger yet",
    }
    with dashboard(tmp_path / "empty", tmp_path) as running:
        page.goto(running.url)
        settle(page)
        for title, sentence in expected.items():
            open_page(page, title)
            page.get_by_text(sentence).first.wait_for(timeout=60_000)
            assert_no_error(page, title)
            page.screenshot(path=tmp_path / f"empty-{title.lower().replace(' ', '-')}.png")


def test_a_port_in_use_is_one_clear_line(cli: CLI) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = cli("dashboard", "--port", str(port), timeout=60)
    assert proc.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "--port" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_help_lists_the_dashboard_without_importing_streamlit() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "marketlake.cli.main", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "dashboard" in proc.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines()}
    assert not imported & {"streamlit", "plotly"}
