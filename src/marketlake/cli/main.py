"""Entry point and the one error boundary of the CLI.

Every error becomes one red line (what, where, what to do) and exit code 1; the traceback is
shown only with ``--debug``. Heavy modules (pyarrow, polars, duckdb, dbt) are imported inside the
commands, so ``marketlake --help`` answers at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from marketlake.cli import state
from marketlake.cli.bars import bars
from marketlake.cli.compact import compact
from marketlake.cli.continuous import continuous
from marketlake.cli.dashboard import dashboard
from marketlake.cli.ingest import ingest_app
from marketlake.cli.ops import quality, status
from marketlake.cli.orchestrate import orchestrate
from marketlake.cli.pipeline import build, demo
from marketlake.cli.report import report
from marketlake.cli.run import run as run_command
from marketlake.cli.serve import serve
from marketlake.cli.stream import stream_app

app = typer.Typer(
    name="marketlake",
    help="Raw market data in, analysis-ready data out: bronze -> silver -> dbt warehouse.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(ingest_app, name="ingest")
app.add_typer(stream_app, name="stream")
app.command()(demo)
app.command()(bars)
app.command()(continuous)
app.command()(build)
app.command(name="run")(run_command)
app.command()(orchestrate)
app.command()(status)
app.command()(quality)
app.command()(report)
app.command()(compact)
app.command()(serve)
app.command()(dashboard)


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Root of everything marketlake writes (setting data_dir)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Settings file (default ./marketlake.yaml)."),
    ] = None,
) -> None:
    """marketlake: turn raw financial market data into analysis-ready data."""
    state.configure(debug=debug, data_dir=data_dir, config=config)


def run() -> None:
    """Console-script entry: run the app behind the error boundary.

    Typer reports usage errors itself (exit 2); everything else raised by a command ends here.
    """
    try:
        app()
    except KeyboardInterrupt:
        state.fail(
            "interrupted — every step is safe to run again; it resumes where it stopped", 130
        )
    except Exception as exc:  # the boundary: nothing escapes as a traceback without --debug
        state.fail_with(exc)


if __name__ == "__main__":
    run()
