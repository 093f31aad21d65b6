"""Shared fixtures: settings and a lake rooted in the test's own temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketlake.config import Settings, load_settings
from marketlake.lake import Lake, open_lake


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
