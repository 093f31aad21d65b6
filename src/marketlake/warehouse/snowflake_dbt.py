"""dbt on Snowflake: the dbt-snowflake profile built from settings, and running the project.

The profile never holds a secret: the password or the key's passphrase is an ``env_var``
reference (``DBT_ENV_SECRET_*``, which dbt scrubs from its logs), set in the environment of
this process only while dbt runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import yaml

from marketlake.config import Settings, SnowflakeSettings
from marketlake.errors import ConfigError, WarehouseError
from marketlake.warehouse.dbt_runner import PROFILE_NAME, PROJECT_DIR, project_vars

TARGET_NAME = "snowflake"
PASSWORD_ENV = "DBT_ENV_SECRET_SNOWFLAKE_PASSWORD"  # dbt scrubs DBT_ENV_SECRET_* from logs
PASSPHRASE_ENV = "DBT_ENV_SECRET_SNOWFLAKE_KEY_PASSPHRASE"
FAILED = frozenset({"error", "fail", "runtime error"})


def check_account(sf: SnowflakeSettings) -> None:
    """Raise unless the settings name an account marketlake can log in to.

    Raises:
        ConfigError: account, user, warehouse or a credential is missing.
    """
    missing = [name for name in ("account", "user", "warehouse") if not getattr(sf, name)]
    if sf.password is None and not sf.private_key_path:
        missing.append("password or private_key_path")
    if missing:
        raise ConfigError(
            "no Snowflake account to build on: warehouse.snowflake."
            + ", ".join(missing)
            + " not set",
            hint="set them in marketlake.yaml or MARKETLAKE_WAREHOUSE__SNOWFLAKE__*; "
            "`build --target snowflake --dry-run` shows the SQL without an account",
        )


def profile(settings: Settings, *, placeholders: bool = False) -> dict[str, Any]:
    """The dbt-snowflake profile; secrets are ``env_var`` references, never values.

    Args:
        settings: ``warehouse.snowflake``.
        placeholders: Show unset required fields as ``<unset: ...>`` (for a dry run).
    """
    sf = settings.warehouse.snowflake

    def required(name: str) -> str:
        value = str(getattr(sf, name) or "")
        return value or (f"<unset: warehouse.snowflake.{name}>" if placeholders else "")

    output: dict[str, Any] = {
        "type": "snowflake",
        "account": required("account"),
        "user": required("user"),
        "database": sf.database,
        "warehouse": required("warehouse"),
        "schema": sf.schema_name,
        "threads": sf.threads,
        "query_tag": "marketlake",
        "connect_timeout": sf.connect_timeout_s,
        "connect_retries": 1,
        "client_session_keep_alive": False,
    }
    if sf.role:
        output["role"] = sf.role
    if sf.private_key_path:
        output["private_key_path"] = sf.private_key_path
        if sf.private_key_passphrase is not None:
            output["private_key_passphrase"] = '{{ env_var("' + PASSPHRASE_ENV + '") }}'
    else:
        output["password"] = '{{ env_var("' + PASSWORD_ENV + '") }}'
    if sf.host:
        output["host"] = sf.host
    if sf.port:
        output["port"] = sf.port
    return {PROFILE_NAME: {"target": TARGET_NAME, "outputs": {TARGET_NAME: output}}}


def profile_yaml(settings: Settings, *, placeholders: bool = False) -> str:
    """:func:`profile` as the text of ``profiles.yml``."""
    return yaml.safe_dump(profile(settings, placeholders=placeholders), sort_keys=False)


def dbt_paths_root(settings: Settings) -> str:
    """Folder of the Snowflake profile, dbt's target/ and logs/."""
    return str(settings.state_dir / "dbt-snowflake")


def dbt_command(
    settings: Settings,
    command: Sequence[str] = ("build", "--exclude-resource-type", "unit_test"),
) -> list[str]:
    """The dbt arguments of a Snowflake build (the same project, vars and flags as DuckDB's).

    The build leaves dbt's unit tests out: they run on DuckDB and PostgreSQL, and two of them
    expect int_daily_bars_smoothed's recursion bit for bit, which Snowflake's scan form
    (macros/indicators/smoothing_scan.sql) matches to ~1e-15, not to the last bit.
    """
    root = dbt_paths_root(settings)
    return [
        *command,
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        root,
        "--target",
        TARGET_NAME,
        "--vars",
        json.dumps(project_vars(settings)),
        "--target-path",
        f"{root}/target",
        "--log-path",
        f"{root}/logs",
        "--log-level",
        "none",
        "--log-level-file",
        "debug",
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
        "--no-version-check",
    ]


def _secret_env(sf: SnowflakeSettings) -> dict[str, str]:
    env: dict[str, str] = {}
    if sf.password is not None:
        env[PASSWORD_ENV] = sf.password.get_secret_value()
    if sf.private_key_passphrase is not None:
        env[PASSPHRASE_ENV] = sf.private_key_passphrase.get_secret_value()
    return env


def run_dbt_snowflake(settings: Settings, command: list[str]) -> list[dict[str, str]]:
    """Run dbt on Snowflake; the secrets are in this process's environment only for the call.

    Returns:
        name, resource_type, status and message of every node dbt ran.

    Raises:
        WarehouseError: dbt could not run (bad profile, no connection, compilation error).
    """
    from dbt.cli.main import dbtRunner

    root = dbt_paths_root(settings)
    os.makedirs(root, exist_ok=True)
    with open(f"{root}/profiles.yml", "w") as handle:
        handle.write(profile_yaml(settings))
    secrets = _secret_env(settings.warehouse.snowflake)
    saved = {name: os.environ.get(name) for name in secrets}
    os.environ.update(secrets)
    try:
        result = dbtRunner().invoke(command)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    if result.exception is not None or result.result is None:
        raise WarehouseError(
            f"dbt could not run on Snowflake: {result.exception}",
            hint=f"see the dbt log in {root}/logs",
        )
    return [
        {
            "name": str(r.node.name),
            "resource_type": str(getattr(r.node.resource_type, "value", r.node.resource_type)),
            "status": str(getattr(r.status, "value", r.status)),
            "message": " ".join(str(r.message or "").split()),
        }
        for r in getattr(result.result, "results", [])
    ]


def count_nodes(nodes: list[dict[str, str]], resource_type: str, *statuses: str) -> int:
    """How many nodes of a resource type ended in one of ``statuses``."""
    return sum(1 for n in nodes if n["resource_type"] == resource_type and n["status"] in statuses)
