"""``marketlake ingest <source> ...``: land raw data in bronze and publish it to silver."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from marketlake.cli import state

if TYPE_CHECKING:
    from marketlake.ingest import IngestReport

ingest_app = typer.Typer(
    help="Land raw data in bronze and publish it to silver.", no_args_is_help=True
)


@ingest_app.command("csv")
def ingest_csv_command(
    paths: Annotated[
        list[str], typer.Argument(help="CSV files, folders (every *.csv inside) or quoted globs.")
    ],
    symbol: Annotated[
        str | None,
        typer.Option("--symbol", "-s", help="Symbol of the data (default: from the file name)."),
    ] = None,
    reprocess: Annotated[
        bool,
        typer.Option("--reprocess", help="Publish to silver again files published before."),
    ] = False,
) -> None:
    """Ingest Yahoo-style daily CSV exports (Date,Open,High,Low,Close,Adj Close,Volume)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from marketlake.cli.render import print_ingest_report
    from marketlake.ingest import ingest_csv
    from marketlake.sources.csv_daily import locate_files

    settings = state.settings()
    out = state.console()
    total = len(locate_files(paths)[0])
    with Progress(
        TextColumn("ingest csv"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=state.console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("", total=total)
        report = ingest_csv(
            paths,
            settings=settings,
            symbol=symbol,
            reprocess=reprocess,
            on_file=lambda f: progress.update(
                task, advance=1, description=f.path.rsplit("/", 1)[-1]
            ),
        )
    print_ingest_report(out, report)
    _exit_on_failures(report)


def _exit_on_failures(report: IngestReport) -> None:
    failed = report.failed
    if failed:
        state.fail(
            f"{len(failed)} of {len(report.files)} files failed (listed above); the others were "
            "ingested — fix those files and run the same command again"
        )
