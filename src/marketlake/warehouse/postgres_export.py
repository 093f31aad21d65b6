"""Publishing the PostgreSQL marts as Parquet in gold (the same files as from DuckDB).

Each table of ``<prefix>marts`` is read with one ``COPY ... TO STDOUT`` (CSV, sorted by every
column), parsed by Arrow with the column types the catalog gives, and written to
``<gold>/<model>.parquet`` atomically (temporary file renamed, or one PUT on object stores).
Instants travel as integer microseconds since the epoch, so no zone or format is parsed.
"""

from __future__ import annotations

import io
import logging
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from marketlake.config import Settings
from marketlake.errors import WarehouseError
from marketlake.lake.store import Lake
from marketlake.warehouse.export import ExportedMart
from marketlake.warehouse.postgres_target import MARTS, connect, schema_name

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

ARROW_TYPES: dict[str, pa.DataType] = {
    "bigint": pa.int64(),
    "integer": pa.int32(),
    "smallint": pa.int16(),
    "double precision": pa.float64(),
    "real": pa.float32(),
    "numeric": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp with time zone": pa.int64(),  # epoch microseconds, cast after parsing
    "timestamp without time zone": pa.int64(),
}
INSTANTS = {
    "timestamp with time zone": pa.timestamp("us", tz="UTC"),
    "timestamp without time zone": pa.timestamp("us"),
}


def export_postgres_marts(settings: Settings, gold: Lake) -> list[ExportedMart]:
    """Export every table of the marts schema to ``<gold>/<model>.parquet``.

    Args:
        settings: The PostgreSQL connection settings and the state dir.
        gold: Where the files go.

    Returns:
        The exported marts, by model name.

    Raises:
        WarehouseError: a mart could not be read or written.
        WarehouseUnavailableError: the server cannot be reached.
    """
    pg = settings.warehouse.postgres
    marts = schema_name(pg, MARTS)
    con = connect(pg)
    try:
        rows = con.execute(
            "select c.table_name, c.column_name, c.data_type from information_schema.columns c "
            "join information_schema.tables t using (table_schema, table_name) "
            "where c.table_schema = %s and t.table_type = 'BASE TABLE' "
            "order by c.table_name, c.ordinal_position",
            [marts],
        ).fetchall()
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, column, kind in rows:
            columns.setdefault(str(table), []).append((str(column), str(kind)))
        exported = []
        for model, cols in columns.items():
            try:
                table = read_mart(con, marts, model, cols)
                exported.append(_write(gold, model, table))
            except Exception as exc:
                detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise WarehouseError(
                    f"could not export mart {model}: {detail}",
                    hint="check that the gold folder is writable and has space",
                    path=gold.url(f"{model}.parquet"),
                ) from exc
        return exported
    finally:
        con.close()


def read_mart(
    con: psycopg.Connection, schema: str, model: str, columns: list[tuple[str, str]]
) -> pa.Table:
    """One mart as an Arrow table, rows sorted by every column.

    Args:
        con: A psycopg connection.
        schema: The marts schema.
        model: The table.
        columns: ``(name, information_schema data_type)`` in order.
    """
    select = ", ".join(_expression(name, kind) for name, kind in columns)
    order = ", ".join(str(i + 1) for i in range(len(columns)))
    query = f'select {select} from "{schema}"."{model}" order by {order}'
    buffer = io.BytesIO()
    with con.cursor().copy(f"copy ({query}) to stdout (format csv)") as copy:
        for data in copy:
            buffer.write(data)
    names = [name for name, _ in columns]
    types = {name: ARROW_TYPES.get(kind, pa.string()) for name, kind in columns}
    if not buffer.getbuffer().nbytes:
        table = pa.table({n: pa.array([], types[n]) for n in names})
    else:
        buffer.seek(0)
        table = pa_csv.read_csv(
            buffer,
            read_options=pa_csv.ReadOptions(column_names=names),
            convert_options=pa_csv.ConvertOptions(
                column_types=types,
                true_values=["t"],
                false_values=["f"],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
    for index, (name, kind) in enumerate(columns):
        if kind in INSTANTS:
            table = table.set_column(index, name, table.column(index).cast(INSTANTS[kind]))
    return table


def _expression(name: str, kind: str) -> str:
    quoted = '"' + name.replace('"', '""') + '"'
    if kind in INSTANTS:
        return f"cast(extract(epoch from {quoted}) * 1000000 as bigint) as {quoted}"
    return quoted


def _write(gold: Lake, model: str, table: pa.Table) -> ExportedMart:
    key = f"{model}.parquet"
    if gold.is_local:
        final = Path(gold.full(key))
        final.parent.mkdir(parents=True, exist_ok=True)
        # Lake.glob skips ".tmp-" names, so a crash never leaves a visible half-written mart.
        tmp = final.parent / f".tmp-{uuid.uuid4().hex}-{key}"
        try:
            pq.write_table(table, tmp, compression="zstd")
            size = tmp.stat().st_size
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
    else:
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="zstd")
        data = sink.getvalue()
        gold.write_bytes(key, data)
        size = len(data)
    log.info("exported mart %s (%d rows)", model, table.num_rows)
    return ExportedMart(model=model, url=gold.url(key), rows=table.num_rows, bytes=size)
