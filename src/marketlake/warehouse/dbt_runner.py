"""Running the packaged dbt project in-process, with everything dbt writes kept in ``state_dir``.

The project lives inside the installed package (``dbt_project/``), which may be read-only, so
the profile, ``target/`` (compiled SQL, run results, partial-parse state) and ``logs/`` all go
to ``<state_dir>/dbt``. dbt never reaches the internet: no version check, no usage statistics.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from marketlake.config import Settings
from marketlake.errors import ConfigError, WarehouseError
from marketlake.warehouse.duckdb_target import is_lock_error, locked_error

log = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).parent / "dbt_project"
PROFILE_NAME = "marketlake"
TARGET_NAME = "duckdb"
# dbt reads the PostgreSQL password from here (set for the run only, never written to a file).
PASSWORD_ENV = "MARKETLAKE_DBT_POSTGRES_PASSWORD"
TZ_ENV = "PGTZ"

ConsoleLevel = Literal["none", "error", "warn", "info", "debug"]


@dataclass(frozen=True)
class DbtPaths:
    """Where dbt's profile, artifacts and logs go."""

    root: Path

    @property
    def profiles_dir(self) -> Path:
        """Folder of the generated ``profiles.yml``."""
        return self.root

    @property
    def target_path(self) -> Path:
        """dbt's ``target/`` (compiled SQL, ``run_results.json``, partial-parse state)."""
        return self.root / "target"

    @property
    def log_path(self) -> Path:
        """dbt's log folder."""
        return self.root / "logs"

    @property
    def log_file(self) -> Path:
        """The full (debug-level) dbt log."""
        return self.log_path / "dbt.log"


@dataclass(frozen=True)
class NodeOutcome:
    """What dbt did with one node (model, data test, unit test...)."""

    unique_id: str
    name: str
    resource_type: str  # "model", "test", "unit_test", "seed"...
    status: str  # "success", "error", "skipped", "pass", "fail", "warn"
    message: str


@dataclass(frozen=True)
class DbtOutcome:
    """The result of one dbt invocation."""

    nodes: list[NodeOutcome]
    log_file: Path


def dbt_paths(settings: Settings) -> DbtPaths:
    """dbt's folders for these settings."""
    return DbtPaths(settings.state_dir / "dbt")


def project_vars(settings: Settings) -> dict[str, Any]:
    """The dbt vars marketlake passes on every run: the anomaly thresholds of ``warehouse.gold``.

    Returns:
        ``anomaly_<name>`` -> value, for every ``anomaly_*`` setting (read by the project's
        ``anomaly_threshold`` macro, whose defaults equal the settings' defaults), and on
        PostgreSQL ``schema_prefix`` (read by ``generate_schema_name`` and the sources).
    """
    gold = settings.warehouse.gold.model_dump()
    found: dict[str, Any] = {k: v for k, v in gold.items() if k.startswith("anomaly_")}
    if settings.warehouse.target == "postgres":
        found["schema_prefix"] = settings.warehouse.postgres.schema_prefix
    return found


def write_profile(settings: Settings, paths: DbtPaths) -> Path:
    """Write ``profiles.yml`` for the configured target (``warehouse.target``).

    No secret is ever written: the PostgreSQL password is read by dbt from the environment
    variable :data:`PASSWORD_ENV`, which :func:`run_dbt` sets for the run only.

    Returns:
        The profile's path.
    """
    target = settings.warehouse.target
    if target == "postgres":
        output = _postgres_output(settings)
    elif target == "duckdb":
        output = _duckdb_output(settings)
    else:
        raise ConfigError(
            f"dbt cannot run on warehouse.target {target!r} here",
            hint="use --target duckdb or --target postgres",
        )
    profile = {PROFILE_NAME: {"target": target, "outputs": {target: output}}}
    paths.profiles_dir.mkdir(parents=True, exist_ok=True)
    path = paths.profiles_dir / "profiles.yml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False))
    return path


def _duckdb_output(settings: Settings) -> dict[str, Any]:
    duck = settings.warehouse.duckdb
    return {
        "type": "duckdb",
        "path": str(settings.duckdb_path),
        "schema": "main",
        "threads": duck.threads,
        # One DuckDB instance for the whole run (reopening per node costs ~25%);
        # run_dbt closes it afterwards so the file's lock is released.
        "keep_open": True,
        "settings": {
            "threads": duck.threads,
            "memory_limit": duck.memory_limit,
            # Casts between instants and dates must not depend on the host's zone.
            "TimeZone": "UTC",
        },
    }


def _postgres_output(settings: Settings) -> dict[str, Any]:
    pg = settings.warehouse.postgres
    return {
        "type": "postgres",
        "host": pg.host,
        "port": pg.port,
        "user": pg.user,
        "password": "{{ env_var('" + PASSWORD_ENV + "', '') }}",
        "dbname": pg.dbname,
        "schema": f"{pg.schema_prefix}main",
        "threads": pg.threads,
        "connect_timeout": pg.connect_timeout_s,
        "sslmode": pg.sslmode,
        "retries": 1,
    }


def run_dbt(
    command: list[str],
    settings: Settings,
    *,
    console: ConsoleLevel = "none",
) -> DbtOutcome:
    """Run one dbt command (``["build"]``, ``["test", "--select", "..."]``) on the project.

    Args:
        command: The dbt subcommand and its own arguments.
        settings: Where the warehouse and state live.
        console: dbt's console log level; the full log always goes to ``state_dir``.

    Returns:
        The outcome of every node dbt ran, skipped or failed.

    Raises:
        WarehouseLockedError: dbt found the DuckDB file locked by another process.
        WarehouseError: dbt could not run at all (bad project, bad profile, compilation error).
    """
    from dbt.cli.main import dbtRunner

    paths = dbt_paths(settings)
    write_profile(settings, paths)
    args = [
        *command,
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(paths.profiles_dir),
        "--target",
        settings.warehouse.target,
        "--vars",
        json.dumps(project_vars(settings)),
        "--target-path",
        str(paths.target_path),
        "--log-path",
        str(paths.log_path),
        "--log-level",
        console,
        "--log-level-file",
        "debug",
        "--no-use-colors",
        "--no-use-colors-file",
        "--no-send-anonymous-usage-stats",
        "--no-version-check",
    ]
    log.debug("dbt %s", " ".join(args))
    duckdb = settings.warehouse.target == "duckdb"
    password = settings.warehouse.postgres.password
    saved = os.environ.get(TZ_ENV)
    if not duckdb:
        # Casts between instants and dates must not depend on the server's zone (libpq).
        os.environ[TZ_ENV] = "UTC"
        if password is not None:
            os.environ[PASSWORD_ENV] = password.get_secret_value()
    try:
        result = dbtRunner().invoke(args)
    finally:
        os.environ.pop(PASSWORD_ENV, None)
        if saved is None:
            os.environ.pop(TZ_ENV, None)
        else:
            os.environ[TZ_ENV] = saved
        if duckdb:
            _release_duckdb()
    if result.exception is not None or result.result is None:
        if duckdb and is_lock_error(str(result.exception)):
            raise locked_error(settings.duckdb_path, str(result.exception))
        raise WarehouseError(
            f"dbt {command[0]} could not run: {result.exception}",
            hint=f"see the full dbt log at {paths.log_file}",
            project=str(PROJECT_DIR),
        )
    nodes = [_node_outcome(r) for r in getattr(result.result, "results", [])]
    return DbtOutcome(nodes=nodes, log_file=paths.log_file)


def _release_duckdb() -> None:
    """Close dbt-duckdb's DuckDB instance, which it otherwise keeps for the life of the process.

    Without this the process holds the warehouse's write lock after the build, and a later
    connection with other settings (read-only, for the export) is refused.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = getattr(DuckDBConnectionManager, "_ENV", None)
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()  # type: ignore[no-untyped-call]


def _node_outcome(result: Any) -> NodeOutcome:
    node = result.node
    message = result.message or ""
    return NodeOutcome(
        unique_id=str(node.unique_id),
        name=str(node.name),
        resource_type=_text(node.resource_type),
        status=_text(result.status),
        message=" ".join(str(message).split()),
    )


def _text(value: Any) -> str:
    return str(getattr(value, "value", value))
