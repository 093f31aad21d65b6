"""``marketlake demo`` and ``marketlake build``."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from marketlake.cli import state


class Target(StrEnum):
    """Warehouse targets."""

    duckdb = "duckdb"


def demo() -> None:
    """Write sample data of every source format and run the whole flow locally (no server)."""
    from marketlake.cli.render import print_demo
    from marketlake.orchestrate.pipeline import run_demo

    settings = state.settings()
    out = state.console()
    with out.status("demo: sample data -> bronze -> silver -> dbt build on DuckDB ..."):
        result = run_demo(settings)
    print_demo(out, result)


def build(
    target: Annotated[Target, typer.Option("--target", help="Warehouse to build.")] = Target.duckdb,
) -> None:
    """Build the warehouse: dbt build (models + tests) over silver, then export gold to Parquet."""
    from marketlake.cli.render import print_build
    from marketlake.lake import open_lake
    from marketlake.ops.ledger import Run
    from marketlake.warehouse import build_warehouse

    settings = state.settings()
    out = state.console()
    with out.status(f"dbt build on {target.value} ..."):
        result = build_warehouse(settings, run=Run(open_lake(settings)))
    print_build(out, result)
    for model, path in result.exports.items():
        out.print(f"  gold {model}: {path}")
