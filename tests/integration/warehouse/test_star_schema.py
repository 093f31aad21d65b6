"""The gold star schema with real dbt builds: dim_symbol's SCD2 history, dim_date, fct_prices.

Reference data arrives twice (AAA renamed and moved to another sector in the second delivery,
BBB described again unchanged), with a build after each delivery; then the warehouse file is
deleted and built from scratch, which must give the same history.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import exchange_calendars as xcals
import polars as pl
import polars.selectors as cs
import pytest

from marketlake.config import Settings
from marketlake.ingest_reference import ingest_symbols
from marketlake.lake.silver import read_dataset
from marketlake.lake.store import Lake, open_lake
from marketlake.ops.ledger import Run, read_ledger
from marketlake.warehouse import BuildResult, build_warehouse

from .sample_silver import calendar_days, daily_bars, land_delivery, minute_bars, publish
from .support import make_settings, read_table, refuse_network

pytestmark = pytest.mark.integration

FIRST_AS_OF = datetime(2021, 1, 15, tzinfo=UTC)
SECOND_AS_OF = datetime(2021, 2, 15, tzinfo=UTC)
FIRST_CSV = f"""symbol,name,asset_class,exchange,currency,sector,industry,as_of
AAA,Alpha Corp,Equity,XNYS,USD,Technology,Software,{FIRST_AS_OF.date()}
BBB,Beta Inc,equity,XNAS,USD,Energy,Oil,{FIRST_AS_OF.date()}
DDD,Delta Ltd,equity,XNYS,USD,Utilities,Water,{FIRST_AS_OF.date()}
bad symbol,Nobody,equity,XNYS,USD,,,{FIRST_AS_OF.date()}
"""
SECOND_JSON = [
    {"symbol": "AAA", "name": "Alpha Holdings", "asset_class": "equity", "exchange": "XNYS",
     "currency": "USD", "sector": "Financials", "industry": "Software"},
    {"symbol": "BBB", "name": "Beta Inc", "asset_class": "equity", "exchange": "XNAS",
     "currency": "USD", "sector": "Energy", "industry": "Oil"},
    {"symbol": "DDD", "name": "Delta Ltd", "asset_class": "equity", "exchange": "XNYS",
     "currency": "USD", "sector": "Utilities", "industry": "Water"},
]  # fmt: skip


@dataclass(frozen=True)
class Star:
    settings: Settings
    lake: Lake
    deliveries: dict[str, str]  # ingest id by logical key
    first: BuildResult
    first_tables: dict[str, pl.DataFrame]  # marts after the first build
    second: BuildResult
    second_tables: dict[str, pl.DataFrame]  # marts after the second build
    rebuilt: BuildResult
    rebuilt_tables: dict[str, pl.DataFrame]  # marts after building a new file from scratch
    run: Run


MARTS = ("dim_symbol", "dim_date", "dim_source", "fct_prices", "fct_daily_bars")


def marts(settings: Settings) -> dict[str, pl.DataFrame]:
    """The star schema's tables, instants labelled "UTC" (DuckDB names the host's zone)."""
    return {
        name: read_table(settings, f"marts.{name}").with_columns(
            cs.datetime(time_zone="*").dt.convert_time_zone("UTC")
        )
        for name in MARTS
    }


def publish_bars(lake: Lake) -> dict[str, str]:
    """AAA (delivered twice, overlapping in March), BBB with 1m bars, CCC without reference.

    Returns:
        The ingest id of each delivery, by its logical key.
    """
    days = calendar_days(date(2021, 1, 4), date(2021, 3, 31), weekends=False)
    ids: dict[str, str] = {}

    def deliver(symbol: str, chosen: list[date], key: str, seed: int) -> None:
        ids[key] = land_delivery(lake, source="csv_daily", logical_key=key, content=key.encode())
        publish(lake, daily_bars(symbol, chosen, seed=seed, source="csv_daily", ingest_id=ids[key]))

    deliver("AAA", days, "AAA/q1.csv", 1)
    deliver("AAA", [d for d in days if d.month == 3], "AAA/march.csv", 2)
    deliver("BBB", days, "BBB.csv", 3)
    ids["BBB/1m"] = land_delivery(lake, source="polygon", logical_key="BBB/1m", content=b"1m")
    minutes = minute_bars(
        "BBB", date(2021, 2, 1), count=20, source="polygon", ingest_id=ids["BBB/1m"]
    )
    publish(lake, minutes)
    deliver("CCC", days, "CCC.csv", 4)
    return ids


@pytest.fixture(scope="module")
def star(tmp_path_factory: pytest.TempPathFactory) -> Star:
    folder = tmp_path_factory.mktemp("star")
    settings = make_settings(folder / "data")
    lake = open_lake(settings)
    deliveries = publish_bars(lake)
    first_file = folder / "symbols_v1.csv"
    first_file.write_text(FIRST_CSV)
    second_file = folder / "symbols_v2.json"
    second_file.write_text(json.dumps(SECOND_JSON))
    run = Run(lake)
    with pytest.MonkeyPatch.context() as patch:
        refuse_network(patch)
        assert ingest_symbols(first_file, settings=settings, run=run).outcome == "published"
        first = build_warehouse(settings, run=run)
        first_tables = marts(settings)
        second_ingest = ingest_symbols(second_file, settings=settings, as_of=SECOND_AS_OF, run=run)
        assert second_ingest.outcome == "published"
        second = build_warehouse(settings, run=run)
        second_tables = marts(settings)
        settings.duckdb_path.unlink()
        rebuilt = build_warehouse(settings, run=run)
    return Star(
        settings=settings,
        lake=lake,
        deliveries=deliveries,
        first=first,
        first_tables=first_tables,
        second=second,
        second_tables=second_tables,
        rebuilt=rebuilt,
        rebuilt_tables=marts(settings),
        run=run,
    )


def versions(dim: pl.DataFrame, symbol: str) -> list[dict[str, object]]:
    return dim.filter(pl.col("symbol") == symbol).sort("version_number").to_dicts()


def test_builds_pass_every_data_and_unit_test(star: Star) -> None:
    for result in (star.first, star.second, star.rebuilt):
        assert result.nodes_failed == []
        assert result.tests_failed == 0
        assert result.unit_tests_passed >= 3  # delivery choice, trading days, SCD2 lookup


def test_a_changed_sector_gives_a_second_version_valid_from_the_vendor_as_of(star: Star) -> None:
    aaa = versions(star.second_tables["dim_symbol"], "AAA")
    assert [(v["symbol_name"], v["sector"], v["is_current"]) for v in aaa] == [
        ("Alpha Corp", "Technology", False),
        ("Alpha Holdings", "Financials", True),
    ]
    assert [v["valid_from"] for v in aaa] == [FIRST_AS_OF, SECOND_AS_OF]
    assert [v["valid_to"] for v in aaa] == [SECOND_AS_OF, None]
    assert aaa[0]["asset_class"] == "equity"  # normalised to lower case
    assert aaa[0]["symbol_key"] != aaa[1]["symbol_key"]


def test_an_unchanged_description_with_a_later_as_of_is_not_a_new_version(star: Star) -> None:
    bbb = versions(star.second_tables["dim_symbol"], "BBB")
    assert len(bbb) == 1
    assert (bbb[0]["valid_from"], bbb[0]["valid_to"], bbb[0]["is_current"]) == (
        FIRST_AS_OF,
        None,
        True,
    )


def test_symbols_with_prices_but_no_reference_get_an_unknown_row(star: Star) -> None:
    dim = star.second_tables["dim_symbol"]
    (ccc,) = versions(dim, "CCC")
    assert ccc["has_reference"] is False
    assert ccc["symbol_name"] is None
    assert {ccc[c] for c in ("asset_class", "exchange", "currency", "sector", "industry")} == {
        "unknown"
    }
    assert ccc["is_current"] is True
    assert ccc["trading_days"] > 0
    # A described symbol without prices is in the dimension too; the bad symbol is not.
    assert versions(dim, "DDD")[0]["trading_days"] is None
    assert set(dim["symbol"].to_list()) == {"AAA", "BBB", "CCC", "DDD"}


def test_the_first_build_has_one_version_per_described_symbol(star: Star) -> None:
    dim = star.first_tables["dim_symbol"]
    assert dim.height == 4  # AAA, BBB, DDD described; CCC only priced
    assert dim["is_current"].all()
    (aaa,) = versions(dim, "AAA")
    assert (aaa["symbol_name"], aaa["valid_from"]) == ("Alpha Corp", FIRST_AS_OF)


def test_only_a_new_warehouse_file_replays_the_reference_history(star: Star) -> None:
    ledger = [r for r in read_ledger(star.lake) if r.run_id == star.run.run_id]
    builds = [r for r in ledger if r.step == "build"]
    # Two as-ofs in silver; the snapshot table existed for the second build.
    assert [b.details["symbol_history_replayed"] for b in builds] == [0, 0, 2]


def test_rebuilding_the_file_from_scratch_keeps_the_history(star: Star) -> None:
    for name in MARTS:
        before = star.second_tables[name].sort(star.second_tables[name].columns)
        after = star.rebuilt_tables[name].sort(star.rebuilt_tables[name].columns)
        if name == "dim_source":  # counts the deliveries landed, unchanged between the builds
            assert before.drop("first_landed_at", "last_landed_at").equals(
                after.drop("first_landed_at", "last_landed_at")
            )
            continue
        assert before.equals(after), name


def test_fct_prices_has_one_row_per_distinct_silver_bar(star: Star) -> None:
    silver = pl.from_arrow(read_dataset(star.lake, "bars"))
    assert isinstance(silver, pl.DataFrame)
    keys = silver.select("symbol", "interval", "ts_event").unique()
    fct = star.second_tables["fct_prices"]
    assert fct.height == keys.height
    assert fct.select("symbol", "bar_interval", "ts_event").unique().height == fct.height
    assert set(fct["bar_interval"].unique().to_list()) == {"1d", "1m"}
    # The March redelivery of AAA (landed later) wins over the first export.
    aaa = fct.filter(pl.col("symbol") == "AAA", pl.col("bar_interval") == "1d")
    by_month = aaa.group_by(pl.col("session_date").dt.month().alias("month")).agg(
        pl.col("ingest_id").unique().sort()
    )
    assert dict(by_month.iter_rows()) == {
        1: [star.deliveries["AAA/q1.csv"]],
        2: [star.deliveries["AAA/q1.csv"]],
        3: [star.deliveries["AAA/march.csv"]],
    }


def test_fct_prices_points_at_the_symbol_version_valid_at_the_bar(star: Star) -> None:
    fct = star.second_tables["fct_prices"]
    dim = star.second_tables["dim_symbol"]
    aaa = {v["version_number"]: v["symbol_key"] for v in versions(dim, "AAA")}
    rows = fct.filter(pl.col("symbol") == "AAA")
    before = rows.filter(pl.col("ts_event") < SECOND_AS_OF)
    after = rows.filter(pl.col("ts_event") >= SECOND_AS_OF)
    assert before.height > 0
    assert after.height > 0
    # Bars before the first as-of (early January) belong to the first version too.
    assert before.filter(pl.col("ts_event") < FIRST_AS_OF).height > 0
    assert set(before["symbol_key"].to_list()) == {aaa[1]}
    assert set(after["symbol_key"].to_list()) == {aaa[2]}


def test_relationships_hold(star: Star) -> None:
    tables = star.second_tables
    for fact in ("fct_prices", "fct_daily_bars"):
        facts = tables[fact]
        assert facts["symbol_key"].null_count() == 0
        assert set(facts["symbol_key"]) <= set(tables["dim_symbol"]["symbol_key"])
        assert set(facts["date_key"]) <= set(tables["dim_date"]["date_key"])
    assert set(tables["fct_prices"]["source_key"]) <= set(tables["dim_source"]["source_key"])


def test_dim_source_lists_every_source_with_its_deliveries(star: Star) -> None:
    dim = star.second_tables["dim_source"]
    assert {"csv_daily", "hdf5_ticks", "polygon", "alphavantage", "s3_json", "reference"} <= set(
        dim["source"]
    )
    deliveries = dict(zip(dim["source"], dim["deliveries"], strict=True))
    assert deliveries["csv_daily"] == 4
    assert deliveries["polygon"] == 1
    assert deliveries["reference"] == 2
    assert deliveries["alphavantage"] == 0
    assert dim["source_key"].n_unique() == dim.height


def test_dim_date_follows_the_exchange_calendar(star: Star) -> None:
    dim = star.second_tables["dim_date"].sort("date_day")
    first, last = dim["date_day"].min(), dim["date_day"].max()
    assert isinstance(first, date)
    assert isinstance(last, date)
    with warnings.catch_warnings():  # the library's own deprecated pandas calls
        warnings.simplefilter("ignore", DeprecationWarning)
        calendar = xcals.get_calendar("XNYS", start=first.isoformat(), end=last.isoformat())
    sessions = {s.date() for s in calendar.sessions}
    assert set(dim.filter(pl.col("is_trading_day"))["date_day"]) == sessions
    # Presidents' Day 2021 (Monday 15 Feb) is a weekday without a session.
    holiday = dim.filter(pl.col("date_day") == date(2021, 2, 15)).row(0, named=True)
    assert holiday["is_trading_day"] is False
    assert holiday["is_weekend"] is False
    assert (holiday["previous_trading_day"], holiday["next_trading_day"]) == (
        date(2021, 2, 12),
        date(2021, 2, 16),
    )
    numbers = dim.filter(pl.col("is_trading_day"))["trading_day_number"].to_list()
    assert numbers == list(range(1, len(numbers) + 1))
    opens = dim.filter(pl.col("is_trading_day"))["session_open_utc"]
    assert opens.null_count() == 0


def test_silver_exposes_reference_indicators_anomalies_and_the_calendar(star: Star) -> None:
    for table, expected in (("symbols", 6), ("indicators", 0), ("anomalies", 0)):
        assert read_table(star.settings, f"silver.{table}").height == expected, table
    calendar = read_table(star.settings, "silver.trading_calendar")
    days = calendar["calendar_date"]
    assert days.min() < date(2021, 1, 4)
    assert days.max() > date(2021, 3, 31)
    early = calendar.filter(pl.col("is_early_close"))["calendar_date"].to_list()
    assert early == [date(2020, 12, 24)]  # Christmas Eve, inside the 14-day margin


def test_the_gold_exports_include_the_star_schema(star: Star) -> None:
    for name in MARTS:
        assert Path(star.rebuilt.exports[name]).is_file()
