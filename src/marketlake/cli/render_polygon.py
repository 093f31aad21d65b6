"""Progress and report of ``marketlake ingest polygon``. Pure presentation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from rich.console import Console

    from marketlake.ingest_polygon import PolygonReport
    from marketlake.ingest_polygon import Progress as Totals

STYLE = {
    "published": "green",
    "unchanged": "dim",
    "superseded": "yellow",
    "failed": "red",
    "missing": "yellow",
}


@contextmanager
def polygon_progress(console: Console) -> Iterator[Callable[[Totals], None]]:
    """A progress bar over files, with bytes and rows so far."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("ingest polygon"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files  {task.fields[mib]} MiB  {task.fields[rows]} rows"),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None, mib="0.0", rows="0")

        def update(p: Totals) -> None:
            bar.update(
                task,
                completed=p.files_done,
                total=p.files_total,
                mib=f"{p.bytes_done / 2**20:,.1f}/{p.bytes_total / 2**20:,.1f}",
                rows=f"{p.rows:,}",
            )

        yield update


def print_polygon_report(out: Console, report: PolygonReport) -> None:
    """One line per file: outcome, bytes and rows; failures and missing days explained."""
    table = Table(title=f"ingest polygon {report.dataset} (run {report.run_id})")
    for col in ("file", "outcome", "MiB", "rows in", "silver", "quarantined"):
        table.add_column(col, justify="left" if col in ("file", "outcome") else "right")
    for f in report.files:
        r = f.record
        new = " (new)" if f.landed_new else ""
        table.add_row(
            escape(f.key),
            f"[{STYLE[f.outcome]}]{f.outcome}{new}[/]",
            f"{f.bytes / 2**20:,.2f}" if f.bytes else "",
            f"{r.rows_in:,}" if r else "",
            f"{r.rows_out:,}" if r else "",
            f"{r.rows_quarantined:,}" if r else "",
        )
    out.print(table)
    for f in report.missing:
        out.print(f"[yellow]! {f.day}: no file on the server (holiday, or not published yet)[/]")
    for f in report.failed:
        out.print(f"[red]✗ {escape(f.key)}: {escape(str(f.error))}[/]")
    if any(f.record and f.record.rows_quarantined for f in report.files):
        out.print("see what was quarantined and why: [bold]marketlake quality[/]")
