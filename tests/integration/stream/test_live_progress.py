"""``serve.live.read_progress``: the consumer's counts and position as the dashboard reads them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import pytest

from marketlake.config import Settings, load_settings
from marketlake.errors import WarehouseUnavailableError
from marketlake.serve.live import read_progress

from .conftest import make_settings
from .support import Names, counts, free_port, publish_ticks, run_consumer, walk

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(nats_url: str, live_db: str, names: Names, tmp_path: Path) -> Settings:
    return make_settings(nats_url, live_db, names, tmp_path, unit="bar")


async def _publish_raw(settings: Settings, payload: bytes) -> None:
    nc = await nats.connect(settings.stream.nats_url)
    await nc.jetstream().publish(f"{settings.stream.subject_prefix}.AAA", payload)
    await nc.close()


def test_progress_is_none_before_a_consumer_then_what_it_committed(settings: Settings) -> None:
    assert read_progress(settings) is None  # the database exists, the live tables do not
    ticks = walk(["AAA", "BBB"], 20)
    publish_ticks(settings, ticks)
    asyncio.run(_publish_raw(settings, b"{}"))
    publish_ticks(settings, ticks[-3:])  # again: duplicates
    report = run_consumer(settings)

    progress = read_progress(settings)
    assert progress is not None
    assert progress.counts == report.counts
    assert progress.counts["applied"] == 40
    assert progress.counts["duplicate"] == 3
    assert progress.counts["malformed"] == 1
    assert progress.last_stream_seq == counts(settings)["last_stream_seq"] == 44
    assert progress.stream == settings.stream.stream_name
    assert progress.durable == settings.stream.durable
    assert progress.batches >= 1
    assert progress.updated_at is not None


def test_no_database_is_none_and_no_server_is_unavailable(tmp_path: Path) -> None:
    names = Names.unique().settings()
    absent = load_settings(
        data_dir=tmp_path, warehouse={"postgres": {"dbname": "ml_absent_db"}}, stream=names
    )
    assert read_progress(absent) is None
    down = load_settings(
        data_dir=tmp_path, warehouse={"postgres": {"port": free_port()}}, stream=names
    )
    with pytest.raises(WarehouseUnavailableError):
        read_progress(down)
