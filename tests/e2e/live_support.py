"""The live page's test parts: a database of its own, the dashboard started with stream settings,
and reading a metric off the page."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from playwright.sync_api import Page

from marketlake.config import Settings
from tests import servers
from tests.e2e.dashboard_support import PAGE_S, dashboard
from tests.integration.stream.support import env_of
from tests.servers import new_database

T = TypeVar("T")


def off_loop(fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Run ``fn`` in another thread: Playwright's sync API keeps an event loop running in this
    one, so the stream helpers' ``asyncio.run`` must run elsewhere."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


@contextmanager
def database() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped at the end."""
    made = new_database(servers.pg_server(), "ml_live")
    try:
        yield next(made)
    finally:
        made.close()


@contextmanager
def live_dashboard(settings: Settings, workdir: Path, *, refresh_s: float) -> Iterator[str]:
    """``marketlake dashboard`` with ``settings`` (stream, PostgreSQL, data dir) in its
    environment and the live page refreshing every ``refresh_s``; yields its URL."""
    env = env_of(settings) | {"MARKETLAKE_DASHBOARD__LIVE_REFRESH_S": str(refresh_s)}
    with dashboard(None, workdir, env=env) as running:
        yield running.url


def metric(page: Page, label: str) -> str:
    """The value shown by the metric labelled exactly ``label`` (waits for it to appear)."""
    box = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )
    value = box.get_by_test_id("stMetricValue")
    value.wait_for(timeout=PAGE_S * 1000)
    return value.inner_text().strip()


def number(text: str) -> float:
    """A number as the page shows it (``1,234.56``)."""
    return float(text.replace(",", ""))


def wait_for_metric(page: Page, label: str, want: float, *, timeout: float, tol: float) -> str:
    """Poll the page (never reloading it) until metric ``label`` shows ``want``."""
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = metric(page, label)
        if shown not in ("", "—") and abs(number(shown) - want) <= tol:
            return shown
        page.wait_for_timeout(200)
    raise AssertionError(f"{label} still shows {shown!r} after {timeout} s, not {want}")
