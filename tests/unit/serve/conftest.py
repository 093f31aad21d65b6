"""Every serve test starts and ends with an empty loader cache (it is process-wide)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from marketlake.serve import loader


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    loader.cache_clear()
    yield
    loader.cache_clear()
