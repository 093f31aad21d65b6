"""Fixtures of the warehouse tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from marketlake.config import Settings
from marketlake.lake.store import Lake, open_lake

from .support import make_settings, refuse_network


@pytest.fixture
def offline() -> Iterator[None]:
    """Fail any attempt to open a network connection (dbt must never phone home)."""
    with pytest.MonkeyPatch.context() as patch:
        refuse_network(patch)
        yield


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings of a fresh, empty data dir."""
    return make_settings(tmp_path)


@pytest.fixture
def lake(settings: Settings) -> Lake:
    """The (empty) lake of ``settings``."""
    return open_lake(settings)
