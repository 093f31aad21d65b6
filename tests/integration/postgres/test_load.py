"""The bulk loader on its own: exact values through COPY, incremental bookkeeping, atomicity."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pyarrow as pa
import pytest

from marketlake import schemas
from marketlake.config import Settings, load_settings
from marketlake.errors import WarehouseError
from marketlake.lake.compact import live_keys
from marketlake.lake.silver import publish_ingest
from marketlake.lake.store import Lake, open_lake
from marketlake.warehouse.postgres_load import load_silver, read_loads
from tests.servers import PgServer, new_database

if TYPE_CHECKING:
    from tests.s3server import S3Server

pytestmark = pytest.mark.integration

PREFIX = "t_"
# Conditions as vendors send them, with the characters a PostgreSQL array literal must escape.
CONDITIONS: list[list[str | None] | None] = [
    ["@", "T"],
    None,
    [],
    ['a "quoted", {braced} \\ value', None],
]


def trades(ingest_id: str, start_ns: int) -> pa.Table:
    n = len(CONDITIONS)
    return pa.table(
        {
            # Nanoseconds ending in 500: PostgreSQL keeps microseconds, rounded half up as DuckDB.
            "ts_event": pa.array([start_ns + i * 1_000_500 for i in range(n)], pa.int64()).cast(
                schemas.TS
            ),
            "symbol": ["AAA"] * n,
            "price": [100.125 + i for i in range(n)],
            "size": [1.0] * n,
            "exchange": ["4", None, "", "12"],
            "conditions": pa.array(CONDITIONS, pa.list_(pa.string())),
            "trade_id": [f"t{i}" for i in range(n)],
            "sequence": pa.array([i if i % 2 else None for i in range(n)], pa.int64()),
            "source": ["polygon"] * n,
            "ingest_id": [ingest_id] * n,
            "quality_flags": pa.array([None] * n, pa.string()),
        },
        schema=schemas.TRADES,
    )


def publish_trades(lake: Lake, ingest_id: str, start_ns: int) -> None:
    rows = trades(ingest_id, start_ns)
    publish_ingest(
        lake,
        dataset="trades",
        source="polygon",
        ingest_id=ingest_id,
        rows=rows,
        quarantined=schemas.QUARANTINE.empty_table(),
        rows_in=rows.num_rows,
        flagged_by_rule={},
    )


@pytest.fixture
def database(pg_server: PgServer) -> Iterator[str]:
    yield from new_database(pg_server)


def settings_of(tmp_path: Path, server: PgServer, dbname: str) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        warehouse={
            "target": "postgres",
            "postgres": server.settings(dbname, schema_prefix=PREFIX, load_ticks=True),
        },
    )


def rows_of(server: PgServer, dbname: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=dbname) as c:
        return c.execute(query).fetchall()


START = int(datetime(2024, 3, 1, 14, 30, tzinfo=UTC).timestamp()) * 10**9


def test_trades_arrive_exactly_arrays_nulls_and_rounded_instants(
    tmp_path: Path, pg_server: PgServer, database: str
) -> None:
    settings = settings_of(tmp_path, pg_server, database)
    lake = open_lake(settings)
    publish_trades(lake, "aaaa000000000001", START)
    result = load_silver(settings.warehouse.postgres, lake)
    assert result.datasets["trades"].rows_loaded == len(CONDITIONS)
    got = rows_of(
        pg_server,
        database,
        "select conditions, exchange, sequence, price, "
        "extract(epoch from ts_event) * 1000000 "
        f"from {PREFIX}silver.trades order by trade_id",
    )
    assert [row[0] for row in got] == CONDITIONS
    assert [row[1] for row in got] == ["4", None, "", "12"]
    assert [row[2] for row in got] == [None, 1, None, 3]
    assert [row[3] for row in got] == [100.125 + i for i in range(len(CONDITIONS))]
    # i * 1_000_500 ns: .0, 1000.5, 2001.0, 3001.5 us -> half up
    assert [int(row[4]) - START // 1000 for row in got] == [0, 1001, 2001, 3002]


def test_failed_load_keeps_the_previous_state(
    tmp_path: Path, pg_server: PgServer, database: str
) -> None:
    settings = settings_of(tmp_path, pg_server, database)
    pg = settings.warehouse.postgres
    lake = open_lake(settings)
    publish_trades(lake, "aaaa000000000001", START)
    load_silver(pg, lake)
    before = read_loads(pg)
    rows_before = rows_of(pg_server, database, f"select * from {PREFIX}silver.trades order by 1")

    # A re-processed ingest (new rows) and a new one whose file is unreadable.
    publish_trades(lake, "aaaa000000000001", START + 10**9)
    publish_trades(lake, "bbbb000000000002", START + 2 * 10**9)
    broken = next(k for k in live_keys(lake, "trades") if "bbbb000000000002" in k)
    Path(lake.full(broken)).write_bytes(b"not parquet")
    with pytest.raises(WarehouseError, match="cannot read silver file"):
        load_silver(pg, lake)
    assert read_loads(pg) == before
    assert rows_of(pg_server, database, f"select * from {PREFIX}silver.trades order by 1") == (
        rows_before
    )

    # Once the file is good again, the load catches up: both ingests, nothing twice.
    publish_trades(lake, "bbbb000000000002", START + 2 * 10**9)
    again = load_silver(pg, lake)
    assert again.loaded_ids == {"trades": ["aaaa000000000001", "bbbb000000000002"]}
    counts = dict(
        rows_of(
            pg_server, database, f"select ingest_id, count(*) from {PREFIX}silver.trades group by 1"
        )
    )
    assert counts == {"aaaa000000000001": 4, "bbbb000000000002": 4}
    assert load_silver(pg, lake).loaded_ids == {}  # nothing new: nothing copied


def test_loads_from_a_lake_on_s3(
    tmp_path: Path, pg_server: PgServer, database: str, s3_server: S3Server, s3_lake_uri: str
) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data",
        lake={
            "uri": s3_lake_uri,
            "endpoint_url": s3_server.endpoint_url,
            "access_key_id": s3_server.access_key,
            "secret_access_key": s3_server.secret_key,
        },
        warehouse={"target": "postgres", "postgres": pg_server.settings(database, load_ticks=True)},
    )
    lake = open_lake(settings)
    publish_trades(lake, "cccc000000000003", START)
    result = load_silver(settings.warehouse.postgres, lake)
    assert result.loaded_ids["trades"] == ["cccc000000000003"]
    got = rows_of(pg_server, database, "select conditions from silver.trades order by trade_id")
    assert [row[0] for row in got] == CONDITIONS
    assert load_silver(settings.warehouse.postgres, lake).loaded_ids == {}
