"""The same dbt project on DuckDB and on PostgreSQL over the same silver gives the same marts,
and incremental PostgreSQL loads equal a load from scratch.

One lake holds the warehouse samples (overlapping deliveries, a re-delivery with other bar
times, 1m bars, a crypto symbol trading on weekends, the indicator series with planted
anomalies) and two reference deliveries (so dim_symbol's history is replayed on both engines).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from marketlake.config import Settings, load_settings
from marketlake.ingest_reference import ingest_symbols
from marketlake.lake.silver import retract_ingest
from marketlake.lake.store import Lake, open_lake
from marketlake.warehouse import BuildResult, build_warehouse
from marketlake.warehouse.postgres_load import read_loads
from tests.integration.warehouse.indicator_sample import publish_indicator_sample
from tests.integration.warehouse.sample_silver import (
    FIRST_DAY,
    LAST_DAY,
    Sample,
    calendar_days,
    daily_bars,
    land_delivery,
    publish,
    publish_sample,
)
from tests.servers import PgServer, new_database
from tests.unit.analytics.sample import sample_bars_info, write_bars_info, write_continuous

from .parity import compare_gold, read_gold

pytestmark = pytest.mark.integration

SYMBOLS_CSV = """symbol,name,asset_class,exchange,currency,sector,industry,as_of
AAA,Alpha Corp,equity,XNYS,USD,Technology,Software,2021-01-15
BBB,Beta Inc,equity,XNAS,USD,Energy,Oil,2021-01-15
"""
SYMBOLS_JSON = [
    {"symbol": "AAA", "name": "Alpha Holdings", "asset_class": "equity", "exchange": "XNYS",
     "currency": "USD", "sector": "Financials", "industry": "Software"},
    {"symbol": "BBB", "name": "Beta Inc", "asset_class": "equity", "exchange": "XNAS",
     "currency": "USD", "sector": "Energy", "industry": "Oil"},
]  # fmt: skip
SECOND_AS_OF = datetime(2021, 2, 15, tzinfo=UTC)


@dataclass(frozen=True)
class Parity:
    folder: Path
    lake: Lake
    sample: Sample
    server: PgServer
    dbname: str
    duck: BuildResult
    pg: BuildResult
    loads_before: dict[tuple[str, str], tuple[str, int]]
    reprocessed: str  # ingest id re-published with other rows
    added: str  # ingest id delivered after the first build
    retracted: str  # ingest id removed from silver after the first build
    pg_again: BuildResult
    duck_again: BuildResult
    loads_after: dict[tuple[str, str], tuple[str, int]]
    fresh_dbname: str
    pg_fresh: BuildResult


def target_settings(folder: Path, name: str, **warehouse: Any) -> Settings:
    """Settings sharing one lake, each target with its own data dir and gold folder."""
    return load_settings(
        data_dir=folder / name,
        lake={"uri": str(folder / "lake")},
        warehouse={"gold_uri": str(folder / f"gold_{name}"), **warehouse},
    )


def pg_settings(folder: Path, name: str, server: PgServer, dbname: str) -> Settings:
    return target_settings(
        folder, name, target="postgres", postgres=server.settings(dbname, load_chunk_rows=1000)
    )


@pytest.fixture(scope="module")
def parity(
    tmp_path_factory: pytest.TempPathFactory, pg_server: PgServer, fresh_db: str
) -> Iterator[Parity]:
    folder = tmp_path_factory.mktemp("parity")
    duck = target_settings(folder, "duck")
    pg = pg_settings(folder, "pg", pg_server, fresh_db)
    lake = open_lake(duck)
    sample = publish_sample(lake)
    publish_indicator_sample(lake)
    # Information-driven bars from the current writer and from an older one lacking columns.
    write_bars_info(lake, sample_bars_info("ES", weeks=8))
    older = sample_bars_info("NQ", weeks=8, seed=5).drop("complete", "bar_threshold", "source")
    write_bars_info(lake, older, run_key="older")
    write_continuous(lake)
    first = folder / "symbols.csv"
    first.write_text(SYMBOLS_CSV)
    second = folder / "symbols.json"
    second.write_text(json.dumps(SYMBOLS_JSON))
    assert ingest_symbols(first, settings=duck).outcome == "published"
    assert ingest_symbols(second, settings=duck, as_of=SECOND_AS_OF).outcome == "published"

    duck_build = build_warehouse(duck)
    pg_build = build_warehouse(pg)
    for name in ("duck", "pg"):
        shutil.copytree(folder / f"gold_{name}", folder / f"first_{name}")
    loads_before = read_loads(pg.warehouse.postgres)

    # After the first build: AAA's later export is re-processed with other prices, a new
    # symbol is delivered, and BRK.B's March re-delivery is retracted.
    days = calendar_days(date(2022, 1, 3), LAST_DAY, weekends=False)
    publish(
        lake,
        daily_bars("AAA", days, seed=99, source="csv_daily", ingest_id=sample.aaa_new),
    )
    added = land_delivery(lake, source="csv_daily", logical_key="CCC.csv", content=b"CCC")
    ccc = calendar_days(FIRST_DAY, LAST_DAY, weekends=False)
    publish(lake, daily_bars("CCC", ccc, seed=5, source="csv_daily", ingest_id=added))
    retract_ingest(lake, dataset="bars", ingest_id=sample.brk_march)

    pg_again = build_warehouse(pg)
    loads_after = read_loads(pg.warehouse.postgres)
    duck_again = build_warehouse(duck)
    databases = new_database(pg_server)
    fresh_dbname = next(databases)
    pg_fresh = build_warehouse(pg_settings(folder, "pg_fresh", pg_server, fresh_dbname))
    yield Parity(
        folder=folder,
        lake=lake,
        sample=sample,
        server=pg_server,
        dbname=fresh_db,
        duck=duck_build,
        pg=pg_build,
        loads_before=loads_before,
        reprocessed=sample.aaa_new,
        added=added,
        retracted=sample.brk_march,
        pg_again=pg_again,
        duck_again=duck_again,
        loads_after=loads_after,
        fresh_dbname=fresh_dbname,
        pg_fresh=pg_fresh,
    )
    databases.close()


def test_both_targets_build_every_model_and_pass_every_test(parity: Parity) -> None:
    for result in (parity.duck, parity.pg, parity.pg_again, parity.pg_fresh):
        assert result.nodes_failed == []
        assert result.tests_failed == 0
        assert result.models_built == parity.duck.models_built > 0
        assert result.tests_passed == parity.duck.tests_passed > 0
    assert parity.pg.target == "postgres"
    assert parity.pg.loaded is not None


def test_every_gold_mart_is_equal_on_duckdb_and_postgres(parity: Parity) -> None:
    marts = read_gold(parity.folder / "first_duck")
    assert {"fct_daily_bars", "dim_symbol", "dim_date", "fct_bars_info"} <= set(marts)
    assert [name for name, frame in marts.items() if not frame.height] == []
    assert compare_gold(parity.folder / "first_duck", parity.folder / "first_pg") == []


def test_incremental_build_equals_a_fresh_build_and_duckdb(parity: Parity) -> None:
    # gold_pg now holds the incremental build's marts (exports are replaced).
    assert compare_gold(parity.folder / "gold_pg", parity.folder / "gold_pg_fresh") == []
    assert compare_gold(parity.folder / "gold_duck", parity.folder / "gold_pg") == []
    aaa = read_gold(parity.folder / "gold_pg")["fct_daily_bars"]
    assert "CCC" in aaa["symbol"].to_list()


def test_first_load_copies_every_ingest_once(parity: Parity) -> None:
    assert parity.pg.loaded is not None
    bars = {i for (dataset, i) in parity.loads_before if dataset == "bars"}
    assert parity.sample.aaa_old in bars
    assert parity.retracted in bars
    assert set(parity.pg.loaded.loaded_ids["bars"]) == bars
    assert parity.pg.loaded.datasets["bars"].rows_loaded == sum(
        rows for (dataset, _), (_, rows) in parity.loads_before.items() if dataset == "bars"
    )
    assert parity.pg.loaded.loaded_ids["symbols"]


def test_second_load_copies_only_new_and_reprocessed_ingests(parity: Parity) -> None:
    loaded = parity.pg_again.loaded
    assert loaded is not None
    assert loaded.loaded_ids == {"bars": sorted([parity.reprocessed, parity.added])}
    bars = loaded.datasets["bars"]
    assert bars.groups_loaded == 2
    assert bars.groups_deleted == 2  # the re-processed one's old rows, the retracted one
    before, after = parity.loads_before, parity.loads_after
    assert ("bars", parity.retracted) not in after
    assert after[("bars", parity.reprocessed)][0] != before[("bars", parity.reprocessed)][0]
    untouched = set(before) - {("bars", parity.reprocessed), ("bars", parity.retracted)}
    assert {k: after[k] for k in untouched} == {k: before[k] for k in untouched}


def test_silver_tables_hold_each_ingest_rows_exactly_once(parity: Parity) -> None:
    pg = pg_settings(parity.folder, "pg", parity.server, parity.dbname).warehouse.postgres
    with psycopg.connect(host=pg.host, port=pg.port, user=pg.user, dbname=parity.dbname) as con:
        counts = dict(
            con.execute("select ingest_id, count(*) from silver.bars group by 1").fetchall()
        )
        indexes = {
            row[0]
            for row in con.execute(
                "select indexname from pg_indexes where schemaname = 'silver' "
                "and tablename = 'bars'"
            ).fetchall()
        }
    assert parity.retracted not in counts
    loads = {i: rows for (dataset, i), (_, rows) in parity.loads_after.items() if dataset == "bars"}
    assert counts == loads
    assert "bars__symbol_interval_ts" in indexes


def test_build_output_says_whether_timescaledb_is_used(parity: Parity) -> None:
    with parity.server.admin() as con:
        row = con.execute(
            "select count(*) from pg_available_extensions where name = 'timescaledb'"
        ).fetchone()
    assert parity.pg.loaded is not None
    assert parity.pg.loaded.hypertables == bool(row[0])
