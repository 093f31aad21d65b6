"""Connection failures give one clear line, never the password: the library and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from marketlake.config import Settings, load_settings
from marketlake.errors import WarehouseError, WarehouseUnavailableError
from marketlake.warehouse import build_warehouse
from tests.servers import PgServer
from tests.support import free_port

pytestmark = pytest.mark.integration

SECRET = "s3cr3t-never-shown"
# The password-checked role scripts/services.sh creates (trust would accept any password).
AUTH_ROLE = "marketlake_auth"


def settings_for(tmp_path: Path, **postgres: object) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        warehouse={"target": "postgres", "postgres": {"password": SECRET, **postgres}},
    )


def test_wrong_password_is_one_line_naming_the_user_not_the_secret(
    tmp_path: Path, pg_server: PgServer
) -> None:
    settings = settings_for(
        tmp_path, host=pg_server.host, port=pg_server.port, user=AUTH_ROLE, dbname="postgres"
    )
    try:
        build_warehouse(settings)
    except WarehouseError as exc:
        text = str(exc)
    else:
        pytest.fail(
            f"PostgreSQL accepted a wrong password for {AUTH_ROLE}: run "
            "`scripts/services.sh postgres` to create the password-checked test role",
            pytrace=False,
        )
    assert "refused the login" in text
    assert AUTH_ROLE in text
    assert "MARKETLAKE_WAREHOUSE__POSTGRES__PASSWORD" in text
    assert SECRET not in text
    assert "\n" not in text


def test_unreachable_server_is_a_transient_error_with_what_to_do(tmp_path: Path) -> None:
    port = free_port()
    settings = settings_for(tmp_path, port=port, connect_timeout_s=2)
    with pytest.raises(WarehouseUnavailableError) as caught:
        build_warehouse(settings)
    text = str(caught.value)
    assert f"127.0.0.1:{port}" in text
    assert "services.sh" in text
    assert SECRET not in text
    assert "\n" not in text


def test_cli_prints_one_red_line_without_the_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETLAKE_")}
    env.update(
        {
            "MARKETLAKE_CONFIG": str(tmp_path / "absent.yaml"),
            "MARKETLAKE_DATA_DIR": str(tmp_path / "data"),
            "MARKETLAKE_WAREHOUSE__POSTGRES__PORT": str(free_port()),
            "MARKETLAKE_WAREHOUSE__POSTGRES__PASSWORD": SECRET,
            "MARKETLAKE_WAREHOUSE__POSTGRES__CONNECT_TIMEOUT_S": "2",
        }
    )
    (tmp_path / "absent.yaml").write_text("{}\n")
    script = Path(sys.executable).parent / "marketlake"
    done = subprocess.run(
        [str(script), "build", "--target", "postgres"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert "cannot reach PostgreSQL" in output
    assert SECRET not in output
    assert "Traceback" not in output


def test_dbt_profile_reads_the_password_from_the_environment_only(tmp_path: Path) -> None:
    from marketlake.warehouse.dbt_runner import PASSWORD_ENV, dbt_paths, write_profile

    settings = settings_for(tmp_path, user="analyst", schema_prefix="dev_")
    profile = write_profile(settings, dbt_paths(settings)).read_text()
    assert SECRET not in profile
    assert f"env_var('{PASSWORD_ENV}'" in profile.replace("''", "'")
    assert "type: postgres" in profile
    assert "schema: dev_main" in profile
