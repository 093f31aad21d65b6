"""``marketlake bars``: information-driven (and time) bars from silver trades into ``bars_info``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from marketlake.cli import state

if TYPE_CHECKING:
    from rich.console import Console

    from marketlake.bars.build import BarsReport

OUTCOME_STYLE = {"written": "green", "unchanged": "dim", "empty": "yellow", "failed": "red"}


class BarKind(StrEnum):
    """Bar kinds."""

    time = "time"
    tick = "tick"
    volume = "volume"
    dollar = "dollar"
    imbalance = "imbalance"


def bars(
    *,
    kind: Annotated[BarKind, typer.Option("--kind", "-k", help="Which bars.")],
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            "-t",
            help="Ticks (tick), volume (volume), price x size (dollar), or E0[T], the expected "
            "ticks of the first bar (imbalance).",
        ),
    ] = None,
    bars_per_day: Annotated[
        float | None,
        typer.Option(
            "--bars-per-day",
            help="Instead of --threshold: median daily count/volume/dollar value over the "
            "period (UTC days with trades) / N, to 3 significant digits.",
        ),
    ] = None,
    interval: Annotated[
        str | None, typer.Option("--interval", help="Time bars: 1m, 5m, 1h, 1d (UTC-aligned).")
    ] = None,
    symbol: Annotated[
        list[str] | None,
        typer.Option("--symbol", "-s", help="Symbol (repeatable); all with trades by default."),
    ] = None,
    start: Annotated[
        datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="First UTC day of trades used."),
    ] = None,
    end: Annotated[
        datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="Last UTC day of trades used (included)."),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option("--source", help="Trades' source, when a symbol has several."),
    ] = None,
    recompute: Annotated[
        bool,
        typer.Option("--recompute", help="Rebuild even when inputs and parameters are unchanged."),
    ] = False,
) -> None:
    """Compute tick/volume/dollar/imbalance (or time) bars from silver trades into bars_info.

    Bars close at the first trade reaching the threshold (>=); the open last bar: complete=false.
    """
    from marketlake.bars.build import BarsRequest, build_bars

    settings = state.settings()
    request = BarsRequest(
        kind=kind.value,
        threshold=threshold,
        bars_per_day=bars_per_day,
        interval=interval,
        start=start.date() if start else None,
        end=end.date() if end else None,
        source=source,
    )
    err = state.console(stderr=True)
    with err.status(f"{kind.value} bars from silver trades ...") as status:
        report = build_bars(
            settings,
            request,
            symbols=symbol,
            recompute=recompute,
            on_symbol=lambda s: status.update(f"{kind.value} bars: {s.symbol} {s.outcome}"),
        )
    failed = report.failed
    if len(report.symbols) == 1 and failed:
        state.fail(str(failed[0].error))  # one symbol: its error is the whole story
    _print_report(state.console(), report)
    if failed:
        state.fail(
            f"{len(failed)} of {len(report.symbols)} symbols failed (listed above); the others "
            "were built — fix those and run the same command again"
        )


def _print_report(out: Console, report: BarsReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"bars (run {report.run_id})", title_justify="left")
    for col in ("symbol", "series", "source", "outcome", "trades", "bars", "open bar"):
        table.add_column(col, justify="right" if col in ("trades", "bars") else "left")
    for s in report.symbols:
        table.add_row(
            escape(s.symbol),
            escape(s.label or s.kind),
            escape(s.source or ""),
            f"[{OUTCOME_STYLE[s.outcome]}]{s.outcome}[/]",
            f"{s.trades:,}",
            f"{s.bars:,}",
            "1 (complete=false)" if s.incomplete else "",
        )
    out.print(table)
    for s in report.symbols:
        if s.derived:
            out.print(
                f"{escape(s.symbol)}: threshold {s.threshold:,.10g} = median daily "
                f"{s.kind if s.kind != 'imbalance' else 'tick'} measure "
                f"{s.derived['median_daily']:,.10g} over {int(s.derived['days'])} days / "
                f"{s.derived['bars_per_day']:g} bars per day"
            )
        if s.partitions:
            out.print(f"  {escape(s.symbol)}: {len(s.partitions)} files, e.g. {s.partitions[-1]}")
    for s in report.failed:
        out.print(f"[red]✗ {escape(s.symbol)}: {escape(str(s.error))}[/]")
