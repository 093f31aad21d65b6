"""Building the warehouse: prepare silver (DuckDB views or a PostgreSQL load), ``dbt build``,
export the marts to gold."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from marketlake.config import Settings
from marketlake.errors import ConfigError, WarehouseError
from marketlake.lake.store import Lake, open_lake
from marketlake.ops.ledger import LedgerRow, Run
from marketlake.warehouse import postgres_target as pg
from marketlake.warehouse.dbt_runner import ConsoleLevel, DbtOutcome, run_dbt
from marketlake.warehouse.duckdb_target import (
    SYMBOLS_SNAPSHOT,
    connect,
    drop_symbols_snapshot,
    is_lock_error,
    locked_error,
    narrow_symbols,
    prepare_silver,
    snapshot_replay_points,
)
from marketlake.warehouse.export import export_marts
from marketlake.warehouse.postgres_load import PostgresLoad, load_silver

log = logging.getLogger(__name__)

FAILED = frozenset({"error", "fail", "runtime error"})


@dataclass(frozen=True)
class BuildResult:
    """What one warehouse build did."""

    models_built: int
    tests_passed: int
    tests_failed: int
    unit_tests_passed: int
    nodes_failed: list[str]  # "node: message"
    seconds: float
    warehouse_path: Path
    exports: dict[str, str] = field(default_factory=dict)  # model -> Parquet URL in gold
    tests_warned: int = 0
    nodes_skipped: int = 0
    target: str = "duckdb"
    loaded: PostgresLoad | None = None  # what the PostgreSQL load did (target postgres)


def build_warehouse(
    settings: Settings,
    *,
    run: Run | None = None,
    console: ConsoleLevel = "none",
) -> BuildResult:
    """Build the warehouse from silver with dbt and publish the marts as Parquet.

    On DuckDB (``warehouse.target``) silver is exposed in the warehouse file; on PostgreSQL it
    is loaded incrementally with COPY (:mod:`marketlake.warehouse.postgres_load`) first.

    Args:
        settings: Where the lake, the warehouse (file or server), gold and state live.
        run: When given, a ledger row is written for the "build" and the "export" steps.
        console: dbt's own console log level (quiet by default; the full log is always in
            ``<state_dir>/dbt/logs/dbt.log``).

    Returns:
        Counts of models and tests, and the Parquet export of every mart.

    Raises:
        WarehouseLockedError: another process holds the DuckDB file; retry when it is closed.
        WarehouseError: a model or test failed (named in the message), or dbt could not run.
        WarehouseUnavailableError: the PostgreSQL server cannot be reached.
        ConfigError: the target cannot be built here (snowflake).
    """
    start = time.perf_counter()
    lake = open_lake(settings)
    target = settings.warehouse.target
    if target not in {"duckdb", "postgres"}:
        raise ConfigError(
            f"warehouse.target {target!r} cannot be built by `marketlake build` yet",
            hint="use --target duckdb or --target postgres",
        )
    loaded: PostgresLoad | None = None
    with _step(run, "build", f"dbt:{target}") as row:
        if target == "postgres":
            loaded = _prepare_postgres(settings, lake)
            silver_details = _postgres_details(loaded)
            bar_rows = loaded.bar_rows
            replay = pg.snapshot_replay_points(settings.warehouse.postgres)
        else:
            con = connect(settings.duckdb_path)
            try:
                silver = prepare_silver(con, lake, calendar=settings.warehouse.gold.calendar)
                replay = snapshot_replay_points(con)
            finally:
                con.close()
            bar_rows = silver.bar_rows
            silver_details = {
                "silver_bars": silver.bars_mode,
                "silver_files": silver.bar_files,
                "ingests": silver.ingests,
            }
        if replay:
            _replay_symbol_history(settings, replay, console=console)
        outcome = run_dbt(["build"], settings, console=console)
        result = _summarise(outcome, settings, seconds=time.perf_counter() - start)
        if row is not None:
            row.rows_in = bar_rows
            row.rows_out = result.models_built
            row.details.update(silver_details)
            row.details.update(
                {
                    "models_built": result.models_built,
                    "tests_passed": result.tests_passed,
                    "tests_failed": result.tests_failed,
                    "tests_warned": result.tests_warned,
                    "unit_tests_passed": result.unit_tests_passed,
                    "nodes_skipped": result.nodes_skipped,
                    "symbol_history_replayed": len(replay),
                    "dbt_log": str(outcome.log_file),
                }
            )
        _raise_on_failure(result, outcome, settings)

    with _step(run, "export", settings.gold_uri) as row:
        exported = export_marts(settings)
        if row is not None:
            row.rows_out = sum(e.rows for e in exported)
            row.bytes = sum(e.bytes for e in exported)
            row.details.update({e.model: e.rows for e in exported})

    seconds = round(time.perf_counter() - start, 3)
    log.info("warehouse built in %.1fs: %d models", seconds, result.models_built)
    return BuildResult(
        models_built=result.models_built,
        tests_passed=result.tests_passed,
        tests_failed=result.tests_failed,
        unit_tests_passed=result.unit_tests_passed,
        nodes_failed=result.nodes_failed,
        seconds=seconds,
        warehouse_path=settings.duckdb_path,
        exports={e.model: e.url for e in exported},
        tests_warned=result.tests_warned,
        nodes_skipped=result.nodes_skipped,
        target=target,
        loaded=loaded,
    )


def _prepare_postgres(settings: Settings, lake: Lake) -> PostgresLoad:
    """Create the database when missing, then bring its silver schema up to date."""
    pg_settings = settings.warehouse.postgres
    pg.ensure_database(pg_settings)
    return load_silver(pg_settings, lake, calendar=settings.warehouse.gold.calendar)


def _postgres_details(loaded: PostgresLoad) -> dict[str, object]:
    return {
        "silver_rows_loaded": loaded.rows_loaded,
        "silver_groups_loaded": sum(d.groups_loaded for d in loaded.datasets.values()),
        "silver_groups_deleted": sum(d.groups_deleted for d in loaded.datasets.values()),
        "hypertables": loaded.hypertables,
        "ingests": loaded.ingests,
    }


def _replay_symbol_history(
    settings: Settings, as_ofs: list[datetime], *, console: ConsoleLevel
) -> None:
    """Rebuild dim_symbol's history in a new warehouse file from every reference as-of in silver.

    The snapshot runs once per as-of but the last, each time on silver narrowed to that as-of;
    the build that follows snapshots the latest. The history is then the one incremental builds
    would have recorded had they run after each delivery (valid_from is the vendor's as-of
    either way), so rebuilding the file from scratch loses nothing.
    """
    log.info("new warehouse: replaying %d reference as-ofs into the snapshot", len(as_ofs) - 1)
    _check(run_dbt(["run", "--select", "stg_silver__symbols"], settings, console=console), settings)
    completed = False
    try:
        for as_of in as_ofs[:-1]:
            _narrow(settings, as_of)
            outcome = run_dbt(["snapshot", "--select", SYMBOLS_SNAPSHOT], settings, console=console)
            _check(outcome, settings)
        completed = True
    finally:
        _narrow(settings, None)
        if not completed:  # a partial history must not pass for the whole one
            _drop_snapshot(settings)


def _narrow(settings: Settings, as_of: datetime | None) -> None:
    if settings.warehouse.target == "postgres":
        pg.narrow_symbols(settings.warehouse.postgres, as_of)
        return
    con = connect(settings.duckdb_path)
    try:
        narrow_symbols(con, as_of)
    finally:
        con.close()


def _drop_snapshot(settings: Settings) -> None:
    if settings.warehouse.target == "postgres":
        pg.drop_symbols_snapshot(settings.warehouse.postgres)
        return
    con = connect(settings.duckdb_path)
    try:
        drop_symbols_snapshot(con)
    finally:
        con.close()


def _check(outcome: DbtOutcome, settings: Settings) -> None:
    """Raise when a node of a preparatory dbt run failed."""
    result = _summarise(outcome, settings, seconds=0.0)
    _raise_on_failure(result, outcome, settings)


@contextmanager
def _step(run: Run | None, step: str, target: str) -> Iterator[LedgerRow | None]:
    if run is None:
        yield None
        return
    with run.step(step, target) as row:
        yield row


def _summarise(outcome: DbtOutcome, settings: Settings, *, seconds: float) -> BuildResult:
    def count(resource_type: str, *statuses: str) -> int:
        return sum(
            1 for n in outcome.nodes if n.resource_type == resource_type and n.status in statuses
        )

    return BuildResult(
        models_built=count("model", "success"),
        tests_passed=count("test", "pass"),
        tests_failed=count("test", "fail", "error"),
        unit_tests_passed=count("unit_test", "pass", "success"),
        nodes_failed=[f"{n.name}: {n.message}" for n in outcome.nodes if n.status in FAILED],
        seconds=round(seconds, 3),
        warehouse_path=settings.duckdb_path,
        tests_warned=count("test", "warn"),
        nodes_skipped=sum(1 for n in outcome.nodes if n.status == "skipped"),
    )


def _raise_on_failure(result: BuildResult, outcome: DbtOutcome, settings: Settings) -> None:
    if not result.nodes_failed:
        return
    duckdb = settings.warehouse.target == "duckdb"
    if duckdb and any(is_lock_error(failed) for failed in result.nodes_failed):
        raise locked_error(settings.duckdb_path, result.nodes_failed[0])
    skipped = f", {result.nodes_skipped} skipped" if result.nodes_skipped else ""
    raise WarehouseError(
        f"dbt build failed: {len(result.nodes_failed)} node(s) failed{skipped}: "
        + "; ".join(result.nodes_failed),
        hint=f"fix the data or the model; the full dbt log is {outcome.log_file}",
        path=str(settings.duckdb_path) if duckdb else None,
        server=None if duckdb else pg.where(settings.warehouse.postgres),
    )
