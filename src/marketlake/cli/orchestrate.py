"""``marketlake orchestrate``: ``dagster dev`` on marketlake's Dagster definitions."""

from __future__ import annotations

from typing import Annotated

import typer

from marketlake.cli import state

DEFINITIONS_MODULE = "marketlake.orchestrate.definitions"


def orchestrate(
    host: Annotated[str, typer.Option("--host", help="Address the Dagster UI binds.")] = (
        "127.0.0.1"
    ),
    port: Annotated[
        int, typer.Option("--port", "-p", help="TCP port of the Dagster UI.", min=1, max=65535)
    ] = 3000,
) -> None:
    """Start Dagster (UI, schedules, sensors) on marketlake's assets: `dagster dev`.

    DAGSTER_HOME is <data_dir>/dagster; the definitions read the same settings as every other
    command (marketlake.yaml, MARKETLAKE_* variables, --data-dir, --config).
    """
    import os
    import signal
    import subprocess
    import sys

    from marketlake.orchestrate.home import dagster_home

    settings = state.settings()
    home = dagster_home(settings)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "MARKETLAKE_DATA_DIR": str(settings.data_dir.absolute()),
    }
    command = [sys.executable, "-m", "dagster", "dev", "-m", DEFINITIONS_MODULE,
               "--host", host, "--port", str(port)]  # fmt: skip
    state.console().print(
        f"dagster dev on http://{host}:{port} (DAGSTER_HOME={home}); Ctrl-C stops it"
    )
    process = subprocess.Popen(command, env=env)
    # A TERM (a service manager, a container stop) reaches dagster dev, which then shuts its
    # webserver, daemon and code server down; so does Ctrl-C, sent to the whole terminal group.
    signal.signal(signal.SIGTERM, lambda *_: process.send_signal(signal.SIGTERM))
    try:
        code = process.wait()
    except KeyboardInterrupt:
        code = process.wait()  # let it finish shutting down (a second Ctrl-C ends it at once)
    if code and code not in (-signal.SIGTERM, -signal.SIGINT, 130):
        state.fail(f"dagster dev exited with code {code}", code if code > 0 else 1)
