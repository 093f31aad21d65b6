"""Where Dagster keeps its state for marketlake: ``DAGSTER_HOME`` under the data dir."""

from __future__ import annotations

from pathlib import Path

from marketlake.config import Settings

# Runs, event logs and schedules in SQLite files beside it; no telemetry (no network).
DAGSTER_YAML = """\
# Written by marketlake orchestrate; edit freely (it is not rewritten once it exists).
telemetry:
  enabled: false
"""


def dagster_home(settings: Settings) -> Path:
    """``<data_dir>/dagster``, created with a ``dagster.yaml`` when missing.

    Returns:
        The absolute folder to use as ``DAGSTER_HOME``.
    """
    home = (settings.data_dir / "dagster").absolute()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home
