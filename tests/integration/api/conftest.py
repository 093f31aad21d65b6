"""One lake and warehouse built from samples for every API test, and the API serving it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from marketlake.config import Settings, load_settings
from marketlake.lake.store import open_lake
from marketlake.ops.ledger import Run
from marketlake.warehouse import build_warehouse
from tests.integration.warehouse.sample_silver import publish_sample

from .support import TOKEN, Served, publish_info_bars, publish_quarantined, serve


@pytest.fixture(scope="session")
def api_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Silver from the warehouse samples (plus quarantine and information bars), built once."""
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("api"), api={"token": TOKEN, "page_size": 250}
    )
    lake = open_lake(settings)
    publish_sample(lake)
    publish_quarantined(lake)
    publish_info_bars(lake)
    build_warehouse(settings, run=Run(lake))
    return settings


@pytest.fixture(scope="session")
def api(api_settings: Settings) -> Iterator[Served]:
    """The API with open reads, on a free loopback port."""
    with serve(api_settings) as served:
        yield served
