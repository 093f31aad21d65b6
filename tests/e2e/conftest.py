"""Run the CLI as a user does: the installed ``marketlake`` script, in a subprocess; and look at
what it serves in Debian's Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support import launch_chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser

MARKETLAKE = str(Path(sys.executable).parent / "marketlake")
CLI = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(tmp_path: Path) -> CLI:
    """``cli("ingest", "csv", path, env={...})``: run marketlake with its data in tmp_path."""

    def run(
        *args: str, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETLAKE_")}
        full_env |= {"MARKETLAKE_DATA_DIR": str(tmp_path / "data"), "NO_COLOR": "1"}
        full_env |= env or {}
        return subprocess.run(
            [MARKETLAKE, *args],
            capture_output=True,
            text=True,
            env=full_env,
            cwd=tmp_path,
            timeout=timeout,
            check=False,
        )

    return run


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium, shared by a module's tests (a fresh context per page)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()
