"""``marketlake status`` (the run ledger) and ``marketlake quality`` (what was quarantined)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from marketlake.cli import state

STATUS_STYLE = {"ok": "green", "skipped": "dim", "failed": "red"}


def status(
    runs: Annotated[int, typer.Option("--runs", "-n", help="How many recent runs.", min=1)] = 5,
    detail: Annotated[
        bool, typer.Option("--detail", help="One line per file/target instead of per step.")
    ] = False,
    freshness: Annotated[
        bool,
        typer.Option(
            "--freshness",
            help="Instead: has each source of ops.run delivered within its window? Exit 1 if not.",
        ),
    ] = False,
) -> None:
    """Show the run ledger: per step, rows in/out/quarantined, seconds, status, error."""
    if freshness:
        _freshness()
        return
    from rich.markup import escape
    from rich.table import Table

    from marketlake.lake import open_lake
    from marketlake.ops.ledger import LedgerRow, read_ledger

    out = state.console()
    rows = read_ledger(open_lake(state.settings()), last_runs=runs)
    if not rows:
        out.print(
            "no runs yet — try [bold]marketlake demo[/] or [bold]marketlake ingest csv PATH[/]"
        )
        return
    table = Table(title=f"run ledger (newest {runs} runs)", title_justify="left")
    for col in ("run", "step", "target", "status", "in", "out", "quarantined", "seconds"):
        right = col in ("in", "out", "quarantined", "seconds")
        table.add_column(col, justify="right" if right else "left")
    failures: list[LedgerRow] = []
    groups: dict[tuple[str, str] | tuple[str, str, int], list] = {}  # type: ignore[type-arg]
    for row in rows:
        key = (row.run_id, row.step, row.seq) if detail else (row.run_id, row.step)
        groups.setdefault(key, []).append(row)
    for key, group in groups.items():
        counts: dict[str, int] = {}
        for r in group:
            counts[r.status] = counts.get(r.status, 0) + 1
        worst = "failed" if "failed" in counts else "ok" if "ok" in counts else "skipped"
        label = ", ".join(f"{n} {s}" for s, n in counts.items()) if len(group) > 1 else worst
        target = group[0].target.rsplit("/", 1)[-1] if len(group) == 1 else f"{len(group)} targets"
        failures.extend(r for r in group if r.error)
        table.add_row(
            key[0],
            key[1],
            escape(target),
            f"[{STATUS_STYLE[worst]}]{label}[/]",
            f"{sum(r.rows_in for r in group):,}",
            f"{sum(r.rows_out for r in group):,}",
            f"{sum(r.rows_quarantined for r in group):,}",
            f"{sum(r.seconds for r in group):.2f}",
        )
    out.print(table)
    for r in failures:
        out.print(f"[red]✗ {r.run_id} {r.step} {escape(r.target)}: {escape(str(r.error))}[/]")


def _freshness() -> None:
    from rich.markup import escape

    from marketlake.ops.freshness import check_freshness

    out = state.console()
    checked = check_freshness(state.settings())
    if not checked:
        out.print(
            "no source to check — set ops.run.sources.<source> (what to read) and its "
            "freshness_hours in marketlake.yaml"
        )
        return
    for item in checked:
        style = "red" if item.stale else "green"
        out.print(f"[{style}]{escape(item.describe())}[/]")
    if any(item.stale for item in checked):
        raise typer.Exit(1)


def quality(
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule id.")] = None,
    examples: Annotated[
        int | None, typer.Option("--examples", "-e", help="Examples per rule.", min=0)
    ] = None,
    rules: Annotated[
        bool, typer.Option("--rules", help="List every rule and what it means.")
    ] = False,
) -> None:
    """Show what was quarantined, by rule, with examples of the original rows."""
    from rich.markup import escape
    from rich.table import Table

    from marketlake.lake import open_lake
    from marketlake.lake.silver import read_quarantine, read_records
    from marketlake.lake.totals import lake_totals
    from marketlake.quality import RULES

    out = state.console()
    if rules:
        table = Table(title="validation rules", title_justify="left")
        for col in ("rule", "severity", "meaning"):
            table.add_column(col)
        for r in RULES.values():
            table.add_row(r.id, r.severity, r.description)
        out.print(table)
        return
    if rule is not None and rule not in RULES:
        state.fail(f"unknown rule {rule!r} — `marketlake quality --rules` lists them")
    settings = state.settings()
    n_examples = settings.quality.max_examples if examples is None else examples
    quarantined = read_quarantine(open_lake(settings)).to_pylist()
    totals = lake_totals(settings)
    for dataset in sorted({r.dataset for r in read_records(open_lake(settings))}):
        part = lake_totals(settings, dataset)
        out.print(
            f"silver {dataset}: {part.rows_out:,} of {part.rows_in:,} rows in; "
            f"{part.rows_quarantined:,} quarantined (kept with their original text)"
        )
    by_rule: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for row in quarantined:
        if rule is None or row["rule_id"] == rule:
            by_rule.setdefault(row["rule_id"], []).append(row)
    for rule_id, group in sorted(by_rule.items(), key=lambda kv: -len(kv[1])):
        out.print(
            f"\n[bold red]{rule_id}[/] [dim]ERROR[/] {len(group):,} rows — "
            f"{escape(RULES[rule_id].description)}"
        )
        for row in sorted(group, key=lambda r: (r["symbol"] or "", r["source_row"] or 0))[
            :n_examples
        ]:
            raw = json.loads(row["raw"])
            text = raw["line"] if set(raw) == {"line"} else ",".join(str(v) for v in raw.values())
            out.print(
                f"  {row['symbol']} line {row['source_row']} [dim](ingest {row['ingest_id']})[/]: "
                f"{escape(text)}\n    [yellow]{escape(row['message'])}[/]"
            )
    for rule_id, n in totals.flagged_by_rule.items():
        if rule is None or rule == rule_id:
            out.print(
                f"\n[bold yellow]{rule_id}[/] [dim]WARNING[/] {n:,} rows kept in silver, flagged "
                f"in quality_flags — {escape(RULES[rule_id].description)}"
            )
    if not by_rule and not totals.flagged_by_rule:
        out.print("[green]nothing quarantined or flagged[/]")
