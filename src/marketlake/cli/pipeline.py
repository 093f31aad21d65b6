"""``marketlake demo`` and ``marketlake build``."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from marketlake.cli import state

if TYPE_CHECKING:
    from marketlake.config import Settings


class Target(StrEnum):
    """Warehouse targets."""

    duckdb = "duckdb"
    postgres = "postgres"
    snowflake = "snowflake"


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
    target: Annotated[
        Target | None,
        typer.Option("--target", help="Warehouse to build (default: warehouse.target)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Snowflake: print the stage/COPY INTO SQL and the dbt profile (secrets masked); "
            "connect to nothing.",
        ),
    ] = False,
) -> None:
    """Build the warehouse: load silver (PostgreSQL, Snowflake), dbt build, export gold."""
    from marketlake.cli.render import print_build
    from marketlake.lake import open_lake
    from marketlake.ops.ledger import Run
    from marketlake.warehouse import build_warehouse

    settings = state.settings()
    if target is not None:
        warehouse = settings.warehouse.model_copy(update={"target": target.value})
        settings = settings.model_copy(update={"warehouse": warehouse})
    out = state.console()
    name = settings.warehouse.target
    if name == "snowflake":
        _build_snowflake(settings, dry_run=dry_run)
        return
    if dry_run:
        state.fail("--dry-run is for --target snowflake (DuckDB and PostgreSQL builds run here)")
    with out.status(f"silver -> {name}, dbt build on {name} ..."):
        result = build_warehouse(settings, run=Run(open_lake(settings)))
    if result.loaded is not None:
        loaded = result.loaded
        kind = "TimescaleDB hypertables" if loaded.hypertables else "plain PostgreSQL tables"
        groups = sum(d.groups_loaded for d in loaded.datasets.values())
        removed = sum(d.groups_deleted for d in loaded.datasets.values())
        out.print(
            f"silver loaded into PostgreSQL ({kind}): {groups} ingest(s) copied, "
            f"{loaded.rows_loaded} rows, {removed} replaced or removed, in {loaded.seconds:.1f}s"
        )
    print_build(out, result)
    for model, path in result.exports.items():
        out.print(f"  gold {model}: {path}")


def _build_snowflake(settings: Settings, *, dry_run: bool) -> None:
    from marketlake.lake import open_lake
    from marketlake.ops.ledger import Run
    from marketlake.warehouse.snowflake_target import build_snowflake

    out = state.console()
    if dry_run:
        result = build_snowflake(settings, dry_run=True)
        print(result.dry_run_text(), end="")  # plain text: meant to be read or piped to a file
        return
    with out.status("silver -> Snowflake (COPY INTO), dbt build on Snowflake ..."):
        result = build_snowflake(settings, dry_run=False, run=Run(open_lake(settings)))
    out.print(
        f"silver loaded into Snowflake: {result.files_new} new file(s), "
        f"{result.files_reloaded} reloaded, {result.files_removed} removed"
    )
    out.print(
        f"[bold]warehouse[/] dbt build on Snowflake: [green]{result.models_built} models "
        f"built[/], [green]{result.tests_passed} tests passed[/], {result.tests_failed} failed"
    )
