"""``marketlake ingest <source> ...``: land raw data in bronze and publish it to silver."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from marketlake.cli import state

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from rich.console import Console

    from marketlake.ingest import IngestReport
    from marketlake.ingest_hdf5 import Hdf5Report
    from marketlake.sources.hdf5_ticks import KeyLayout

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


@ingest_app.command("hdf5")
def ingest_hdf5_command(
    path: Annotated[
        Path, typer.Argument(help="HDF5 tick file (pandas HDFStore table/fixed, or h5py).")
    ],
    *,
    key: Annotated[
        list[str] | None,
        typer.Option(
            "--key",
            "-k",
            help="Key to ingest, e.g. tick/trades (repeat for several); default: the only key "
            "holding trades.",
        ),
    ] = None,
    symbol: Annotated[
        str | None,
        typer.Option(
            "--symbol",
            "-s",
            help="Symbol of keys without a contract column (default: the file name, e.g. ES).",
        ),
    ] = None,
    list_keys: Annotated[
        bool, typer.Option("--list", help="List keys, layouts and columns; ingest nothing.")
    ] = False,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            help="Zone of times stored without one, e.g. America/Chicago (default: UTC).",
        ),
    ] = None,
    reprocess: Annotated[
        bool, typer.Option("--reprocess", help="Publish keys to silver again.")
    ] = False,
) -> None:
    """Ingest an HDF5 tick file (e.g. ES.h5) into silver trades, in bounded chunks; resumable."""
    from marketlake.config import Hdf5Settings
    from marketlake.ingest_hdf5 import ingest_hdf5, list_hdf5

    out = state.console()
    if list_keys:
        _print_hdf5_keys(out, str(path), list_hdf5(path))
        return
    settings = state.settings()
    if timezone is not None:
        try:
            hdf5 = Hdf5Settings(**{**settings.sources.hdf5.model_dump(), "timezone": timezone})
        except ValueError:
            state.fail(f"--timezone {timezone}: not a time zone name (e.g. America/Chicago, UTC)")
        sources = settings.sources.model_copy(update={"hdf5": hdf5})
        settings = settings.model_copy(update={"sources": sources})
    with _hdf5_progress(state.console(stderr=True)) as on_progress:
        report = ingest_hdf5(
            path,
            settings=settings,
            keys=key,
            symbol=symbol,
            reprocess=reprocess,
            on_progress=on_progress,
        )
    _print_hdf5_report(out, report)
    if report.failed:
        state.fail(
            f"{len(report.failed)} of {len(report.keys)} keys failed (listed above) — fix the "
            "cause and run the same command again: finished keys are skipped, the others resume"
        )


@contextmanager
def _hdf5_progress(console: Console) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar per phase: hashing/copying the file (bytes), then each key (rows)."""
    from rich.progress import (
        BarColumn,
        Progress,
        ProgressColumn,
        Task,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Task) -> Text:
            unit = task.fields.get("unit", "rows")
            speed = task.finished_speed or task.speed
            done, total = task.completed, task.total or 0
            scale, name = (2**20, "MiB") if unit == "bytes" else (1e6, "M rows")
            rate = f"{speed / scale:,.1f} {name}/s" if speed else ""
            return Text(f"{done / scale:,.1f}/{total / scale:,.1f} {name}  {rate}")

    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        Rate(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:

        def update(what: str, done: int, total: int) -> None:
            if what not in tasks:
                unit = "bytes" if what in ("hash", "copy") else "rows"
                label = {"hash": "sha256", "copy": "copy to bronze"}.get(what, what)
                tasks[what] = progress.add_task(label, total=total, unit=unit)
            progress.update(tasks[what], completed=done, total=total)

        yield update


def _print_hdf5_keys(out: Console, path: str, layouts: list[KeyLayout]) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{escape(path)}: keys found", title_justify="left")
    for col in ("key", "layout", "rows", "columns (role)", "trades?"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    for k in layouts:
        verdict = "[green]yes[/]" if k.is_trades else f"[red]no: {escape(k.problem or '')}[/]"
        table.add_row(
            escape(k.key), k.layout, f"{k.nrows:,}", escape(k.describe_columns()), verdict
        )
    out.print(table)
    if not layouts:
        out.print("[red]no datasets in the file[/]")


def _print_hdf5_report(out: Console, report: Hdf5Report) -> None:
    from urllib.parse import unquote

    from rich.markup import escape
    from rich.table import Table

    how = {
        "linked": "landed in bronze by hard link (no second copy; the file is now read-only, "
        "so it cannot change under bronze)",
        "copied": "copied into bronze",
        "already": "already in bronze",
    }[report.landed]
    out.print(f"[bold]bronze[/] {escape(report.path)}: {how} ({report.bronze_key})")
    chosen = {k.key for k in report.keys}
    for found in report.found:
        if found.key not in chosen:
            why = "holds trades; pass --key to ingest it" if found.is_trades else found.problem
            out.print(
                f"[dim]key {escape(found.key)} ({found.nrows:,} rows) not ingested: "
                f"{escape(why or '')}[/]"
            )
    table = Table(title=f"ingest hdf5 (run {report.run_id})", title_justify="left")
    for col in ("key", "symbols", "outcome", "rows in", "silver", "quarantined", "size.zero"):
        table.add_column(col, justify="left" if col in ("key", "symbols", "outcome") else "right")
    table.add_column("rows/s", justify="right")
    for k in report.keys:
        r = k.record
        symbols = sorted(
            {
                unquote(p.split("symbol=", 1)[1].split("/", 1)[0])
                for p in (r.partitions if r else [])
            }
        )
        outcome = k.outcome + (
            f" (resumed at row {k.resumed_at_row:,})" if k.resumed_at_row else ""
        )
        style = {"published": "green", "failed": "red", "superseded": "yellow"}.get(
            k.outcome, "dim"
        )
        rate = r.rows_in / k.seconds if r and k.outcome == "published" and k.seconds else None
        table.add_row(
            escape(k.key),
            escape(", ".join(symbols)),
            f"[{style}]{outcome}[/]",
            f"{r.rows_in:,}" if r else "",
            f"{r.rows_out:,}" if r else "",
            f"{r.rows_quarantined:,}" if r else "",
            f"{r.flagged_by_rule.get('size.zero', 0):,}" if r else "",
            f"{rate:,.0f}" if rate else "",
        )
    out.print(table)
    for k in report.failed:
        out.print(f"[red]✗ {escape(k.key)}: {escape(str(k.error))}[/]")
    if any(k.record and k.record.rows_quarantined for k in report.keys):
        out.print("see what was quarantined and why: [bold]marketlake quality[/]")


@ingest_app.command("polygon")
def ingest_polygon_command(
    *,
    dataset: Annotated[
        str,
        typer.Option(
            "--dataset",
            "-d",
            help="{asset}/{kind}: us_stocks_sip/trades_v1|quotes_v1|minute_aggs_v1|day_aggs_v1 "
            "(also us_options_opra, us_indices, global_crypto, global_forex).",
        ),
    ],
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str | None, typer.Option("--to", help="Last day (default: --from).")] = None,
    symbols: Annotated[
        str | None, typer.Option("--symbols", help="Only these symbols, e.g. AAPL,MSFT,X:BTCUSD.")
    ] = None,
    reprocess: Annotated[
        bool, typer.Option("--reprocess", help="Publish to silver again files published before.")
    ] = False,
    refresh: Annotated[
        bool,
        typer.Option("--refresh", help="Download every file again, even if listed unchanged."),
    ] = False,
    source_dir: Annotated[
        str | None,
        typer.Option(
            "--source-dir",
            help="Read flat files from this folder (the vendor's key layout) instead of the S3 "
            "endpoint; no credentials needed (sets sources.polygon.uri).",
        ),
    ] = None,
) -> None:
    """Ingest Polygon/Massive flat files (S3) into silver trades, quotes or bars; resumable."""
    from datetime import date

    from marketlake.cli.render_polygon import polygon_progress, print_polygon_report
    from marketlake.ingest_polygon import ingest_polygon, with_source_dir

    try:
        first = date.fromisoformat(start)
        last = date.fromisoformat(end) if end else first
    except ValueError:
        state.fail(f"--from/--to must be dates YYYY-MM-DD (got {start!r}, {end!r})")
    chosen = [s for s in symbols.split(",") if s.strip()] if symbols else None
    settings = state.settings()
    if source_dir is not None:
        if "://" not in source_dir and not Path(source_dir).is_dir():
            state.fail(f"--source-dir {source_dir} is not a folder; pass the folder holding "
                       "us_stocks_sip/... (the vendor's key layout)")  # fmt: skip
        settings = with_source_dir(settings, source_dir)
    with polygon_progress(state.console(stderr=True)) as on_progress:
        report = ingest_polygon(
            dataset,
            first,
            last,
            settings=settings,
            symbols=chosen,
            reprocess=reprocess,
            refresh=refresh,
            on_progress=on_progress,
        )
    print_polygon_report(state.console(), report)
    if report.failed:
        state.fail(
            f"{len(report.failed)} of {len(report.files)} files failed (listed above); the "
            "others were ingested — run the same command again: finished files are skipped"
        )


from marketlake.cli import ingest_alphavantage as _alphavantage  # noqa: E402, F401 (registers it)
from marketlake.cli import ingest_reference as _reference  # noqa: E402, F401 (registers it)
from marketlake.cli import ingest_s3json as _s3json  # noqa: E402, F401 (registers it)
