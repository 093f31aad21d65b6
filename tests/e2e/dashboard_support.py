"""``marketlake dashboard`` as a user starts it, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import MARKETLAKE
from tests.support import free_port

START_S = 90  # bounded waits: start-up of Streamlit, a page run on a busy 2-core machine
PAGE_S = 60


@dataclass
class Dashboard:
    """A running dashboard; ``forced`` tells, once stopped, whether anything had to be killed."""

    url: str
    port: int
    forced: bool = False


@contextmanager
def dashboard(
    data_dir: Path | None, workdir: Path, *, env: dict[str, str] | None = None
) -> Iterator[Dashboard]:
    """Run ``marketlake [--data-dir DATA] dashboard --port P`` until the block ends.

    Its environment is ``env`` (the settings of the test: ``MARKETLAKE_*``), or else none of
    this process's ``MARKETLAKE_*`` and an empty settings file. The process is always stopped at
    the end (also when the block fails): SIGTERM to the CLI, which must stop Streamlit; whatever
    of its process group is still there after a bounded wait is killed, and ``forced`` set.
    """
    port = free_port()
    if env is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETLAKE_")}
        env["MARKETLAKE_CONFIG"] = str(workdir / "absent.yaml")
        (workdir / "absent.yaml").write_text("{}\n")
    env = env | {"NO_COLOR": "1"}
    where = [] if data_dir is None else ["--data-dir", str(data_dir)]
    log_path = workdir / f"dashboard-{port}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [MARKETLAKE, *where, "dashboard", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
            start_new_session=True,  # its own process group: nothing outlives the test
        )
        running = Dashboard(url=f"http://127.0.0.1:{port}", port=port)
        try:
            _wait_healthy(running.url, proc, log_path)
            yield running
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                running.forced = True
            running.forced |= not _group_gone(proc.pid)
            if running.forced:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"marketlake dashboard exited at start-up:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=2).text == "ok":
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the dashboard did not answer within {START_S} s:\n{log_path.read_text()}")


def _group_gone(pgid: int) -> bool:
    """Whether every process of the group has exited (bounded wait)."""
    for _ in range(100):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def settle(page: Page) -> None:
    """Wait until Streamlit has finished running the page's script."""
    page.locator('[data-testid="stMain"]').wait_for(timeout=PAGE_S * 1000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=PAGE_S * 1000,
    )
    page.wait_for_timeout(300)  # a rerun triggered by the last widget starts within this


def assert_no_error(page: Page, where: str) -> None:
    """No Streamlit exception and no error box on the page."""
    for test_id in ("stException", "stAlertContentError"):
        shown = page.locator(f'[data-testid="{test_id}"]')
        assert shown.count() == 0, f"{where}: {test_id}: {shown.first.inner_text()}"
    assert "Traceback" not in page.locator('[data-testid="stMain"]').inner_text(), where


def chart_title(page: Page) -> str:
    """The title of the (first) Plotly chart on the page."""
    return page.locator('[data-testid="stPlotlyChart"] .gtitle').first.text_content() or ""


def wait_for_chart(page: Page, title_part: str) -> None:
    """Wait until a Plotly chart titled with ``title_part`` shows candles."""
    page.wait_for_function(
        """(part) => {
            const title = document.querySelector('[data-testid="stPlotlyChart"] .gtitle');
            const candles = document.querySelectorAll(
                '[data-testid="stPlotlyChart"] .boxlayer .trace.boxes path');
            return title && title.textContent.includes(part) && candles.length > 0;
        }""",
        arg=title_part,
        timeout=PAGE_S * 1000,
    )


def wait_for_elements(page: Page, *, charts: int, tables: int) -> None:
    """Wait until the page shows ``charts`` drawn Plotly charts and ``tables`` data frames."""
    page.wait_for_function(
        """([charts, tables]) => {
            const drawn = (id, inner) => Array.from(document.querySelectorAll(
                `[data-testid="${id}"]`)).filter((e) => e.querySelector(inner)).length;
            return drawn("stPlotlyChart", ".main-svg .trace") >= charts
                && drawn("stDataFrame", "canvas") >= tables;
        }""",
        arg=[charts, tables],
        timeout=PAGE_S * 1000,
    )
