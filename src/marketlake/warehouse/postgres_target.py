"""The PostgreSQL warehouse: connecting, and keeping the ``silver`` schema dbt reads up to date.

Unlike DuckDB, PostgreSQL cannot read the lake's Parquet files in place, so silver is copied in
(:mod:`marketlake.warehouse.postgres_load`), incrementally: only the ingests not loaded yet are
COPYed, an ingest re-processed since its load is replaced, and one no longer in silver is
deleted. Tables keep their rows between builds, so the staging views dbt creates over them stay.

Schemas are ``<prefix>silver``, ``<prefix>staging``, ``<prefix>marts``, ``<prefix>snapshots``
(``warehouse.postgres.schema_prefix``, empty by default).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from marketlake.config import PostgresSettings
from marketlake.errors import WarehouseError, WarehouseUnavailableError

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

SILVER = "silver"
SNAPSHOTS = "snapshots"
MARTS = "marts"
SYMBOLS_SNAPSHOT = "snap_symbols"
# Every delivered reference row, while silver.symbols is narrowed to an as-of during a replay.
SYMBOLS_DELIVERED = "_symbols_delivered"
AUTH_MARKERS = ("password authentication failed", "no password supplied", "authentication failed")


def schema_name(pg: PostgresSettings, name: str) -> str:
    """The PostgreSQL schema of a warehouse layer (``silver`` -> ``<prefix>silver``)."""
    return f"{pg.schema_prefix}{name}"


def where(pg: PostgresSettings) -> str:
    """The server and database, for messages (never the password)."""
    return f"postgresql://{pg.user}@{pg.host}:{pg.port}/{pg.dbname}"


def connect(pg: PostgresSettings, *, dbname: str | None = None) -> psycopg.Connection:
    """Open a connection to the warehouse database (transactions are explicit).

    Args:
        pg: The connection settings.
        dbname: Another database on the same server (tests create theirs from ``postgres``).

    Raises:
        WarehouseError: the server refused the login (wrong user or password) or the database
            does not exist.
        WarehouseUnavailableError: the server did not answer (down, wrong host or port).
    """
    import psycopg

    try:
        return psycopg.connect(
            host=pg.host,
            port=pg.port,
            user=pg.user,
            password=pg.password.get_secret_value() if pg.password else None,
            dbname=dbname or pg.dbname,
            sslmode=pg.sslmode,
            connect_timeout=pg.connect_timeout_s,
            application_name="marketlake",
            options="-c TimeZone=UTC",
        )
    except psycopg.OperationalError as exc:
        raise connection_error(pg, exc) from None


def connection_error(
    pg: PostgresSettings, exc: BaseException
) -> WarehouseError | WarehouseUnavailableError:
    """The one-line error of a failed connection, the password scrubbed from any detail.

    Args:
        pg: The settings used.
        exc: What the driver raised.
    """
    detail = _last_line(str(exc))
    secret = pg.password.get_secret_value() if pg.password else ""
    if secret:
        detail = detail.replace(secret, "**********")
    lowered = detail.lower()
    if any(marker in lowered for marker in AUTH_MARKERS):
        return WarehouseError(
            f"PostgreSQL refused the login of user {pg.user!r}",
            hint="check warehouse.postgres.user and the password "
            "(MARKETLAKE_WAREHOUSE__POSTGRES__PASSWORD)",
            server=where(pg),
        )
    if "does not exist" in lowered:
        return WarehouseError(
            f"PostgreSQL says: {detail}",
            hint=f"create it (createdb -h {pg.host} -p {pg.port} {pg.dbname}) "
            "or fix warehouse.postgres.dbname / user",
            server=where(pg),
        )
    return WarehouseUnavailableError(
        f"cannot reach PostgreSQL: {detail}",
        hint="start the server (scripts/services.sh postgres) or fix warehouse.postgres.host/port",
        server=where(pg),
    )


def _last_line(text: str) -> str:
    """libpq's messages end with the reason ('FATAL: ...', 'Connection refused')."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else text


def ensure_database(pg: PostgresSettings) -> None:
    """Create the warehouse database when missing (needs the CREATEDB privilege).

    Raises:
        WarehouseError: it is missing and cannot be created.
    """
    import psycopg
    from psycopg import sql

    try:
        con = connect(pg)
    except WarehouseError as exc:
        if "does not exist" not in exc.message:
            raise
    else:
        con.close()
        return
    admin = connect(pg, dbname="postgres")
    try:
        admin.autocommit = True
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(pg.dbname)))
        log.info("created PostgreSQL database %s", pg.dbname)
    except psycopg.Error as exc:
        raise WarehouseError(
            f"cannot create the database {pg.dbname}: {_last_line(str(exc))}",
            hint="create it yourself or grant the role CREATEDB",
            server=where(pg),
        ) from None
    finally:
        admin.close()


def _relation_exists(con: psycopg.Connection, schema: str, name: str) -> bool:
    row = con.execute(
        "select 1 from information_schema.tables where table_schema = %s and table_name = %s",
        [schema, name],
    ).fetchone()
    return row is not None


def snapshot_replay_points(pg: PostgresSettings) -> list[datetime]:
    """The reference as-ofs to replay into a new symbols snapshot, oldest first.

    As for DuckDB (see ``duckdb_target.snapshot_replay_points``): empty when the snapshot table
    exists, or silver holds fewer than two as-ofs.
    """
    con = connect(pg)
    try:
        if _relation_exists(con, schema_name(pg, SNAPSHOTS), SYMBOLS_SNAPSHOT):
            return []
        rows = con.execute(
            f'select distinct ts_event from "{schema_name(pg, SILVER)}".symbols order by 1'
        ).fetchall()
    finally:
        con.close()
    points = [row[0] for row in rows if isinstance(row[0], datetime)]
    return points if len(points) > 1 else []


def narrow_symbols(pg: PostgresSettings, until: datetime | None) -> None:
    """Make ``silver.symbols`` hold only rows as of ``until`` or earlier (None: every row again).

    The staging view is bound to the table, so rows are moved, not relations swapped: the first
    call keeps every loaded row in ``silver._symbols_delivered``, ``None`` puts them back and
    drops it (the loader does too, should a build die mid-replay).
    """
    silver = schema_name(pg, SILVER)
    con = connect(pg)
    try:
        with con.transaction():
            if not _relation_exists(con, silver, SYMBOLS_DELIVERED):
                con.execute(
                    f'create table "{silver}".{SYMBOLS_DELIVERED} as '
                    f'select * from "{silver}".symbols'
                )
            con.execute(f'delete from "{silver}".symbols')
            if until is None:
                restore_symbols(con, silver)
                return
            con.execute(
                f'insert into "{silver}".symbols select * from "{silver}".{SYMBOLS_DELIVERED} '
                "where ts_event <= %s",
                [until.astimezone(UTC)],
            )
    finally:
        con.close()


def restore_symbols(con: psycopg.Connection, silver: str) -> None:
    """Put back the rows a replay set aside (inside the caller's transaction), if any."""
    if not _relation_exists(con, silver, SYMBOLS_DELIVERED):
        return
    con.execute(f'delete from "{silver}".symbols')
    con.execute(f'insert into "{silver}".symbols select * from "{silver}".{SYMBOLS_DELIVERED}')
    con.execute(f'drop table "{silver}".{SYMBOLS_DELIVERED}')


def drop_symbols_snapshot(pg: PostgresSettings) -> None:
    """Remove the symbols snapshot, so the next build replays the history from silver again."""
    con = connect(pg)
    try:
        with con.transaction():
            con.execute(
                f'drop table if exists "{schema_name(pg, SNAPSHOTS)}".{SYMBOLS_SNAPSHOT} cascade'
            )
    finally:
        con.close()


def timescale_available(con: psycopg.Connection) -> bool:
    """Whether the server offers the timescaledb extension (installed or installable)."""
    row = con.execute("select 1 from pg_available_extensions where name = 'timescaledb'").fetchone()
    return row is not None
