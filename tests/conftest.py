"""Shared fixtures: settings and a lake rooted in the test's own temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from marketlake.config import Settings, load_settings
from marketlake.lake import Lake, open_lake

if TYPE_CHECKING:
    from tests.s3server import S3Server


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's marketlake.yaml or MARKETLAKE_* variables."""
    import os

    for name in list(os.environ):
        if name.startswith("MARKETLAKE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MARKETLAKE_CONFIG", str(tmp_path / "absent.yaml"))
    (tmp_path / "absent.yaml").write_text("{}\n")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose data_dir is the test's temporary folder."""
    return load_settings(data_dir=tmp_path / "data")


@pytest.fixture
def lake(settings: Settings) -> Lake:
    """The (empty) lake of those settings."""
    return open_lake(settings)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3-compatible server (SeaweedFS) for the session; fails loudly if it cannot start."""
    from tests.s3server import start_s3_server

    try:
        server = start_s3_server(tmp_path_factory.mktemp("s3server"), ["lake", "flatfiles"])
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def s3_lake_uri() -> str:
    """A fresh prefix in the server's lake bucket, so tests never see each other's objects."""
    import uuid

    return f"s3://lake/t-{uuid.uuid4().hex[:12]}"
