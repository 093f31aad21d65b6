"""The live page's test parts: a database of its own, the dashboard started with stream settings,
and reading a metric off the page."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx
import psycopg
import pytest
from playwright.sync_api import Page

from marketlake.config import Settings
from tests.e2e.conftest import MARKETLAKE
from tests.e2e.dashboard_support import PAGE_S, START_S, free_port
from tests.integration.stream.conftest import SETUP
from tests.integration.stream.support import env_of

T = TypeVar("T")

NATS = (
    os.environ.get("MARKETLAKE_TEST_NATS_HOST", "127.0.0.1"),
    int(os.environ.get("MARKETLAKE_TEST_NATS_PORT", "4222")),
)
PG = {
    "host": os.environ.get("MARKETLAKE_TEST_PG_HOST", "127.0.0.1"),
    "port": int(os.environ.get("MARKETLAKE_TEST_PG_PORT", "5432")),
    "user": os.environ.get("MARKETLAKE_TEST_PG_USER", "postgres"),
}


def off_loop(fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Run ``fn`` in another thread: Playwright's sync API keeps an event loop running in this
    one, so the stream helpers' ``asyncio.run`` must run elsewhere."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def nats_url() -> str:
    """The machine's NATS server; fails (never skips) when it does not answer."""
    host, port = NATS
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"NATS is not reachable at {host}:{port} ({exc}); {SETUP}", pytrace=False)
    return f"nats://{host}:{port}"


@contextmanager
def database() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped at the end."""
    name = f"ml_live_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(**PG, dbname="postgres", autocommit=True, connect_timeout=5)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        detail = str(exc).strip().splitlines()[-1]
        pytest.fail(f"PostgreSQL is not reachable ({detail}); {SETUP}", pytrace=False)
    admin.execute(f'create database "{name}"')
    try:
        yield name
    finally:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


@contextmanager
def live_dashboard(settings: Settings, workdir: Path, *, refresh_s: float) -> Iterator[str]:
    """``marketlake dashboard`` with ``settings`` (stream, PostgreSQL, data dir) in its
    environment and the live page refreshing every ``refresh_s``; yields its URL."""
    port = free_port()
    env = env_of(settings) | {
        "NO_COLOR": "1",
        "MARKETLAKE_DASHBOARD__LIVE_REFRESH_S": str(refresh_s),
    }
    log_path = workdir / f"dashboard-{port}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [MARKETLAKE, "dashboard", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, proc, log_path)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
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
