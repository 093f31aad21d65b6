"""The stream commands when a server is missing: one line saying which, and what to run."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import make_settings
from .support import Names, cli, free_port

pytestmark = pytest.mark.integration


def one_message(stderr: str) -> str:
    """The CLI's one error message (the console may wrap it), with no traceback."""
    assert stderr.startswith("error:"), stderr
    assert stderr.count("error:") == 1, stderr
    assert "Traceback" not in stderr
    return " ".join(stderr.split())


def test_nats_unreachable_is_one_line_naming_it(live_db: str, names: Names, tmp_path: Path) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    settings = make_settings(url, live_db, names, tmp_path, connect_timeout_s=2)
    for command in (["produce", "--synthetic", "--count", "5"], ["consume", "--once"], ["status"]):
        result = cli(settings, "stream", *command)
        assert result.returncode == 1, result.stdout
        line = one_message(result.stderr)
        assert f"cannot reach NATS at {url}" in line
        assert "scripts/services.sh nats" in line


def test_postgres_unreachable_is_one_line_naming_it(
    nats_url: str, names: Names, tmp_path: Path
) -> None:
    settings = make_settings(nats_url, "nowhere", names, tmp_path)
    down = settings.model_copy(
        update={
            "warehouse": settings.warehouse.model_copy(
                update={
                    "postgres": settings.warehouse.postgres.model_copy(
                        update={"port": free_port(), "connect_timeout_s": 2}
                    )
                }
            )
        }
    )
    result = cli(down, "stream", "consume", "--once")
    assert result.returncode == 1
    line = one_message(result.stderr)
    assert "cannot reach PostgreSQL" in line
    assert "scripts/services.sh postgres" in line


def test_conflicting_options_are_refused(live_db: str, names: Names, tmp_path: Path) -> None:
    settings = make_settings("nats://127.0.0.1:1", live_db, names, tmp_path)
    both = cli(settings, "stream", "produce", "--synthetic", "--from-silver", "AAA")
    assert both.returncode == 2
    assert "either --from-silver" in both.stderr
    speed = cli(settings, "stream", "produce", "--from-silver", "AAA", "--speed", "fast")
    assert speed.returncode == 2
    assert "100x" in speed.stderr
