"""``marketlake run``: every configured step in dependency order, in process, with retries."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from marketlake.cli import state

if TYPE_CHECKING:
    from rich.console import Console

    from marketlake.orchestrate.runner import PipelineResult, StepRecord

STATUS_STYLE = {"ok": "green", "failed": "red", "skipped": "yellow"}


def run(
    sources: Annotated[
        str | None,
        typer.Option(
            "--sources",
            help="Only these sources, comma-separated (csv_daily, reference, alphavantage, "
            "s3_json, polygon, hdf5); default every one configured in ops.run.sources.",
        ),
    ] = None,
    start: Annotated[
        datetime | None,
        typer.Option(
            "--from",
            formats=["%Y-%m-%d"],
            help="First day of the dated sources (Polygon days, S3 JSON hours, UTC); "
            "default their look-back. Whole-file sources ignore it.",
        ),
    ] = None,
    end: Annotated[
        datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="Last day of the dated sources."),
    ] = None,
) -> None:
    """Run every configured step: ingest each source -> bars/continuous -> build -> report.

    Transient errors are retried with exponential back-off (ops.retry); a terminal error stops
    its branch and what depends on it, the other branches complete. Every step is written to
    the ledger. Exit code 1 when a step failed.
    """
    from rich.markup import escape

    from marketlake.orchestrate.graph import plan_steps
    from marketlake.orchestrate.runner import run_pipeline
    from marketlake.orchestrate.steps import Window

    settings = state.settings()
    chosen = [s.strip() for s in sources.split(",") if s.strip()] if sources else None
    plan = plan_steps(settings, chosen)
    if not plan:
        state.fail(
            "nothing to run — configure ops.run.sources in marketlake.yaml "
            "(e.g. csv_daily.paths, polygon.datasets); see the README's `marketlake run`"
        )
    window = Window(start.date() if start else None, end.date() if end else None)
    if window.start and window.end and window.start > window.end:
        state.fail(f"--from {window.start} is after --to {window.end}")
    out = state.console()

    def progress(record: StepRecord) -> None:
        style = STATUS_STYLE[record.status]
        out.print(f"[{style}]{record.status:>7}[/] {record.name} [dim]{record.seconds:.1f}s[/]")

    with out.status(f"run: {', '.join(s.name for s in plan)} ..."):
        result = run_pipeline(settings, plan, window=window, on_step=progress)
    print_summary(out, result)
    for record in result.failed:
        out.print(f"[red]✗ {record.name}: {escape(str(record.error))}[/]")
    if result.failed:
        raise typer.Exit(1)


def print_summary(out: Console, result: PipelineResult) -> None:
    """The run's table (one line per step) and the freshness of its sources."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"run {result.run_id}", title_justify="left")
    for col in ("step", "status", "attempts", "items", "rows in", "out", "quarantined", "seconds"):
        right = col not in ("step", "status")
        table.add_column(col, justify="right" if right else "left")
    for s in result.steps:
        status = f"[{STATUS_STYLE[s.status]}]{s.status}[/]"
        if s.skipped_because:
            status += f" [dim]({escape(s.skipped_because)} failed)[/]"
        table.add_row(
            s.name, status, str(s.attempts), str(len(s.rows)), f"{s.rows_in:,}",
            f"{s.rows_out:,}", f"{s.rows_quarantined:,}", f"{s.seconds:.1f}",
        )  # fmt: skip
    out.print(table)
    for item in result.freshness:
        style = "red" if item.stale else "green"
        out.print(f"[{style}]freshness[/] {escape(item.describe())}")
