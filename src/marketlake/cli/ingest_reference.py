"""``marketlake ingest symbols FILE``: reference data of symbols into silver ``symbols``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from marketlake.cli import state
from marketlake.cli.ingest import ingest_app


@ingest_app.command("symbols")
def ingest_symbols_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="Reference file: .csv with a header (symbol, name, asset_class, exchange, "
            "currency, sector, industry[, as_of]) or .json/.jsonl with the same keys."
        ),
    ],
    *,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="When the description is true: YYYY-MM-DD or an ISO-8601 time (UTC unless "
            "it has a zone); default the file's as_of column, else the time it lands.",
        ),
    ] = None,
    reprocess: Annotated[
        bool, typer.Option("--reprocess", help="Publish to silver again a file published before.")
    ] = False,
) -> None:
    """Ingest reference data of symbols (name, sector...); dim_symbol keeps its history."""
    from rich.markup import escape

    from marketlake.cli.render import print_ingest_report
    from marketlake.ingest import IngestReport
    from marketlake.ingest_reference import ingest_symbols
    from marketlake.lake import open_lake
    from marketlake.ops.ledger import Run
    from marketlake.sources.reference import parse_as_of

    when = None
    if as_of is not None:
        try:
            when = parse_as_of(as_of)
        except ValueError:
            state.fail(f"--as-of must be YYYY-MM-DD or an ISO-8601 time (got {as_of!r})")
    settings = state.settings()
    run = Run(open_lake(settings))
    result = ingest_symbols(path, settings=settings, as_of=when, reprocess=reprocess, run=run)
    if result.error is not None:
        state.fail_with(result.error)
    out = state.console()
    print_ingest_report(out, IngestReport(run_id=run.run_id, files=[result]))
    record = result.record
    if record is not None:
        for rule, n in record.quarantined_by_rule.items():
            out.print(f"quarantined {n:,} by {escape(rule)}")
        if record.rows_quarantined:
            out.print("see what was quarantined and why: [bold]marketlake quality[/]")
