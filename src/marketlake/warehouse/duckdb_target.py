"""The DuckDB warehouse file: opening it, and preparing the ``silver`` schema dbt reads.

Before every build the ``silver`` schema is rebuilt from the lake:

- ``silver.bars`` and ``silver.bars_info``: a view over the silver Parquet files of a local lake
  (read in place), a table copied through fsspec for a remote lake (so dbt's DuckDB needs no S3
  extension or secret), or an empty table with the silver columns when the lake has none yet.
  Columns of the canonical schema that older files lack (``complete``, ``source``...) are added
  as typed nulls, so the models see one set of columns whatever wrote the files;
- ``silver.continuous`` and ``silver.continuous_rolls`` (continuous futures), the same way, for
  ad-hoc SQL on the warehouse (no model reads them yet);
- ``silver.symbols`` (reference data), ``silver.indicators`` and ``silver.anomalies`` (JSON
  records from S3), the same way: empty typed tables until something is ingested;
- ``silver.ingests``: the bronze manifest, one row per landed delivery;
- ``silver.trading_calendar``: the exchange's trading days over the bars' dates (plus a margin),
  computed with exchange-calendars (see :mod:`marketlake.warehouse.trading_calendar`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pyarrow as pa

from marketlake import schemas
from marketlake.errors import WarehouseError, WarehouseLockedError
from marketlake.lake.bronze import read_manifest
from marketlake.lake.compact import live_keys
from marketlake.lake.silver import SILVER
from marketlake.lake.store import Lake
from marketlake.warehouse.trading_calendar import calendar_around

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

SILVER_SCHEMA = "silver"
SNAPSHOT_SCHEMA = "snapshots"
SYMBOLS_SNAPSHOT = "snap_symbols"
# Every delivered reference row, while silver.symbols is narrowed to an as-of during a replay.
SYMBOLS_DELIVERED = "_symbols_delivered"
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
DEFAULT_CALENDAR = "XNYS"

# view over Parquet, copied table, empty table, or no relation at all
ExposeMode = Literal["view", "table", "empty", "absent"]
BarsMode = ExposeMode


@dataclass(frozen=True)
class SilverDataset:
    """A silver dataset exposed to dbt as ``silver.<name>``."""

    name: str
    schema: pa.Schema | None  # canonical columns; None: expose the files' columns as they are
    # Whether files may lack canonical columns (written before the column existed). Silver bars
    # are always cast to their schema by publish_ingest: probing them would cost a second read
    # of every file footer per build.
    fill_missing: bool = True

    @property
    def pattern(self) -> str:
        """Lake glob of its files (any partition depth)."""
        return f"{SILVER}/{self.name}/**/*.parquet"


def exposed_datasets() -> list[SilverDataset]:
    """The silver datasets exposed in the warehouse's ``silver`` schema."""
    return [
        SilverDataset("bars", schemas.BARS, fill_missing=False),
        SilverDataset("bars_info", schemas.BARS_INFO),
        SilverDataset("continuous", schemas.CONTINUOUS),
        SilverDataset("continuous_rolls", schemas.CONTINUOUS_ROLLS),
        SilverDataset("symbols", schemas.SYMBOLS),
        SilverDataset("indicators", schemas.INDICATORS),
        SilverDataset("anomalies", schemas.ANOMALIES),
    ]


@dataclass(frozen=True)
class SilverSummary:
    """What the ``silver`` schema holds after :func:`prepare_silver`."""

    bars_mode: BarsMode  # view over Parquet, copied table, or empty table
    bar_files: int
    bar_rows: int
    ingests: int
    modes: dict[str, ExposeMode] = field(default_factory=dict)  # every exposed dataset
    files: dict[str, int] = field(default_factory=dict)
    bars_info_rows: int = 0
    calendar_days: int = 0


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


def prepare_silver(
    con: duckdb.DuckDBPyConnection, lake: Lake, *, calendar: str = DEFAULT_CALENDAR
) -> SilverSummary:
    """Rebuild the ``silver`` schema (every exposed dataset, ingests, the trading calendar).

    All in one transaction: a failure leaves the previous build's schema in place.

    Args:
        con: A writable connection to the warehouse.
        lake: The lake whose silver datasets and bronze manifest are exposed.
        calendar: The exchange-calendars code of ``silver.trading_calendar``
            (``warehouse.gold.calendar``).

    Returns:
        What was exposed.

    Raises:
        ConfigError: ``calendar`` is not an exchange-calendars code.
    """
    datasets = exposed_datasets()
    # The live files only (a consistent snapshot): never the inputs of a committed compaction.
    files = {d.name: live_keys(lake, d.name) for d in datasets}
    ingests = ingests_table(lake)
    con.execute("begin transaction")
    try:
        # Dropping the schema clears a view or a table of an earlier build alike.
        con.execute(f"drop schema if exists {SILVER_SCHEMA} cascade")
        con.execute(f"create schema {SILVER_SCHEMA}")
        modes = {d.name: _expose(con, lake, d, files[d.name]) for d in datasets}
        _create_from_arrow(con, f"{SILVER_SCHEMA}.ingests", ingests)
        bar_rows = _count(con, "bars")
        bars_info_rows = _count(con, "bars_info")
        days = _calendar_table(con, calendar)
        _create_from_arrow(con, f"{SILVER_SCHEMA}.trading_calendar", days)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    summary = SilverSummary(
        bars_mode=modes["bars"],
        bar_files=len(files["bars"]),
        bar_rows=bar_rows,
        ingests=ingests.num_rows,
        modes=modes,
        files={name: len(keys) for name, keys in files.items()},
        bars_info_rows=bars_info_rows,
        calendar_days=days.num_rows,
    )
    log.info("silver prepared for dbt: %s", summary)
    return summary


def _calendar_table(con: duckdb.DuckDBPyConnection, calendar: str) -> pa.Table:
    """The trading calendar over the bars' session dates plus the margin (empty without bars)."""
    rows = con.execute(
        f"select min(session_date), max(session_date) from {SILVER_SCHEMA}.bars"
    ).fetchall()
    first, last = rows[0] if rows else (None, None)
    return calendar_around(calendar, first, last)


def _count(con: duckdb.DuckDBPyConnection, name: str) -> int:
    row = con.execute(f"select count(*) from {SILVER_SCHEMA}.{name}").fetchone()
    return int(row[0]) if row else 0


def _expose(
    con: duckdb.DuckDBPyConnection, lake: Lake, dataset: SilverDataset, files: list[str]
) -> ExposeMode:
    target = f"{SILVER_SCHEMA}.{dataset.name}"
    if not files:
        if dataset.schema is None:
            return "absent"
        _create_from_arrow(con, target, dataset.schema.empty_table())
        return "empty"
    if lake.is_local:
        scan = f"read_parquet({_scan_paths(lake, dataset, files)}, hive_partitioning = false, "
        scan += "union_by_name = true)"
        fill = ""
        if dataset.fill_missing and dataset.schema is not None:
            query = f"select * from {scan} limit 0"
            found = {str(c[0]) for c in con.execute(query).description}
            fill = "".join(
                f", cast(null as {_duckdb_type(f.type)}) as {f.name}"
                for f in dataset.schema
                if f.name not in found
            )
        con.execute(f"create view {target} as select *{fill} from {scan}")
        return "view"
    _create_from_arrow(con, target, _read_all(lake, files, dataset.schema))
    return "table"


def _scan_paths(lake: Lake, dataset: SilverDataset, files: list[str]) -> str:
    """The view's files: the glob (new files show up without a rebuild) while it finds exactly
    the live files; their explicit list while a compaction is between its commit and its
    deletes, so the view never shows the compacted rows twice."""

    def quoted(key: str) -> str:
        return "'" + lake.url(key).replace("'", "''") + "'"

    if sorted(lake.glob(dataset.pattern)) == sorted(files):
        return quoted(dataset.pattern)
    return "[" + ", ".join(quoted(key) for key in files) + "]"


def _read_all(lake: Lake, files: list[str], schema: pa.Schema | None) -> pa.Table:
    """Every file of a remote dataset as one table, canonical columns filled in with nulls."""
    tables = []
    for key in files:
        table = lake.read_parquet(key)
        for column in schema or []:
            if column.name not in table.column_names:
                table = table.append_column(column.name, pa.nulls(table.num_rows, type=column.type))
        tables.append(table)
    return pa.concat_tables(tables, promote_options="permissive")


def _duckdb_type(arrow_type: pa.DataType) -> str:
    """The DuckDB spelling of an Arrow type, for the null columns older files lack."""
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    checks = [
        (pa.types.is_boolean, "boolean"),
        (pa.types.is_integer, "bigint"),
        (pa.types.is_floating, "double"),
        (pa.types.is_date, "date"),
    ]
    return next((name for check, name in checks if check(arrow_type)), "varchar")


def _create_from_arrow(con: duckdb.DuckDBPyConnection, target: str, table: pa.Table) -> None:
    name = "_marketlake_arrow"
    con.register(name, table)
    try:
        con.execute(f"create table {target} as select * from {name}")
    finally:
        con.unregister(name)


def ingests_table(lake: Lake) -> pa.Table:
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


def _relation_type(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> str | None:
    """'BASE TABLE', 'VIEW', or None when the relation does not exist."""
    rows = con.execute(
        "select table_type from information_schema.tables "
        "where table_schema = ? and table_name = ? and table_catalog = current_database()",
        [schema, name],
    ).fetchall()
    return str(rows[0][0]) if rows else None


def snapshot_replay_points(con: duckdb.DuckDBPyConnection) -> list[datetime]:
    """The reference as-ofs to replay into a new symbols snapshot, oldest first.

    A snapshot only records what it sees at each build, so a warehouse file built from scratch
    would start with the latest description of every symbol and lose the history silver keeps.
    When the snapshot table does not exist yet, the history is rebuilt by snapshotting silver as
    of each delivered as-of in turn. Empty when the snapshot exists or there is no history.
    """
    if _relation_type(con, SNAPSHOT_SCHEMA, SYMBOLS_SNAPSHOT) is not None:
        return []
    rows = con.execute(
        f"select distinct ts_event from {SILVER_SCHEMA}.symbols order by ts_event"
    ).fetchall()
    points = [row[0] for row in rows if isinstance(row[0], datetime)]
    return points if len(points) > 1 else []


def narrow_symbols(con: duckdb.DuckDBPyConnection, until: datetime | None) -> None:
    """Make ``silver.symbols`` show only rows as of ``until`` or earlier (None: every row again).

    The first call keeps every delivered row in ``silver._symbols_delivered``; the next
    :func:`prepare_silver` drops it with the rest of the schema.
    """
    target = f"{SILVER_SCHEMA}.symbols"
    delivered = f"{SILVER_SCHEMA}.{SYMBOLS_DELIVERED}"
    if _relation_type(con, SILVER_SCHEMA, SYMBOLS_DELIVERED) is None:
        con.execute(f"create table {delivered} as select * from {target}")
    kind = _relation_type(con, SILVER_SCHEMA, "symbols")
    if kind is not None:
        con.execute(f"drop {'view' if kind == 'VIEW' else 'table'} {target}")
    if until is None:
        con.execute(f"create view {target} as select * from {delivered}")
        return
    instant = until.astimezone(UTC).isoformat()
    con.execute(
        f"create view {target} as select * from {delivered} "
        f"where cast(ts_event as timestamptz) <= cast('{instant}' as timestamptz)"
    )


def drop_symbols_snapshot(con: duckdb.DuckDBPyConnection) -> None:
    """Remove the symbols snapshot, so the next build replays the history from silver again."""
    con.execute(f"drop table if exists {SNAPSHOT_SCHEMA}.{SYMBOLS_SNAPSHOT}")
