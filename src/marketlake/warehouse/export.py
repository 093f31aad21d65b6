"""Publishing the marts as Parquet in gold, so readers never hold the warehouse's write lock.

Each mart becomes ``<gold>/<model>.parquet``, replaced atomically: DuckDB writes a temporary file
in the same folder and it is renamed over the old one (on object stores, one PUT). Rows are
written sorted by every column, so the same tables give the same files. On PostgreSQL the marts
are read with COPY and written by Arrow (:mod:`marketlake.warehouse.postgres_export`).
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from marketlake.config import Settings
from marketlake.errors import WarehouseError
from marketlake.lake.store import Lake
from marketlake.warehouse.duckdb_target import connect

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

MARTS_SCHEMA = "marts"
PARQUET_OPTIONS = "format parquet, compression zstd"


@dataclass(frozen=True)
class ExportedMart:
    """One mart published in gold."""

    model: str
    url: str
    rows: int
    bytes: int


def export_marts(settings: Settings) -> list[ExportedMart]:
    """Export every table of the ``marts`` schema to ``<gold_uri>/<model>.parquet``.

    Args:
        settings: Where the warehouse is (DuckDB or PostgreSQL) and where gold goes.

    Returns:
        The exported marts, by model name.

    Raises:
        WarehouseLockedError: another process holds the warehouse.
        WarehouseError: a mart could not be written.
    """
    gold = Lake(settings.gold_uri, settings.storage_options())
    if settings.warehouse.target == "postgres":
        from marketlake.warehouse.postgres_export import export_postgres_marts

        return export_postgres_marts(settings, gold)
    con = connect(settings.duckdb_path, read_only=True)
    try:
        models = [
            str(row[0])
            for row in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = ? and table_catalog = current_database() "
                "and table_type = 'BASE TABLE' order by table_name",
                [MARTS_SCHEMA],
            ).fetchall()
        ]
        exported: list[ExportedMart] = []
        for model in models:
            try:
                exported.append(_export_one(con, gold, model, settings.state_dir))
            except Exception as exc:
                raise WarehouseError(
                    f"could not export mart {model}: {exc}",
                    hint="check that the gold folder is writable and has space",
                    path=gold.url(f"{model}.parquet"),
                ) from exc
        return exported
    finally:
        con.close()


def _export_one(
    con: duckdb.DuckDBPyConnection, gold: Lake, model: str, scratch: Path
) -> ExportedMart:
    key = f"{model}.parquet"
    query = f"select * from {MARTS_SCHEMA}.{model} order by all"
    row = con.execute(f"select count(*) from {MARTS_SCHEMA}.{model}").fetchone()
    rows = int(row[0]) if row else 0
    if gold.is_local:
        final = Path(gold.full(key))
        final.parent.mkdir(parents=True, exist_ok=True)
        # Lake.glob skips ".tmp-" names, so a crash never leaves a visible half-written mart.
        tmp = final.parent / f".tmp-{uuid.uuid4().hex}-{key}"
        try:
            con.execute(f"copy ({query}) to '{_quote(tmp)}' ({PARQUET_OPTIONS})")
            size = tmp.stat().st_size
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
    else:
        scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=scratch) as folder:
            tmp = Path(folder) / key
            con.execute(f"copy ({query}) to '{_quote(tmp)}' ({PARQUET_OPTIONS})")
            data = tmp.read_bytes()
        gold.write_bytes(key, data)
        size = len(data)
    log.info("exported mart %s (%d rows)", model, rows)
    return ExportedMart(model=model, url=gold.url(key), rows=rows, bytes=size)


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
