"""The dbt manifest the Dagster definitions read: ``dbt parse`` of the packaged project, offline.

Parsed into ``<state_dir>/dagster/dbt`` (not the build's own ``target/``, so loading the
definitions never races a running build), with the generated profile and marketlake's vars.
It is parsed again only when a project file, the vars or the target changed (a stamp beside the
manifest says what it was parsed from); dbt's partial parsing makes that fast too. A lock keeps
two processes loading the definitions at once from parsing over each other.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
from pathlib import Path

from marketlake.config import Settings
from marketlake.errors import WarehouseError
from marketlake.warehouse.dbt_runner import PROJECT_DIR, DbtPaths, project_vars, write_profile

log = logging.getLogger(__name__)

PARSEABLE = ("duckdb", "postgres")  # targets with a profile here (Snowflake parses the same)


def manifest_paths(settings: Settings) -> DbtPaths:
    """Where the definitions' dbt profile, manifest and parse logs live."""
    return DbtPaths(settings.state_dir / "dagster" / "dbt")


def _parse_settings(settings: Settings) -> Settings:
    if settings.warehouse.target in PARSEABLE:
        return settings
    warehouse = settings.warehouse.model_copy(update={"target": "duckdb"})
    return settings.model_copy(update={"warehouse": warehouse})


def _stamp(settings: Settings) -> str:
    files = sorted(
        (str(p.relative_to(PROJECT_DIR)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in PROJECT_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    text = json.dumps([files, project_vars(settings), settings.warehouse.target])
    return hashlib.sha256(text.encode()).hexdigest()


def prepare_manifest(settings: Settings) -> Path:
    """A current ``manifest.json`` of the dbt project (``dbt parse`` when needed).

    Returns:
        The manifest's path.

    Raises:
        WarehouseError: dbt could not parse the project (the message points at its log).
    """
    settings = _parse_settings(settings)
    paths = manifest_paths(settings)
    manifest = paths.target_path / "manifest.json"
    stamp_file = paths.root / "manifest.stamp"
    paths.root.mkdir(parents=True, exist_ok=True)
    stamp = _stamp(settings)
    with open(paths.root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest.exists() and stamp_file.exists() and stamp_file.read_text() == stamp:
            return manifest
        _parse(settings, paths)
        stamp_file.write_text(stamp)
    return manifest


def _parse(settings: Settings, paths: DbtPaths) -> None:
    from dbt.cli.main import dbtRunner

    write_profile(settings, paths)
    args = [
        "parse",
        *("--project-dir", str(PROJECT_DIR), "--profiles-dir", str(paths.profiles_dir)),
        *("--target", settings.warehouse.target, "--vars", json.dumps(project_vars(settings))),
        *("--target-path", str(paths.target_path), "--log-path", str(paths.log_path)),
        *("--log-level", "none", "--log-level-file", "info"),
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
        "--no-version-check",
    ]
    log.info("dbt parse for the Dagster definitions")
    result = dbtRunner().invoke(args)
    if not result.success or result.exception is not None:
        raise WarehouseError(
            f"dbt parse could not read the project: {result.exception}",
            hint=f"see the dbt log at {paths.log_file}",
            project=str(PROJECT_DIR),
        )
