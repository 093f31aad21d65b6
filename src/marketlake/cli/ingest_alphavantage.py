"""``marketlake ingest alphavantage``: daily and weekly adjusted series from Alpha Vantage."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from marketlake.cli import state
from marketlake.cli.ingest import ingest_app

if TYPE_CHECKING:
    from rich.console import Console

    from marketlake.ingest_alphavantage import AlphaVantageReport

FUNCTION_NAMES = ("TIME_SERIES_DAILY", "TIME_SERIES_WEEKLY_ADJUSTED")


@ingest_app.command("alphavantage")
def ingest_alphavantage_command(
    *,
    symbols: Annotated[
        str | None,
        typer.Option("--symbols", help="Comma-separated symbols, e.g. IBM,MSFT,TSCO.LON."),
    ] = None,
    function: Annotated[
        str | None,
        typer.Option(
            "--function",
            "-f",
            help="TIME_SERIES_DAILY (1d bars; the default) or TIME_SERIES_WEEKLY_ADJUSTED "
            "(1w bars with adjusted close and dividend). With --from-bronze: only this one.",
        ),
    ] = None,
    from_bronze: Annotated[
        bool,
        typer.Option(
            "--from-bronze", help="Rebuild silver from the replies landed in bronze; no call."
        ),
    ] = False,
    from_files: Annotated[
        Path | None,
        typer.Option("--from-files", help="Ingest replies saved earlier (a folder of *.json)."),
    ] = None,
    reprocess: Annotated[
        bool, typer.Option("--reprocess", help="Publish to silver again replies published before.")
    ] = False,
) -> None:
    """Ingest Alpha Vantage series (key: sources.alphavantage.api_key) into silver bars."""
    from marketlake.ingest_alphavantage import (
        ingest_alphavantage,
        ingest_alphavantage_files,
        rebuild_alphavantage,
    )

    if function is not None and function.upper() not in FUNCTION_NAMES:
        state.fail(f"--function {function}: use {' or '.join(FUNCTION_NAMES)}")
    chosen_function = function.upper() if function else None
    chosen = [s for s in symbols.split(",") if s.strip()] if symbols else []
    if from_bronze and from_files is not None:
        state.fail("--from-bronze and --from-files exclude each other: pass one")
    settings = state.settings()
    with state.console(stderr=True).status("ingest alphavantage") as status:

        def progress(result: object) -> None:
            status.update(f"ingest alphavantage: {getattr(result, 'path', '')} done")

        if from_files is not None:
            report = ingest_alphavantage_files(
                [from_files], settings=settings, reprocess=reprocess, on_series=progress
            )
        elif from_bronze:
            report = rebuild_alphavantage(
                settings=settings,
                symbols=chosen or None,
                function=chosen_function,  # type: ignore[arg-type]
                on_series=progress,
            )
        else:
            if not chosen:
                state.fail("--symbols is required to call Alpha Vantage (e.g. --symbols IBM,MSFT)")
            report = ingest_alphavantage(
                chosen,
                function=chosen_function or "TIME_SERIES_DAILY",  # type: ignore[arg-type]
                settings=settings,
                reprocess=reprocess,
                on_series=progress,
            )
    _print_report(state.console(), report)
    failed = report.failed
    if failed:
        unit = "files" if from_files is not None else "symbols"
        others = "the others were ingested — " if len(failed) < len(report.files) else ""
        state.fail(
            f"{len(failed)} of {len(report.files)} {unit} failed (listed above); {others}fix the "
            "cause and run the same command again: finished ones are skipped"
        )


def _print_report(out: Console, report: AlphaVantageReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    from marketlake.cli.render import OUTCOME_STYLE

    table = Table(title=f"ingest alphavantage (run {report.run_id})", title_justify="left")
    for col in ("series", "symbol", "outcome", "rows in", "silver", "quarantined", "week.partial"):
        table.add_column(col, justify="left" if col in ("series", "symbol", "outcome") else "right")
    for f in report.files:
        r = f.record
        table.add_row(
            escape(f.path.rsplit("/", 1)[-1]),
            escape(f.symbol or ""),
            f"[{OUTCOME_STYLE[f.outcome]}]{f.outcome}{' (new)' if f.landed_new else ''}[/]",
            f"{r.rows_in:,}" if r else "",
            f"{r.rows_out:,}" if r else "",
            f"{r.rows_quarantined:,}" if r else "",
            f"{r.flagged_by_rule.get('week.partial', 0):,}" if r else "",
        )
    out.print(table)
    for f in report.failed:
        out.print(f"[red]✗ {escape(f.path)}: {escape(str(f.error))}[/]")
    if report.calls_left is not None:
        out.print(
            f"Alpha Vantage calls: {report.calls} made by this run, {report.calls_left} left "
            f"today (US/Eastern day {report.budget_day})"
        )
    if any(f.record and f.record.rows_quarantined for f in report.files):
        out.print("see what was quarantined and why: [bold]marketlake quality[/]")
