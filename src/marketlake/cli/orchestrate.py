"""``marketlake orchestrate``: ``dagster dev`` on marketlake's Dagster definitions."""

from __future__ import annotations

import contextlib
import subprocess
import time
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
    # dagster dev maps TERM onto its SIGINT handler; started with SIGINT ignored (`cmd &` in a
    # script, some service managers) it would ignore TERM too and never stop: restore SIGINT.
    process = subprocess.Popen(command, env=env, preexec_fn=_default_interrupt)  # noqa: PLW1509
    stopping: list[float] = []

    def stop(*_: object) -> None:
        # A TERM (a service manager, a container stop) reaches dagster dev, which then shuts
        # its webserver, daemon and code server down.
        stopping.append(time.monotonic())
        process.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    code = _wait(process, stopping, settings.ops.dagster.shutdown_s)
    if code is None:
        state.fail(
            f"dagster dev did not stop within {settings.ops.dagster.shutdown_s:g} s of being "
            "asked; its processes were killed (a run in progress was cut short: it is safe to "
            "run again)",
            1,
        )
    if code and code not in (-signal.SIGTERM, -signal.SIGINT, 130):
        state.fail(f"dagster dev exited with code {code}", code if code > 0 else 1)


def _default_interrupt() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait(process: subprocess.Popen[bytes], stopping: list[float], grace_s: float) -> int | None:
    """dagster dev's exit code; None when it outlived ``grace_s`` after a stop (then killed)."""
    while True:
        try:
            return process.wait(timeout=0.5)
        except KeyboardInterrupt:  # Ctrl-C reached the whole terminal group, dagster dev too
            stopping.append(time.monotonic())
        except subprocess.TimeoutExpired:
            pass
        if stopping and time.monotonic() - stopping[0] > grace_s:
            _kill_tree(process.pid)
            process.wait()
            return None


def _kill_tree(pid: int) -> None:
    import psutil

    try:
        parent = psutil.Process(pid)
        tree = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        return
    for proc in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(tree, timeout=10)
