"""Bulk, incremental loading of silver into PostgreSQL with COPY.

Silver files are grouped by the ingest id in their name (``<id>.parquet``, ``<id>-<chunk>...``;
a ``bars_info`` run key likewise). A bookkeeping table, ``silver._marketlake_loads``, records
each group loaded with its identity: the silver record's ``published_at`` and row count plus the
live file names (or the files' sizes and versions when the dataset keeps no records). A build
then

- COPYs the groups not loaded yet,
- replaces the rows of a group whose identity changed (re-processed, compacted),
- deletes the rows of a group no longer in silver (superseded, retracted),

and replaces ``silver.ingests`` (the bronze manifest) and ``silver.trading_calendar``. Everything
happens in one transaction under an advisory lock: a crash or a concurrent build leaves the
previous consistent state, never half a load.

Rows travel as CSV written by Arrow from record batches of ``load_chunk_rows`` (never row by
row, memory bounded by one batch); each row carries its group in ``_ingest_group`` so a group's
rows can be deleted. When the server offers TimescaleDB the time-series tables are hypertables.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from marketlake import schemas
from marketlake.config import PostgresSettings
from marketlake.errors import WarehouseError
from marketlake.lake.compact import ingest_of, live_keys
from marketlake.lake.silver import IngestRecord, read_records
from marketlake.lake.store import Lake
from marketlake.retry import first_line
from marketlake.warehouse.duckdb_target import (
    DEFAULT_CALENDAR,
    SilverDataset,
    exposed_datasets,
    ingests_table,
)
from marketlake.warehouse.postgres_target import (
    SILVER,
    connect,
    restore_symbols,
    schema_name,
    timescale_available,
    where,
)
from marketlake.warehouse.trading_calendar import calendar_around

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

LOADS = "_marketlake_loads"
GROUP = "_ingest_group"
# Arbitrary constant of the advisory lock held by a load (one load per database at a time).
LOCK_ID = 7_302_114_551
# Time column of the tables made hypertables when TimescaleDB is available.
TIME_COLUMNS = {
    "bars": "ts_event",
    "bars_info": "ts_end",
    "trades": "ts_event",
    "quotes": "ts_event",
}


@dataclass(frozen=True)
class DatasetLoad:
    """What one build did to one silver table."""

    groups_loaded: int
    groups_deleted: int
    rows_loaded: int
    rows_deleted: int
    rows: int  # in the table afterwards


@dataclass(frozen=True)
class PostgresLoad:
    """What :func:`load_silver` did."""

    datasets: dict[str, DatasetLoad]
    ingests: int
    calendar_days: int
    hypertables: bool  # time-series tables are TimescaleDB hypertables
    seconds: float
    loaded_ids: dict[str, list[str]] = field(default_factory=dict)  # group ids COPYed, by dataset

    @property
    def bar_rows(self) -> int:
        """Rows of ``silver.bars`` after the load."""
        bars = self.datasets.get("bars")
        return bars.rows if bars else 0

    @property
    def rows_loaded(self) -> int:
        """Rows COPYed by this load, every dataset."""
        return sum(d.rows_loaded for d in self.datasets.values())


def loaded_datasets(pg: PostgresSettings) -> list[SilverDataset]:
    """The silver datasets copied into PostgreSQL (trades and quotes only when asked)."""
    datasets = exposed_datasets()
    if pg.load_ticks:
        datasets += [
            SilverDataset("trades", schemas.TRADES),
            SilverDataset("quotes", schemas.QUOTES),
        ]
    return datasets


def load_silver(
    pg: PostgresSettings, lake: Lake, *, calendar: str = DEFAULT_CALENDAR
) -> PostgresLoad:
    """Bring the warehouse's ``silver`` schema up to date with the lake (see the module doc).

    Args:
        pg: The warehouse's connection settings.
        lake: The lake whose silver is loaded.
        calendar: exchange-calendars code of ``silver.trading_calendar``.

    Returns:
        What was loaded, replaced and deleted, per dataset.

    Raises:
        WarehouseError: the server refused a statement (permissions, disk full...); nothing
            of this load is kept.
        WarehouseUnavailableError: the server cannot be reached.
    """
    import psycopg

    start = time.perf_counter()
    datasets = loaded_datasets(pg)
    records = {r.ingest_id: r for r in read_records(lake)}
    wanted = {d.name: _groups(lake, d.name, records) for d in datasets}
    ingests = ingests_table(lake)
    silver = schema_name(pg, SILVER)
    con = connect(pg)
    try:
        with con.transaction():
            con.execute("select pg_advisory_xact_lock(%s)", [LOCK_ID])
            con.execute("set local timezone = 'UTC'")  # instants are sent as UTC wall clock
            con.execute(f'create schema if not exists "{silver}"')
            hyper = _use_timescale(con)
            _create_loads_table(con, silver)
            restore_symbols(con, silver)
            done = _loaded(con, silver)
            results: dict[str, DatasetLoad] = {}
            ids: dict[str, list[str]] = {}
            for dataset in datasets:
                assert dataset.schema is not None
                _ensure_table(con, silver, dataset.name, dataset.schema, hypertable=hyper)
                results[dataset.name], ids[dataset.name] = _sync(
                    con,
                    silver,
                    dataset,
                    lake=lake,
                    wanted=wanted[dataset.name],
                    done=done[dataset.name],
                    pg=pg,
                )
            _replace(con, silver, "ingests", ingests)
            days = _calendar(con, silver, calendar)
            _replace(con, silver, "trading_calendar", days)
    except psycopg.OperationalError as exc:
        raise WarehouseError(
            f"loading silver into PostgreSQL failed: {first_line(exc)}",
            hint="nothing was changed; check the server's log and retry",
            server=where(pg),
        ) from None
    except psycopg.Error as exc:
        raise WarehouseError(
            f"loading silver into PostgreSQL failed: {first_line(exc)}",
            hint="nothing was changed; check the role's privileges and the server's disk",
            server=where(pg),
        ) from None
    finally:
        con.close()
    result = PostgresLoad(
        datasets=results,
        ingests=ingests.num_rows,
        calendar_days=days.num_rows,
        hypertables=hyper,
        seconds=round(time.perf_counter() - start, 3),
        loaded_ids={name: sorted(v) for name, v in ids.items() if v},
    )
    log.info("silver loaded into PostgreSQL: %s", result)
    return result


@dataclass(frozen=True)
class _Group:
    keys: list[str]
    identity: str
    rows: int  # from the silver record (0 when the dataset keeps none)


def _groups(lake: Lake, dataset: str, records: dict[str, IngestRecord]) -> dict[str, _Group]:
    """The live files of a dataset by group (ingest id), each with its identity."""
    by_group: dict[str, list[str]] = defaultdict(list)
    for key in live_keys(lake, dataset):
        by_group[ingest_of(key)].append(key)
    groups = {}
    for group, keys in by_group.items():
        digest = hashlib.sha256("\n".join(sorted(keys)).encode())
        record = records.get(group)
        rows = 0
        if record is not None and record.dataset == dataset:
            digest.update(f"|{record.published_at}|{record.rows_out}".encode())
            rows = record.rows_out
        else:  # no record (bars_info, continuous): the files' own versions
            for key in sorted(keys):
                info = lake.fs.info(lake.full(key))
                version = info.get("ETag") or info.get("mtime") or info.get("LastModified")
                digest.update(f"|{info.get('size')}:{version}".encode())
        groups[group] = _Group(sorted(keys), digest.hexdigest(), rows)
    return groups


def _use_timescale(con: psycopg.Connection) -> bool:
    """Whether time-series tables become hypertables: TimescaleDB offered and creatable."""
    import psycopg

    if not timescale_available(con):
        return False
    try:
        with con.transaction():  # a savepoint: a refusal must not abort the load
            con.execute("create extension if not exists timescaledb")
    except psycopg.Error as exc:
        # Offered but not preloaded (shared_preload_libraries) or no privilege to create it.
        log.warning("TimescaleDB not used: %s", first_line(exc))
        return False
    return True


def _create_loads_table(con: psycopg.Connection, silver: str) -> None:
    con.execute(
        f'create table if not exists "{silver}".{LOADS} ('
        "dataset text not null, ingest_id text not null, identity text not null, "
        "files integer not null, rows bigint not null, "
        "loaded_at timestamptz not null default now(), primary key (dataset, ingest_id))"
    )


def _loaded(con: psycopg.Connection, silver: str) -> dict[str, dict[str, str]]:
    """Identity of every loaded group, by dataset and group."""
    done: dict[str, dict[str, str]] = defaultdict(dict)
    for dataset, group, identity in con.execute(
        f'select dataset, ingest_id, identity from "{silver}".{LOADS}'
    ).fetchall():
        done[dataset][group] = identity
    return done


def pg_type(arrow_type: pa.DataType) -> str:
    """The PostgreSQL type of a silver column."""
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return pg_type(arrow_type.value_type) + "[]"
    checks = [
        (pa.types.is_boolean, "boolean"),
        (pa.types.is_integer, "bigint"),
        (pa.types.is_floating, "double precision"),
        (pa.types.is_date, "date"),
    ]
    return next((name for check, name in checks if check(arrow_type)), "text")


def _ensure_table(
    con: psycopg.Connection, silver: str, name: str, schema: pa.Schema, *, hypertable: bool
) -> None:
    """Create the table (and its indexes) when missing; add canonical columns it lacks."""
    table = f'"{silver}"."{name}"'
    existing = {
        str(row[0])
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = %s and table_name = %s",
            [silver, name],
        ).fetchall()
    }
    if existing:
        for column in schema:
            if column.name not in existing:
                con.execute(
                    f'alter table {table} add column "{column.name}" {pg_type(column.type)}'
                )
        return
    columns = [f'"{c.name}" {pg_type(c.type)}' for c in schema]
    con.execute(f"create table {table} ({', '.join(columns)}, {GROUP} text not null)")
    if hypertable and name in TIME_COLUMNS:
        con.execute(
            "select create_hypertable(%s, %s, if_not_exists => true)",
            [f"{silver}.{name}", TIME_COLUMNS[name]],
        )
    for suffix, cols in _indexes(name, schema):
        con.execute(f'create index if not exists "{name}__{suffix}" on {table} ({cols})')


def _indexes(name: str, schema: pa.Schema) -> list[tuple[str, str]]:
    """Indexes fitting the API's and the dashboard's reads, plus the group (for replacing)."""
    names = set(schema.names)
    found = [("group", GROUP)]
    if name == "bars":
        found.append(("symbol_interval_ts", 'symbol, "interval", ts_event'))
    elif {"symbol", "ts_event"} <= names:
        found.append(("symbol_ts", "symbol, ts_event"))
    elif {"symbol", "kind", "ts_end"} <= names:
        found.append(("symbol_kind_ts", "symbol, kind, ts_end"))
    elif {"root", "session_date"} <= names:
        found.append(("root_session", "root, session_date"))
    return found


def _sync(
    con: psycopg.Connection,
    silver: str,
    dataset: SilverDataset,
    *,
    lake: Lake,
    wanted: dict[str, _Group],
    done: dict[str, str],
    pg: PostgresSettings,
) -> tuple[DatasetLoad, list[str]]:
    """Delete stale groups, COPY new or changed ones, update the bookkeeping."""
    table = f'"{silver}"."{dataset.name}"'
    stale = sorted(g for g, identity in done.items() if wanted.get(g, _NONE).identity != identity)
    fresh = sorted(g for g, group in wanted.items() if done.get(g) != group.identity)
    deleted = 0
    if stale:
        cur = con.execute(f"delete from {table} where {GROUP} = any(%s)", [stale])
        deleted = max(cur.rowcount, 0)
        con.execute(
            f'delete from "{silver}".{LOADS} where dataset = %s and ingest_id = any(%s)',
            [dataset.name, stale],
        )
    assert dataset.schema is not None
    loaded = 0
    # A load bigger than the table is faster into an unindexed table, indexes built after
    # (one sort each, instead of a b-tree insert per row); DDL is transactional here.
    bulk = sum(wanted[g].rows for g in fresh) > _estimated_rows(con, silver, dataset.name)
    indexes = _indexes(dataset.name, dataset.schema) if bulk else []
    for suffix, _ in indexes:
        con.execute(f'drop index if exists "{silver}"."{dataset.name}__{suffix}"')
    for group in fresh:
        rows = copy_batches(
            con, table, _batches(lake, wanted[group].keys, dataset.schema, pg), group=group
        )
        con.execute(
            f'insert into "{silver}".{LOADS} (dataset, ingest_id, identity, files, rows) '
            "values (%s, %s, %s, %s, %s)",
            [dataset.name, group, wanted[group].identity, len(wanted[group].keys), rows],
        )
        loaded += rows
    for suffix, columns in indexes:
        con.execute(f'create index "{dataset.name}__{suffix}" on {table} ({columns})')
    if stale or fresh:
        con.execute(f"analyze {table}")  # fresh statistics for dbt's queries
    row = con.execute(
        f'select coalesce(sum(rows), 0) from "{silver}".{LOADS} where dataset = %s',
        [dataset.name],
    ).fetchone()
    total = int(row[0]) if row else 0
    if stale or fresh:
        log.info(
            "silver.%s: %d groups loaded (%d rows), %d removed (%d rows)",
            dataset.name,
            len(fresh),
            loaded,
            len(stale),
            deleted,
        )
    result = DatasetLoad(len(fresh), len(stale), loaded, deleted, total)
    return result, fresh


_NONE = _Group([], "", 0)


def _estimated_rows(con: psycopg.Connection, silver: str, name: str) -> float:
    """The planner's row count of a table (0 when never analyzed): no scan of a big table."""
    row = con.execute(
        "select c.reltuples from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relname = %s",
        [silver, name],
    ).fetchone()
    return max(float(row[0]), 0.0) if row else 0.0


def _batches(
    lake: Lake, keys: list[str], schema: pa.Schema, pg: PostgresSettings
) -> Iterator[pa.RecordBatch]:
    """The files' rows in batches of ``load_chunk_rows``, in the canonical columns."""
    for key in keys:
        try:
            with lake.fs.open(lake.full(key), "rb") as handle:
                parquet = pq.ParquetFile(handle)
                for batch in parquet.iter_batches(batch_size=pg.load_chunk_rows):
                    yield conform(batch, schema)
        except (OSError, pa.ArrowException) as exc:
            raise WarehouseError(
                f"cannot read silver file {key}: {first_line(exc)}",
                hint="nothing was loaded; re-process its ingest (or restore the file) and retry",
                path=lake.url(key),
            ) from exc


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """A batch with exactly the canonical columns, in order (missing ones as nulls)."""
    arrays = []
    for column in schema:
        index = batch.schema.get_field_index(column.name)
        if index < 0:
            arrays.append(pa.nulls(batch.num_rows, type=column.type))
        else:
            arrays.append(batch.column(index).cast(column.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema.remove_metadata())


def copy_batches(
    con: psycopg.Connection,
    table: str,
    batches: Iterator[pa.RecordBatch],
    *,
    group: str | None = None,
) -> int:
    """COPY record batches into ``table`` as CSV, one batch in memory at a time.

    Args:
        con: A connection (inside the caller's transaction).
        table: The quoted table name; its columns are the batches' (plus ``_ingest_group``).
        batches: Rows to load, all with one schema.
        group: The value of ``_ingest_group`` for every row; None when the table has none.

    Returns:
        The number of rows copied.
    """
    rows = 0
    first = next(batches, None)
    if first is None:
        return 0
    names = [f'"{name}"' for name in first.schema.names] + ([GROUP] if group is not None else [])
    statement = f"copy {table} ({', '.join(names)}) from stdin (format csv)"
    options = pa_csv.WriteOptions(include_header=False)
    from psycopg.copy import QueuedLibpqWriter

    cursor = con.cursor()
    # A writer thread sends one batch while the next is read and encoded.
    with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
        for batch in _chain(first, batches):
            if not batch.num_rows:
                continue
            text = _csv_ready(batch)
            if group is not None:
                text = text.append_column(GROUP, pa.array([group] * batch.num_rows, pa.string()))
            buffer = io.BytesIO()
            pa_csv.write_csv(text, buffer, options)
            copy.write(buffer.getbuffer())
            rows += batch.num_rows
    return rows


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


def _csv_ready(batch: pa.RecordBatch) -> pa.Table:
    """The batch as PostgreSQL reads it fastest and exactly.

    List columns become array literals (``{"a","b"}``). Instants become UTC wall-clock
    microseconds without a zone (the load's session is in UTC): Arrow writes zoned instants
    ~16x slower, and nanoseconds are rounded here, half up as DuckDB does (PostgreSQL would
    round half to even while parsing).
    """
    table = pa.Table.from_batches([batch])
    for index, column in enumerate(table.schema):
        kind = column.type
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            table = table.set_column(index, column.name, _array_literal(table.column(index)))
        elif pa.types.is_timestamp(kind) and (kind.unit == "ns" or kind.tz is not None):
            table = table.set_column(index, column.name, _utc_micros(table.column(index), kind))
    return table


def _utc_micros(values: pa.ChunkedArray, kind: pa.TimestampType) -> pa.Array:
    """Instants as naive UTC microseconds; nanoseconds rounded half up: floor((ns + 500) / 1000)."""
    raw = values.combine_chunks().cast(pa.int64())
    if kind.unit == "ns":
        shifted = pc.add(raw, 500)
        quotient = pc.divide(shifted, 1000)  # truncates toward zero
        # Before 1970 truncation is a ceiling: step down where it went up.
        above = pc.greater(pc.multiply(quotient, 1000), shifted)
        raw = pc.if_else(above, pc.subtract(quotient, 1), quotient)
        return raw.cast(pa.timestamp("us"))
    return raw.cast(pa.timestamp(kind.unit))


def _array_literal(values: pa.ChunkedArray) -> pa.Array:
    """List values as PostgreSQL array literals: every element quoted, a null element NULL."""
    lists = values.combine_chunks().cast(pa.list_(pa.string()))
    items = lists.values
    escaped = pc.replace_substring(pc.replace_substring(items, "\\", "\\\\"), '"', '\\"')
    quoted = pc.binary_join_element_wise('"', escaped, '"', "")
    quoted = pc.if_else(pc.is_null(items), pa.scalar("NULL"), quoted)
    rebuilt = pa.ListArray.from_arrays(lists.offsets, quoted, mask=lists.is_null())
    return pc.binary_join_element_wise("{", pc.binary_join(rebuilt, ","), "}", "")


def _replace(con: psycopg.Connection, silver: str, name: str, table: pa.Table) -> None:
    """Replace every row of a small table (the manifest, the calendar)."""
    _ensure_plain_table(con, silver, name, table.schema)
    target = f'"{silver}"."{name}"'
    con.execute(f"delete from {target}")
    copy_batches(con, target, iter(table.to_batches()))


def _ensure_plain_table(con: psycopg.Connection, silver: str, name: str, schema: pa.Schema) -> None:
    columns = [f'"{c.name}" {pg_type(c.type)}' for c in schema]
    con.execute(f'create table if not exists "{silver}"."{name}" ({", ".join(columns)})')


def _calendar(con: psycopg.Connection, silver: str, calendar: str) -> pa.Table:
    """The trading calendar over the bars' session dates plus the margin (empty without bars)."""
    row = con.execute(
        f'select min(session_date), max(session_date) from "{silver}".bars'
    ).fetchone()
    first, last = row if row else (None, None)
    return calendar_around(calendar, first, last)


def read_loads(pg: PostgresSettings) -> dict[tuple[str, str], tuple[str, int]]:
    """The bookkeeping: ``(dataset, ingest id) -> (identity, rows)`` of every loaded group."""
    con = connect(pg)
    try:
        rows = con.execute(
            f'select dataset, ingest_id, identity, rows from "{schema_name(pg, SILVER)}".{LOADS}'
        ).fetchall()
    finally:
        con.close()
    return {(str(d), str(i)): (str(identity), int(n)) for d, i, identity, n in rows}
