"""``marketlake ingest s3-json URL --kind ... --from T --to T``: JSON records in S3 into silver."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from marketlake.cli import state
from marketlake.cli.ingest import ingest_app

if TYPE_CHECKING:
    from rich.console import Console

    from marketlake.ingest_s3json import S3JsonReport

STYLE = {"published": "green", "unchanged": "dim", "superseded": "yellow", "failed": "red"}


@ingest_app.command("s3-json")
def ingest_s3json_command(
    url: Annotated[
        str,
        typer.Argument(help="s3://bucket/prefix holding YYYY/MM/DD/HH/ objects (or a folder)."),
    ],
    *,
    kind: Annotated[
        str, typer.Option("--kind", "-k", help="What the records are: prices|indicators|anomalies.")
    ],
    start: Annotated[
        str, typer.Option("--from", help="Window start: YYYY-MM-DD or ISO datetime (UTC).")
    ],
    end: Annotated[
        str | None,
        typer.Option("--to", help="Window end, inclusive (default: the end of --from's day)."),
    ] = None,
    interval: Annotated[
        str | None,
        typer.Option("--interval", help="Bar interval of price records (default from settings)."),
    ] = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Read every object of the window again.")
    ] = False,
    reprocess: Annotated[
        bool, typer.Option("--reprocess", help="Publish to silver again objects published before.")
    ] = False,
) -> None:
    """Ingest JSON records (NDJSON or arrays, plain or gzip) of a time window; incremental."""
    from marketlake.ingest_s3json import ingest_s3json
    from marketlake.sources.s3_json import parse_moment

    first = parse_moment(start)
    last = parse_moment(end or start[:10], end=True)
    report = ingest_s3json(
        url, kind, first, last, settings=state.settings(), interval=interval,
        refresh=refresh, reprocess=reprocess,
    )  # fmt: skip
    print_s3json_report(state.console(), report)
    if report.failed:
        state.fail(
            f"{len(report.failed)} of {len(report.objects)} objects failed (listed above); the "
            "others were ingested — fix them and run the same command again"
        )


def print_s3json_report(out: Console, report: S3JsonReport) -> None:
    """One line per object: outcome and rows; failures explained."""
    from rich.markup import escape
    from rich.table import Table

    title = (
        f"ingest s3-json {report.kind} -> {report.dataset} (run {report.run_id}): "
        f"{report.start:%Y-%m-%d %H:%M} .. {report.end:%Y-%m-%d %H:%M} UTC, "
        f"{len(report.prefixes)} prefixes listed"
    )
    table = Table(title=escape(title), title_justify="left")
    for col in ("object", "outcome", "KiB", "rows in", "silver", "quarantined"):
        table.add_column(col, justify="left" if col in ("object", "outcome") else "right")
    for o in report.objects:
        r = o.record
        note = " (new)" if o.landed_new else ("" if o.read else " (cursor)")
        table.add_row(
            escape(o.key),
            f"[{STYLE[o.outcome]}]{o.outcome}{note}[/]",
            f"{o.size / 1024:,.1f}",
            f"{r.rows_in:,}" if r else "",
            f"{r.rows_out:,}" if r else "",
            f"{r.rows_quarantined:,}" if r else "",
        )
    out.print(table)
    if not report.objects:
        out.print("[yellow]no objects in the window[/]")
    out.print(f"{len(report.read)} of {len(report.objects)} objects read (the others unchanged)")
    for o in report.failed:
        out.print(f"[red]✗ {escape(o.key)}: {escape(str(o.error))}[/]")
    if any(o.record and o.record.rows_quarantined and o.read for o in report.objects):
        out.print("see what was quarantined and why: [bold]marketlake quality[/]")
