"""``marketlake dashboard``: the Streamlit dashboard over gold, silver, quarantine and runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from marketlake.cli import state

if TYPE_CHECKING:
    import subprocess


def dashboard(
    host: Annotated[
        str | None, typer.Option("--host", help="Address to bind (setting dashboard.host).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", "-p", min=1, max=65535, help="TCP port (setting dashboard.port)."),
    ] = None,
) -> None:
    """Serve the dashboard (charts, live averages, aggregates, bar types, quality, runs).

    Ctrl-C stops it.
    """
    import logging
    import os
    import signal
    import socket
    import subprocess
    import sys

    from marketlake.errors import ConfigError, MarketLakeError
    from marketlake.serve.dashboard import APP_FILE

    settings = state.settings()
    debug = logging.getLogger().isEnabledFor(logging.DEBUG)  # --debug
    bind_host = host or settings.dashboard.host
    bind_port = settings.dashboard.port if port is None else port
    try:  # a clear line now rather than Streamlit's own error after its start-up
        with socket.create_server((bind_host, bind_port)):
            pass
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {bind_host}:{bind_port}: {exc.strerror or exc}",
            hint="pass another --port (setting dashboard.port) or stop what uses it",
        ) from exc
    # The app builds its own settings: the same file and environment, and this --data-dir.
    env = os.environ | {"MARKETLAKE_DATA_DIR": str(settings.data_dir.absolute())}
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP_FILE),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.address", bind_host,
        "--server.port", str(bind_port),
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--client.toolbarMode", "viewer",
        "--client.showErrorDetails", "full" if debug else "type",
        "--global.developmentMode", "false",
        "--logger.level", "debug" if debug else "error",
    ]  # fmt: skip
    state.console().print(
        f"dashboard of {settings.data_dir.absolute()} on http://{bind_host}:{bind_port}"
        " (Ctrl-C stops it)",
        soft_wrap=True,
        highlight=False,
        markup=False,
    )
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    # Stopping the CLI stops the dashboard: SIGTERM is passed on; Ctrl-C reaches both already.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: proc.terminate())
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        code = _stop(proc)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if code not in (0, -signal.SIGTERM, -signal.SIGINT):
        raise MarketLakeError(
            f"the dashboard stopped with exit code {code}",
            hint="its messages are above; run again with --debug for Streamlit's log",
        )


def _stop(proc: subprocess.Popen[bytes]) -> int:
    """Wait for Streamlit to finish after Ctrl-C; kill it when it lingers."""
    import subprocess

    try:
        return int(proc.wait(timeout=10))
    except subprocess.TimeoutExpired:
        proc.kill()
        return int(proc.wait())
