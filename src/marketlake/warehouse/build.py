"""Building the warehouse: prepare silver in DuckDB, ``dbt build``, export the marts to gold."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from marketlake.config import Settings
from marketlake.errors import WarehouseError
from marketlake.lake.store import open_lake
from marketlake.ops.ledger import LedgerRow, Run
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


def build_warehouse(
    settings: Settings,
    *,
    run: Run | None = None,
    console: ConsoleLevel = "none",
) -> BuildResult:
    """Build the DuckDB warehouse from silver with dbt and publish the marts as Parquet.

    Args:
        settings: Where the lake, the warehouse file, gold and state live.
        run: When given, a ledger row is written for the "build" and the "export" steps.
        console: dbt's own console log level (quiet by default; the full log is always in
            ``<state_dir>/dbt/logs/dbt.log``).

    Returns:
        Counts of models and tests, and the Parquet export of every mart.

    Raises:
        WarehouseLockedError: another process holds the DuckDB file; retry when it is closed.
        WarehouseError: a model or test failed (named in the message), or dbt could not run.
    """
    start = time.perf_counter()
    lake = open_lake(settings)
    with _step(run, "build", f"dbt:{settings.warehouse.target}") as row:
        con = connect(settings.duckdb_path)
        try:
            silver = prepare_silver(con, lake, calendar=settings.warehouse.gold.calendar)
            replay = snapshot_replay_points(con)
        finally:
            con.close()
        if replay:
            _replay_symbol_history(settings, replay, console=console)
        outcome = run_dbt(["build"], settings, console=console)
        result = _summarise(outcome, settings, seconds=time.perf_counter() - start)
        if row is not None:
            row.rows_in = silver.bar_rows
            row.rows_out = result.models_built
            row.details.update(
                {
                    "silver_bars": silver.bars_mode,
                    "silver_files": silver.bar_files,
                    "ingests": silver.ingests,
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
    )


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
            con = connect(settings.duckdb_path)
            try:
                narrow_symbols(con, as_of)
            finally:
                con.close()
            outcome = run_dbt(["snapshot", "--select", SYMBOLS_SNAPSHOT], settings, console=console)
            _check(outcome, settings)
        completed = True
    finally:
        con = connect(settings.duckdb_path)
        try:
            narrow_symbols(con, None)
            if not completed:  # a partial history must not pass for the whole one
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
    if any(is_lock_error(failed) for failed in result.nodes_failed):
        raise locked_error(settings.duckdb_path, result.nodes_failed[0])
    skipped = f", {result.nodes_skipped} skipped" if result.nodes_skipped else ""
    raise WarehouseError(
        f"dbt build failed: {len(result.nodes_failed)} node(s) failed{skipped}: "
        + "; ".join(result.nodes_failed),
        hint=f"fix the data or the model; the full dbt log is {outcome.log_file}",
        path=str(settings.duckdb_path),
    )
