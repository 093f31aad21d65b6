"""``marketlake report``: write the self-contained HTML report of the lake."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from marketlake.cli import state


def report(
    symbols: Annotated[
        str | None,
        typer.Option(
            "--symbols", "-s", help="Only these symbols in every section, comma-separated (ES,NQ)."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="HTML file to write (default <data_dir>/report.html)."),
    ] = None,
) -> None:
    """Write one HTML file (opens offline): coverage, sources, quality, gold, bar statistics."""
    chosen = [s.strip() for s in symbols.split(",") if s.strip()] if symbols else None
    if symbols is not None and not chosen:
        state.fail("--symbols is empty — give symbols separated by commas, e.g. --symbols ES,NQ")

    from marketlake.analytics.report import write_report
    from marketlake.lake import open_lake
    from marketlake.ops.ledger import Run

    settings = state.settings()
    out = state.console()
    with out.status("report: reading the lake and gold, computing bar statistics ..."):
        result = write_report(settings, symbols=chosen, output=output, run=Run(open_lake(settings)))
    where = " for these symbols" if chosen else " yet"
    missing = f"; nothing in the lake{where}: {', '.join(result.absent)}" if result.absent else ""
    out.print(
        f"report: {result.figures} figures, {result.series} bar series, "
        f"{result.bytes / 1024:,.0f} KiB in {result.seconds:.1f}s{missing}"
    )
    out.print(str(result.path), soft_wrap=True, highlight=False, markup=False)
