"""The DuckDB warehouse file: opening it, and preparing the ``silver`` schema dbt reads.

Before every build the ``silver`` schema is rebuilt from the lake:

- ``silver.bars``: a view over the silver Parquet files of a local lake (read in place), a table
  copied through fsspec for a remote lake (so dbt's DuckDB needs no S3 extension or secret),
  or an empty table with the silver columns when the lake has no bars yet;
- ``silver.ingests``: the bronze manifest, one row per landed delivery.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pyarrow as pa

from marketlake.errors import WarehouseError, WarehouseLockedError
from marketlake.lake.bronze import read_manifest
from marketlake.lake.silver import SILVER, dataset_glob, read_dataset
from marketlake.lake.store import Lake
from marketlake.schemas import BARS

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

SILVER_SCHEMA = "silver"
LOCK_MARKERS = ("could not set lock", "conflicting lock")

INGESTS = pa.schema(
    [
        pa.field("ingest_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("logical_key", pa.string(), nullable=False),
        pa.field("original_name", pa.string()),
        pa.field("landed_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)

BarsMode = Literal["view", "table", "empty"]


@dataclass(frozen=True)
class SilverSummary:
    """What the ``silver`` schema holds after :func:`prepare_silver`."""

    bars_mode: BarsMode  # view over Parquet, copied table, or empty table
    bar_files: int
    bar_rows: int
    ingests: int


def is_lock_error(message: str) -> bool:
    """Whether a DuckDB error message says another process holds the file's lock."""
    lowered = message.lower()
    return any(marker in lowered for marker in LOCK_MARKERS)


def locked_error(path: Path, detail: str) -> WarehouseLockedError:
    """The error raised when another process holds the warehouse file."""
    return WarehouseLockedError(
        "the DuckDB warehouse is locked by another process",
        hint=(
            "close the other program using it (a DuckDB shell, a notebook, a running "
            "`marketlake build`), then retry; readers should use the Parquet exports in gold"
        ),
        path=str(path),
        detail=detail.splitlines()[0] if detail else None,
    )


def connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (created when missing, unless ``read_only``).

    Raises:
        WarehouseLockedError: another process has the file open for writing.
        WarehouseError: the file cannot be opened (corrupt, not a DuckDB file, no permission).
    """
    import duckdb

    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        if is_lock_error(str(exc)):
            raise locked_error(path, str(exc)) from exc
        raise WarehouseError(
            f"cannot open the DuckDB warehouse: {exc}",
            hint="check the file and its folder's permissions, or delete it to rebuild from silver",
            path=str(path),
        ) from exc


def prepare_silver(con: duckdb.DuckDBPyConnection, lake: Lake) -> SilverSummary:
    """Rebuild the ``silver`` schema (``bars``, ``ingests``) from the lake, in one transaction.

    Args:
        con: A writable connection to the warehouse.
        lake: The lake whose silver bars and bronze manifest are exposed.

    Returns:
        What was exposed.
    """
    files = lake.glob(f"{SILVER}/bars/*/*/*.parquet")
    ingests = _ingests_table(lake)
    con.execute("begin transaction")
    try:
        # Dropping the schema clears a view or a table of an earlier build alike.
        con.execute(f"drop schema if exists {SILVER_SCHEMA} cascade")
        con.execute(f"create schema {SILVER_SCHEMA}")
        mode = _create_bars(con, lake, has_files=bool(files))
        _create_from_arrow(con, f"{SILVER_SCHEMA}.ingests", ingests)
        row = con.execute(f"select count(*) from {SILVER_SCHEMA}.bars").fetchone()
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    summary = SilverSummary(
        bars_mode=mode,
        bar_files=len(files),
        bar_rows=int(row[0]) if row else 0,
        ingests=ingests.num_rows,
    )
    log.info("silver prepared for dbt: %s", summary)
    return summary


def _create_bars(con: duckdb.DuckDBPyConnection, lake: Lake, *, has_files: bool) -> BarsMode:
    target = f"{SILVER_SCHEMA}.bars"
    if not has_files:
        _create_from_arrow(con, target, BARS.empty_table())
        return "empty"
    if lake.is_local:
        glob = dataset_glob(lake, "bars").replace("'", "''")
        con.execute(
            f"create view {target} as select * from read_parquet("
            f"'{glob}', hive_partitioning = false, union_by_name = true)"
        )
        return "view"
    _create_from_arrow(con, target, read_dataset(lake, "bars"))
    return "table"


def _create_from_arrow(con: duckdb.DuckDBPyConnection, target: str, table: pa.Table) -> None:
    name = "_marketlake_arrow"
    con.register(name, table)
    try:
        con.execute(f"create table {target} as select * from {name}")
    finally:
        con.unregister(name)


def _ingests_table(lake: Lake) -> pa.Table:
    entries = read_manifest(lake)
    # Instants as integer microseconds: converting aware datetimes makes pyarrow import pandas.
    landed_us = [(datetime.fromisoformat(e.landed_at) - EPOCH) // MICROSECOND for e in entries]
    return pa.Table.from_arrays(
        [
            pa.array([e.ingest_id for e in entries], pa.string()),
            pa.array([e.source for e in entries], pa.string()),
            pa.array([e.logical_key for e in entries], pa.string()),
            pa.array([e.original_name for e in entries], pa.string()),
            pa.array(landed_us, pa.int64()).cast(INGESTS.field("landed_at").type),
        ],
        schema=INGESTS,
    )
