"""``marketlake compact``: merge the small silver files of each ingest, per partition."""

from __future__ import annotations

from typing import Annotated

import typer

from marketlake.cli import state


def compact(
    *,
    dataset: Annotated[
        list[str] | None,
        typer.Option("--dataset", "-d", help="trades, quotes or bars (repeatable); all three."),
    ] = None,
    min_files: Annotated[
        int,
        typer.Option("--min-files", min=2, help="Merge an ingest's files in a partition from N."),
    ] = 2,
) -> None:
    """Merge the files of each ingest in each silver partition into one (atomic, lossless).

    Partitions left with many files (one per ingest, e.g. a vendor file a day) also get a
    served copy for the loader. Re-ingesting or retracting an ingest afterwards still replaces
    exactly its rows; an interrupted run is finished by the next one.
    """
    from marketlake.lake import open_lake
    from marketlake.lake.compact import DATASETS
    from marketlake.lake.compact import compact as run_compact

    chosen = tuple(dataset) if dataset else DATASETS
    unknown = sorted(set(chosen) - set(DATASETS))
    if unknown:
        state.fail(f"cannot compact {', '.join(unknown)} — choose from {', '.join(DATASETS)}")
    report = run_compact(open_lake(state.settings()), datasets=chosen, min_files=min_files)
    console = state.console()
    if report.recovered:
        console.print(f"[yellow]finished {report.recovered} interrupted compaction(s)[/]")
    console.print(
        f"[green]merged {report.files_in} files into {len(report.merged)}[/] "
        f"({report.rows:,} rows, none changed); {report.served} partition(s) served from one file"
    )
    if report.skipped_unpublished:
        console.print(
            f"[yellow]skipped ingests still being written: {', '.join(report.skipped_unpublished)}"
            " — let them finish (re-run the ingest to resume), then compact again[/]"
        )
