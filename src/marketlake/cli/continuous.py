"""``marketlake continuous ROOT``: the continuous front-month futures series and its rolls."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from marketlake.cli import state

if TYPE_CHECKING:
    import pyarrow as pa
    from rich.console import Console

    from marketlake.bars.continuous_io import ContinuousReport

SESSIONS_NOTE = (
    "sessions of exchange calendar {calendar} (exchange-calendars; CMES = CME Globex: 17:00 "
    "Chicago the evening before to 17:00 Chicago, named by the date they close on); a trade "
    "between two sessions counts in the next one"
)


class Adjust(StrEnum):
    """Price adjustments at the rolls."""

    difference = "difference"
    ratio = "ratio"
    none = "none"


def continuous(
    root: Annotated[str, typer.Argument(help="Futures root, e.g. ES.")],
    *,
    roll: Annotated[
        str | None,
        typer.Option(
            "--roll",
            help="volume: on the first session the next contract's daily volume exceeds the "
            "front's; days:N: N sessions before the front's last trading day. "
            "Default: setting futures.roll (volume).",
        ),
    ] = None,
    adjust: Annotated[
        Adjust | None,
        typer.Option(
            "--adjust",
            help="difference: add each roll's gap (new - old close) to earlier prices; ratio: "
            "multiply by new/old; none: raw prices spliced. Default: futures.adjust (none).",
        ),
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Trades' source, when the root has several.")
    ] = None,
    show_rolls: Annotated[
        bool,
        typer.Option(
            "--show-rolls", help="List the roll table stored in silver (built first if missing)."
        ),
    ] = False,
    recompute: Annotated[
        bool, typer.Option("--recompute", help="Scan the trades again instead of the cache.")
    ] = False,
) -> None:
    """Build the continuous front-month series of a futures root from silver trades.

    Writes the silver datasets continuous (daily bars), continuous_rolls and instruments.

    Contracts come from the trades' symbols: ESH24, ESH4 or ESH2024.

    Trades of the bare root (symbol ES: the file had no contract column) are used as they are.
    """
    from marketlake.bars.continuous_io import read_rolls

    settings = state.settings()
    out = state.console()
    adjust_text = adjust.value if adjust is not None else None
    if show_rolls:
        rolls = read_rolls(settings, root, rule=roll or settings.futures.roll, source=source)
        if rolls.num_rows == 0:
            report = _build(root, roll, adjust_text, source, recompute)
            if not report.has_contracts:
                _print_no_contracts(out, report)
                return
            rolls = report.rolls
        print_rolls(out, rolls)
        return
    report = _build(root, roll, adjust_text, source, recompute)
    print_report(out, report)


def _build(
    root: str, roll: str | None, adjust: str | None, source: str | None, recompute: bool
) -> ContinuousReport:
    from marketlake.bars.continuous_io import make_continuous

    with state.console(stderr=True).status(f"continuous {root}: reading silver trades ..."):
        return make_continuous(
            state.settings(),
            root,
            roll=roll,
            adjust=adjust,
            source=source,
            recompute=recompute,
        )


def _print_no_contracts(out: Console, report: ContinuousReport) -> None:
    root = report.root
    out.print(
        f"[yellow]{root}: the trades have no contract column (symbol {root}, not "
        f"{root}<month><year> codes such as {root}H24): the series is taken as already "
        "continuous — no rolls, prices as traded; --roll and --adjust do not apply[/]"
    )


def print_report(out: Console, report: ContinuousReport) -> None:
    """What the build found and wrote."""
    from rich.markup import escape

    root = report.root
    if report.has_contracts:
        how = (
            "raw prices spliced"
            if report.adjustment == "none"
            else (f"earlier prices back-adjusted by {report.adjustment}")
        )
        out.print(f"[bold]{root}[/] continuous, roll [bold]{report.rule}[/], {how}")
    else:
        _print_no_contracts(out, report)
    out.print(f"  source {escape(report.source)}; {SESSIONS_NOTE.format(calendar=report.calendar)}")
    contracts = report.contracts
    span = f"{contracts[0]} .. {contracts[-1]}" if contracts else "none"
    out.print(
        f"  {report.sessions:,} sessions {report.first_session} .. {report.last_session} from "
        f"{report.trades_in:,} trades; {len(contracts)} contracts ({span}), "
        f"{report.rolls.num_rows} roll{'' if report.rolls.num_rows == 1 else 's'}"
    )
    for reason, n in report.excluded_trades.items():
        out.print(f"  [yellow]not used: {n:,} trades ({reason.replace('_', ' ')})[/]")
    if report.ignored_symbols:
        listing = ", ".join(report.ignored_symbols[:10])
        out.print(f"  [yellow]ignored symbols (not {root} contract codes): {escape(listing)}[/]")
    for dataset, keys in report.written.items():
        if keys:
            folder = report.lake_url.rstrip("/") + "/" + keys[0].rsplit("/", 3)[0]
            out.print(
                f"  silver {dataset}: {len(keys)} file{'s' * (len(keys) > 1)} in {escape(folder)}"
            )
    if report.rolls.num_rows:
        out.print(f"next: [bold]marketlake continuous {root} --show-rolls --roll {report.rule}[/]")


def print_rolls(out: Console, rolls: pa.Table) -> None:
    """The roll table: date, from, to, closes, gap, ratio, what triggered it."""
    from rich.table import Table

    several = len(set(rolls["rule"].to_pylist())) > 1 or len(set(rolls["source"].to_pylist())) > 1
    table = Table(title=f"rolls of {rolls['symbol'][0]}", title_justify="left")
    numbers = ("from close", "to close", "gap", "ratio", "from vol", "to vol")
    columns = ["roll date", "from", "to", "from close", "to close", "gap", "ratio", "trigger"]
    columns += ["from vol", "to vol"] + (["rule", "source"] if several else [])
    for col in columns:
        table.add_column(col, justify="right" if col in numbers else "left")
    for r in rolls.to_pylist():
        same_day = r["from_close_date"] == r["roll_date"]
        note = "" if same_day else f" (old close of {r['from_close_date']})"
        cells = [
            str(r["roll_date"]),
            r["from_contract"],
            r["to_contract"],
            f"{r['from_close']:,.2f}",
            f"{r['to_close']:,.2f}",
            f"{r['gap']:+,.2f}",
            f"{r['ratio']:.6f}",
            r["trigger"] + note,
            f"{r['from_volume']:,.0f}" if r["from_volume"] is not None else "",
            f"{r['to_volume']:,.0f}" if r["to_volume"] is not None else "",
        ]
        table.add_row(*cells, *([r["rule"], r["source"]] if several else []))
    out.print(table)
