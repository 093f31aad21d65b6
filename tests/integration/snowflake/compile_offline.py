"""``dbt compile`` of a project for the snowflake target, with nothing ever connected.

dbt-snowflake opens its connection lazily, on the first query. ``--no-populate-cache`` skips
the relation cache's listing queries and ``--no-introspect`` turns any query a model's Jinja
would run (``run_query``, ``is_incremental()``) into a compile error instead of a connection.
Unit tests are left out: their fixtures ask the warehouse for column types. The caller also
refuses every socket connection, so a connection attempt fails the test rather than hang.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from marketlake.config import Settings
from marketlake.warehouse.dbt_runner import PROJECT_DIR, project_vars
from marketlake.warehouse.snowflake_dbt import PASSWORD_ENV, TARGET_NAME, profile_yaml


@dataclass(frozen=True)
class Compiled:
    """What one offline compile produced."""

    success: bool
    error: str
    nodes: dict[str, tuple[str, str]]  # unique_id -> (resource type, compiled SQL)
    target: Path  # dbt's target/ (manifest.json)

    def reached_macros(self) -> set[str]:
        """Names of the project's macros the compiled nodes called, directly or not."""
        manifest = json.loads((self.target / "manifest.json").read_text())
        macros = manifest["macros"]
        pending = [m for n in manifest["nodes"].values() for m in n["depends_on"]["macros"]]
        reached: set[str] = set()
        while pending:
            uid = pending.pop()
            if uid not in reached:
                reached.add(uid)
                pending.extend(macros.get(uid, {}).get("depends_on", {}).get("macros", []))
        return {uid.split(".")[-1] for uid in reached if uid.startswith("macro.marketlake.")}

    def project_macros(self) -> set[str]:
        """Names of every macro of the project."""
        manifest = json.loads((self.target / "manifest.json").read_text())
        return {v["name"] for v in manifest["macros"].values() if v["package_name"] == "marketlake"}


def offline_settings(settings: Settings) -> Settings:
    """Settings of an account that does not exist, on a host that cannot answer."""
    sf = settings.warehouse.snowflake.model_copy(
        update={
            "account": "offline-check",
            "user": "nobody",
            "warehouse": "none",
            "host": "127.0.0.1",
            "port": 9,  # discard: nothing listens, and sockets are refused anyway
            "connect_timeout_s": 2,
        }
    )
    warehouse = settings.warehouse.model_copy(update={"snowflake": sf})
    return settings.model_copy(update={"warehouse": warehouse})


def copy_project(destination: Path) -> Path:
    """A writable copy of the shipped dbt project (to plant models in)."""
    return Path(shutil.copytree(PROJECT_DIR, destination))


def compile_for_snowflake(
    settings: Settings,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    project_dir: Path = PROJECT_DIR,
) -> Compiled:
    """Compile every model, snapshot and data test of ``project_dir`` for Snowflake."""
    from dbt.cli.main import dbtRunner

    offline = offline_settings(settings)
    profiles = workdir / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    (profiles / "profiles.yml").write_text(profile_yaml(offline))
    monkeypatch.setenv(PASSWORD_ENV, "not-a-password")  # the profile's env_var must resolve
    result = dbtRunner().invoke(
        [
            "compile",
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(profiles),
            "--target",
            TARGET_NAME,
            "--vars",
            json.dumps(project_vars(settings)),
            "--target-path",
            str(workdir / "target"),
            "--log-path",
            str(workdir / "logs"),
            "--no-populate-cache",
            "--no-introspect",
            "--exclude",
            "resource_type:unit_test",
            "--no-partial-parse",
            "--log-level",
            "none",
            "--no-send-anonymous-usage-stats",
            "--no-version-check",
        ]
    )
    nodes: dict[str, tuple[str, str]] = {}
    for outcome in getattr(result.result, "results", None) or []:
        node = outcome.node
        kind = str(getattr(node.resource_type, "value", node.resource_type))
        nodes[str(node.unique_id)] = (kind, str(node.compiled_code or ""))
    return Compiled(
        success=bool(result.success),
        error=str(result.exception or ""),
        nodes=nodes,
        target=workdir / "target",
    )
