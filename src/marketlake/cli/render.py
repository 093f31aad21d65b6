"""Tables the CLI prints. Pure presentation: no I/O beyond the console given."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from rich.console import Console

    from marketlake.ingest import IngestReport
    from marketlake.lake.totals import LakeTotals
    from marketlake.orchestrate.pipeline import DemoResult
    from marketlake.warehouse import BuildResult

OUTCOME_STYLE = {"published": "green", "unchanged": "dim", "superseded": "yellow", "failed": "red"}


def _n(x: int) -> str:
    return f"{x:,}"


def print_ingest_report(out: Console, report: IngestReport) -> None:
    """One line per file: outcome and row counts; failures with their reason."""
    table = Table(title=f"ingest (run {report.run_id})", title_justify="left")
    for col in ("file", "symbol", "outcome", "rows in", "silver", "quarantined"):
        table.add_column(col, justify="right" if col[0] in "rsq" and col != "symbol" else "left")
    for f in report.files:
        r = f.record
        table.add_row(
            escape(f.path.rsplit("/", 1)[-1]),
            f.symbol or "",
            f"[{OUTCOME_STYLE[f.outcome]}]{f.outcome}{' (new)' if f.landed_new else ''}[/]",
            _n(r.rows_in) if r else "",
            _n(r.rows_out) if r else "",
            _n(r.rows_quarantined) if r else "",
        )
    out.print(table)
    for f in report.failed:
        out.print(f"[red]✗ {escape(f.path)}: {escape(str(f.error))}[/]")


def print_source_totals(out: Console, totals: dict[str, LakeTotals]) -> None:
    """Per source: deliveries, rows in / silver / quarantined / flagged, then why, by rule."""
    table = Table(title="silver by source (every delivery now in the lake)", title_justify="left")
    table.add_column("source", style="bold")
    for col in ("deliveries", "rows in", "in silver", "quarantined", "flagged"):
        table.add_column(col, justify="right")
    for source, t in totals.items():
        flagged = sum(t.flagged_by_rule.values())
        numbers = (t.ingests, t.rows_in, t.rows_out, t.rows_quarantined, flagged)
        table.add_row(source, *(_n(n) for n in numbers))
    out.print(table)
    rules = Table(title="why: rows quarantined (or kept and flagged) by rule", title_justify="left")
    rules.add_column("rule", style="bold")
    rules.add_column("source")
    rules.add_column("rows", justify="right")
    for source, t in totals.items():
        for rule, n in t.quarantined_by_rule.items():
            rules.add_row(f"quarantined: {rule}", source, _n(n))
        for rule, n in t.flagged_by_rule.items():
            rules.add_row(f"kept, flagged: {rule}", source, _n(n))
    out.print(rules)


_ENGINES = {"duckdb": "DuckDB", "postgres": "PostgreSQL", "snowflake": "Snowflake"}


def print_build(out: Console, build: BuildResult) -> None:
    """What dbt built and tested."""
    out.print(
        f"[bold]warehouse[/] dbt build on {_ENGINES.get(build.target, build.target)}: "
        f"[green]{build.models_built} models built[/], "
        f"[green]{build.tests_passed} tests passed[/] ({build.unit_tests_passed} unit tests), "
        f"{build.tests_failed} failed, {build.seconds:.1f}s"
    )


def print_futures(out: Console, result: DemoResult) -> None:
    """ES ticks: bars built per kind, and the continuous contract's rolls."""
    futures = result.futures
    table = Table(title="ES ticks: information-driven bars", title_justify="left")
    for col in ("symbol", "bars", "threshold", "trades", "bars built", "outcome"):
        table.add_column(col, justify="right" if col in ("trades", "bars built") else "left")
    for s in futures.bars:
        table.add_row(s.symbol, s.kind, escape(s.label), _n(s.trades), _n(s.bars), s.outcome)
    out.print(table)
    c = futures.continuous
    rolls = c.rolls.to_pylist()
    out.print(
        f"[bold]continuous[/] {c.root}: {len(c.contracts)} contracts, {len(rolls)} rolls "
        f"({c.rule}, {c.adjustment} adjustment, {c.calendar} sessions {c.first_session} .. "
        f"{c.last_session})"
    )
    for r in rolls:
        out.print(
            f"  {r['roll_date']}: {r['from_contract']} -> {r['to_contract']}, gap {r['gap']:+.2f}"
        )


def print_demo(out: Console, result: DemoResult) -> None:
    """The demo's closing summary and where to look."""
    new = sum(1 for f in result.ingest.files if f.landed_new)
    out.print(
        f"[bold]bronze[/] {len(result.ingest.files)} sample files, {new} newly landed "
        f"({len(result.ingest.files) - new} already there)"
    )
    print_source_totals(out, result.totals)
    print_futures(out, result)
    print_build(out, result.build)
    table = Table(title="where to look", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    paths = {
        "sample inputs": str(result.samples),
        **result.outputs,
        "report (open in a browser)": str(result.report.path),
    }
    for name, path in paths.items():
        table.add_row(name, escape(path))
    out.print(table)
    out.print(
        "next: [bold]marketlake dashboard[/] (charts in the browser), [bold]marketlake serve[/] "
        "(HTTP API, docs at /docs), [bold]marketlake status[/] (run ledger), "
        "[bold]marketlake quality[/] (what was quarantined and why)"
    )
