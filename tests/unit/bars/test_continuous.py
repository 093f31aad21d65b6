"""Continuous futures: where the series rolls, by how much it is adjusted, what lands in silver."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from marketlake.bars.continuous import Continuous, build_continuous
from marketlake.bars.continuous_io import make_continuous, read_rolls
from marketlake.bars.contract_bars import aggregate_daily
from marketlake.bars.contracts import SPECS, Sessions, load_sessions
from marketlake.bars.roll import RollRule, parse_roll
from marketlake.config import Settings
from marketlake.errors import ConfigError, LakeError
from marketlake.lake import Lake
from marketlake.lake.silver import read_dataset
from marketlake.schemas import TRADES

ES = SPECS["ES"]
SOURCE = "hdf5:tick/trades"


@pytest.fixture(scope="module")
def cmes() -> Sessions:
    return load_sessions("CMES", date(2013, 12, 1), date(2025, 1, 31))


def session_days(sessions: Sessions, start: date, end: date) -> list[date]:
    days = sessions.dates[
        (sessions.dates >= np.datetime64(start)) & (sessions.dates <= np.datetime64(end))
    ]
    return [d.item() for d in days]


def bars(
    sessions: Sessions,
    symbol: str,
    start: date,
    end: date,
    *,
    close: Callable[[int, date], float],
    volume: Callable[[date], float] = lambda d: 1000.0,
) -> pl.DataFrame:
    """Daily bars of one contract: close(i, day) on its i-th session; high/low around it."""
    rows = []
    for i, day in enumerate(session_days(sessions, start, end)):
        c = close(i, day)
        rows.append((symbol, SOURCE, day, c - 0.5, c + 1.0, c - 1.0, c, volume(day), 10))
    return pl.DataFrame(
        rows,
        schema={
            "symbol": pl.String,
            "source": pl.String,
            "session_date": pl.Date,
            "open": pl.Float64,
            "high": pl.Float64,
            "low": pl.Float64,
            "close": pl.Float64,
            "volume": pl.Float64,
            "trade_count": pl.Int64,
        },
        orient="row",
    )


def build(daily: pl.DataFrame, sessions: Sessions, roll: str, adjust: str = "none") -> Continuous:
    return build_continuous(
        daily,
        spec=ES,
        sessions=sessions,
        rule=parse_roll(roll, default_days=8),
        adjustment=adjust,  # type: ignore[arg-type]
    )


def frame(table: pa.Table) -> pl.DataFrame:
    out = pl.from_arrow(table)
    assert isinstance(out, pl.DataFrame)
    return out


def front_on(result: Continuous, day: date) -> str:
    series = frame(result.series)
    return str(series.filter(pl.col("session_date") == day)["contract"].item())


def two_contracts(sessions: Sessions, m_volume: Callable[[date], float]) -> pl.DataFrame:
    h = bars(sessions, "ESH24", date(2024, 1, 2), date(2024, 3, 15), close=lambda i, d: 5000.0 + i)
    m = bars(
        sessions,
        "ESM24",
        date(2024, 1, 2),
        date(2024, 6, 21),
        close=lambda i, d: 5050.0 + i,
        volume=m_volume,
    )
    return pl.concat([h, m])


def test_volume_roll_on_the_first_crossover_and_never_back(cmes: Sessions) -> None:
    volumes = {date(2024, 3, 8): 2000.0, date(2024, 3, 11): 500.0}  # 3/11: back below the front
    daily = two_contracts(
        cmes, lambda d: volumes.get(d, 2000.0 if d > date(2024, 3, 11) else 100.0)
    )
    result = build(daily, cmes, "volume")
    rolls = frame(result.rolls)
    assert rolls.select("roll_date", "from_contract", "to_contract", "trigger").rows() == [
        (date(2024, 3, 8), "ESH24", "ESM24", "crossover")
    ]
    assert front_on(result, date(2024, 3, 7)) == "ESH24"
    assert front_on(result, date(2024, 3, 8)) == "ESM24"
    assert front_on(result, date(2024, 3, 11)) == "ESM24"  # never rolls back


def test_a_crossover_before_the_previous_roll_does_not_count(cmes: Sessions) -> None:
    # ESU24 outtrades ESM24 in February, while ESH24 is still the front: that is no roll
    daily = pl.concat(
        [
            bars(cmes, "ESH24", date(2024, 1, 2), date(2024, 3, 15), close=lambda i, d: 100.0),
            bars(
                cmes,
                "ESM24",
                date(2024, 1, 2),
                date(2024, 6, 21),
                close=lambda i, d: 101.0,
                volume=lambda d: 2000.0 if date(2024, 3, 8) <= d < date(2024, 6, 10) else 100.0,
            ),
            bars(
                cmes,
                "ESU24",
                date(2024, 1, 2),
                date(2024, 9, 20),
                close=lambda i, d: 102.0,
                volume=lambda d: 500.0,
            ),
        ]
    )
    rolls = frame(build(daily, cmes, "volume").rolls)
    assert rolls.select("roll_date", "to_contract").rows() == [
        (date(2024, 3, 8), "ESM24"),
        (date(2024, 6, 10), "ESU24"),
    ]


def test_volume_without_crossover_rolls_on_the_front_s_last_day(cmes: Sessions) -> None:
    result = build(two_contracts(cmes, lambda d: 10.0), cmes, "volume")
    assert frame(result.rolls).select("roll_date", "trigger").rows() == [
        (date(2024, 3, 15), "last_day")
    ]
    assert front_on(result, date(2024, 3, 14)) == "ESH24"


@pytest.mark.parametrize("roll", ["volume", "days:5"])
def test_data_ending_before_the_roll_is_due_keeps_the_front(roll: str, cmes: Sessions) -> None:
    # the file stops on 2024-02-29, two weeks before ESH24's last day: no roll yet
    daily = two_contracts(cmes, lambda d: 10.0).filter(pl.col("session_date") <= date(2024, 2, 29))
    result = build(daily, cmes, roll)
    assert result.rolls.num_rows == 0
    assert frame(result.series)["contract"].unique().to_list() == ["ESH24"]


@pytest.mark.parametrize(
    ("roll", "roll_date"),
    [("days:5", date(2024, 3, 8)), ("days:0", date(2024, 3, 15)), ("days", date(2024, 3, 5))],
)
def test_days_rule_rolls_n_sessions_before_the_last_trading_day(
    roll: str, roll_date: date, cmes: Sessions
) -> None:
    # ESH24 last trades on Friday 2024-03-15; 5 sessions before is Friday 2024-03-08
    result = build(two_contracts(cmes, lambda d: 10.0), cmes, roll)
    rolls = frame(result.rolls)
    assert rolls["roll_date"].to_list() == [roll_date]
    assert rolls["trigger"].to_list() == ["days"]
    assert rolls["rule"].to_list() == [str(parse_roll(roll, default_days=8))]


def test_a_contract_is_never_used_after_its_last_trading_day(cmes: Sessions) -> None:
    daily = two_contracts(cmes, lambda d: 10.0)
    stray = bars(
        cmes,
        "ESH24",
        date(2024, 3, 18),
        date(2024, 3, 19),
        close=lambda i, d: 1.0,
        volume=lambda d: 1e9,
    )
    result = build(pl.concat([daily, stray]), cmes, "volume")
    series = frame(result.series)
    assert series.filter(pl.col("session_date") >= date(2024, 3, 15))[
        "contract"
    ].unique().to_list() == ["ESM24"]
    assert result.excluded_trades == {"after_last_trade": 20}


def three_contracts(sessions: Sessions) -> pl.DataFrame:
    # H trades at 100 + i, M at 110 + i (gap +10 at the roll), U at 125 + i (gap +15)
    return pl.concat(
        [
            bars(
                sessions, "ESH24", date(2024, 1, 2), date(2024, 3, 15), close=lambda i, d: 100.0 + i
            ),
            bars(
                sessions, "ESM24", date(2024, 2, 1), date(2024, 6, 21), close=lambda i, d: 90.0 + i
            ),
            bars(
                sessions, "ESU24", date(2024, 5, 1), date(2024, 9, 20), close=lambda i, d: 45.0 + i
            ),
        ]
    )


def raw_close(daily: pl.DataFrame, contract: str, day: date) -> float:
    row = daily.filter((pl.col("symbol") == contract) & (pl.col("session_date") == day))
    return float(row["close"].item())


@pytest.mark.parametrize("adjust", ["difference", "ratio"])
def test_adjustment_identity_holds_at_every_roll(adjust: str, cmes: Sessions) -> None:
    daily = three_contracts(cmes)
    result = build(daily, cmes, "days:3", adjust)
    series = frame(result.series)
    rolls = frame(result.rolls)
    assert rolls.height == 2
    dates = series["session_date"].to_list()
    for roll in rolls.iter_rows(named=True):
        i = dates.index(roll["roll_date"])
        before, on = series.row(i - 1, named=True), series.row(i, named=True)
        old = roll["from_contract"]
        old_prev = raw_close(daily, old, before["session_date"])
        old_on = raw_close(daily, old, on["session_date"])
        assert before["contract"] == old
        assert on["contract"] == roll["to_contract"]
        assert roll["from_close"] == old_on
        if adjust == "difference":
            # the series' move on the roll day is the old contract's move: the gap is gone
            assert on["close"] - before["close"] == pytest.approx(old_on - old_prev)
            # old close + the adjustment of the days before = new adjusted close
            offset_before = before["close"] - before["raw_close"]
            assert old_on + offset_before == pytest.approx(on["close"])
        else:
            assert on["close"] / before["close"] == pytest.approx(old_on / old_prev)
            factor_before = before["close"] / before["raw_close"]
            assert old_on * factor_before == pytest.approx(on["close"])
    # the newest contract is never adjusted
    newest = series.filter(pl.col("contract") == "ESU24")
    assert (newest["close"] == newest["raw_close"]).all()


def test_difference_adds_the_known_gaps_to_earlier_prices(cmes: Sessions) -> None:
    daily = three_contracts(cmes)
    result = build(daily, cmes, "days:3", "difference")
    gaps = frame(result.rolls)["gap"].to_list()
    # on each roll day the new contract trades at a known premium over the old one
    h_on_roll = raw_close(daily, "ESH24", date(2024, 3, 12))
    m_on_roll = raw_close(daily, "ESM24", date(2024, 3, 12))
    assert gaps[0] == m_on_roll - h_on_roll
    first = frame(result.series).row(0, named=True)
    assert first["contract"] == "ESH24"
    assert first["close"] == pytest.approx(first["raw_close"] + sum(gaps))
    assert first["high"] - first["low"] == pytest.approx(2.0)  # a shift keeps the bar's range


def test_none_splices_raw_prices(cmes: Sessions) -> None:
    result = build(three_contracts(cmes), cmes, "days:3")
    series = frame(result.series)
    assert (series["close"] == series["raw_close"]).all()
    assert series["adjustment"].unique().to_list() == ["none"]
    assert series["session_date"].is_unique().all()
    assert series["contract"].unique(maintain_order=True).to_list() == ["ESH24", "ESM24", "ESU24"]


def test_contracts_that_never_trade_together_roll_on_the_new_one_s_first_day(
    cmes: Sessions,
) -> None:
    # a vendor's front-only file: ESH24 until 3/8, then ESM24 from 3/11
    daily = pl.concat(
        [
            bars(cmes, "ESH24", date(2024, 2, 1), date(2024, 3, 8), close=lambda i, d: 100.0),
            bars(cmes, "ESM24", date(2024, 3, 11), date(2024, 4, 30), close=lambda i, d: 104.0),
        ]
    )
    result = build(daily, cmes, "volume", "difference")
    roll = frame(result.rolls).row(0, named=True)
    assert (roll["roll_date"], roll["from_close_date"], roll["trigger"]) == (
        date(2024, 3, 11),
        date(2024, 3, 8),
        "no_overlap",
    )
    assert roll["gap"] == 4.0


def test_trades_without_contract_column_are_already_continuous(cmes: Sessions) -> None:
    daily = bars(cmes, "ES", date(2024, 1, 2), date(2024, 6, 28), close=lambda i, d: 5000.0 + i)
    result = build(daily, cmes, "volume", "difference")
    series = frame(result.series)
    assert not result.has_contracts
    assert result.rolls.num_rows == 0
    assert series["contract"].null_count() == series.height == daily.height
    assert series["roll_rule"].unique().to_list() == ["none"]
    assert series["adjustment"].unique().to_list() == ["none"]
    assert (series["close"] == daily["close"]).all()


def test_one_digit_codes_spanning_two_decades_are_two_contracts(cmes: Sessions) -> None:
    daily = pl.concat(
        [
            bars(cmes, "ESH4", date(2014, 1, 2), date(2014, 3, 21), close=lambda i, d: 1800.0),
            bars(cmes, "ESM4", date(2014, 3, 3), date(2014, 6, 20), close=lambda i, d: 1810.0),
            bars(cmes, "ESH4", date(2024, 1, 2), date(2024, 3, 15), close=lambda i, d: 5000.0),
        ]
    )
    result = build(daily, cmes, "volume")
    instruments = frame(result.instruments)
    assert instruments["symbol"].to_list() == ["ESH14", "ESM14", "ESH24"]
    assert instruments["expiry"].dt.date().to_list() == [
        date(2014, 3, 21),
        date(2014, 6, 20),
        date(2024, 3, 15),
    ]
    assert set(instruments["multiplier"]) == {50.0}
    assert set(instruments["tick_size"]) == {0.25}


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("volume", RollRule("volume")),
        ("days:3", RollRule("days", 3)),
        ("days", RollRule("days", 8)),
    ],
)
def test_roll_rules(text: str, rule: RollRule) -> None:
    assert parse_roll(text, default_days=8) == rule


@pytest.mark.parametrize("text", ["weekly", "days:", "volume:3", "days:x"])
def test_unknown_roll_rule_says_what_to_use(text: str) -> None:
    with pytest.raises(ConfigError, match="--roll volume"):
        parse_roll(text, default_days=8)


# --- silver trades in, silver datasets out -------------------------------------------------


def write_trades(
    lake: Lake,
    sessions: Sessions,
    symbol: str,
    start: date,
    end: date,
    *,
    price: float,
    size: float = 10.0,
    source: str = SOURCE,
) -> None:
    """Three trades per session: 30 minutes after the open (the evening before), mid-session, and
    an hour before the close; prices price + (0, 2, 1) + the session's index."""
    days = np.array(session_days(sessions, start, end), dtype="datetime64[D]")
    i = np.searchsorted(sessions.dates, days)
    opens, closes = sessions.opens[i], sessions.closes[i]
    hour = 3_600_000_000_000
    ts = np.concatenate([opens + hour // 2, opens + 10 * hour, closes - hour])
    k = np.arange(len(days), dtype=np.float64)
    prices = np.concatenate([price + k, price + 2 + k, price + 1 + k])
    order = np.argsort(ts)
    n = len(ts)
    table = pa.table(
        {
            "ts_event": pa.array(ts[order], pa.timestamp("ns", tz="UTC")),
            "symbol": [symbol] * n,
            "price": prices[order],
            "size": [size] * n,
            "source": [source] * n,
            "ingest_id": ["test"] * n,
        }
    )
    for field in TRADES:
        if field.name not in table.column_names:
            table = table.append_column(field, pa.nulls(n, field.type))
    table = table.select(TRADES.names).cast(TRADES)
    years = pl.Series(ts[order]).cast(pl.Datetime("ns")).dt.year().to_numpy()
    for year in np.unique(years):
        part = table.filter(pa.array(years == year))
        name = source.replace(":", "_").replace("/", "_")
        lake.write_parquet(f"silver/trades/symbol={symbol}/year={year}/{name}.parquet", part)


def silver_bytes(lake: Lake) -> dict[str, bytes]:
    keys = [
        k
        for d in ("continuous", "continuous_rolls", "instruments")
        for k in lake.glob(f"silver/{d}/*/*/*.parquet")
    ]
    return {k: lake.read_bytes(k) for k in keys}


@pytest.fixture
def es_trades(lake: Lake, cmes: Sessions) -> Lake:
    write_trades(lake, cmes, "ESH24", date(2024, 1, 2), date(2024, 3, 15), price=5000.0)
    write_trades(lake, cmes, "ESM24", date(2024, 2, 1), date(2024, 6, 21), price=5040.0, size=1.0)
    return lake


def test_trades_become_a_continuous_series_in_silver(
    settings: Settings, es_trades: Lake, cmes: Sessions
) -> None:
    report = make_continuous(settings, "ES", roll="days:2", adjust="difference")
    assert (report.source, report.rule, report.adjustment, report.calendar) == (
        SOURCE,
        "days:2",
        "difference",
        "CMES",
    )
    series = frame(read_dataset(es_trades, "continuous"))
    # Monday's bar opens with Sunday evening's trade (17:30 Chicago): no Sunday session exists
    assert series["session_date"].dt.weekday().max() <= 5
    monday = series.filter(pl.col("session_date") == date(2024, 1, 8)).row(0, named=True)
    assert monday["ts_event"].isoformat().startswith("2024-01-07T23:00")  # the session's open
    first_session = session_days(cmes, date(2024, 1, 2), date(2024, 1, 8)).index(date(2024, 1, 8))
    assert monday["raw_close"] == 5000.0 + first_session + 1  # the last trade of the session
    assert monday["trade_count"] == 3
    rolls = frame(read_rolls(settings, "ES", rule="days:2"))
    assert rolls.select("roll_date", "from_contract", "to_contract").rows() == [
        (date(2024, 3, 13), "ESH24", "ESM24")
    ]
    assert rolls["gap"].item() == rolls["to_close"].item() - rolls["from_close"].item()
    instruments = frame(read_dataset(es_trades, "instruments"))
    assert instruments.select("symbol", "root", "asset_class", "venue", "currency").rows() == [
        ("ESH24", "ES", "future", "CME", "USD"),
        ("ESM24", "ES", "future", "CME", "USD"),
    ]
    assert report.trades_in == 3 * (
        len(session_days(cmes, date(2024, 1, 2), date(2024, 3, 15)))
        + len(session_days(cmes, date(2024, 2, 1), date(2024, 6, 21)))
    )


@pytest.mark.parametrize(("sequence", "close"), [([1, 3, 2], 5003.0), (None, 5002.0)])
def test_trades_at_the_same_instant_close_in_sequence_or_file_order(
    settings: Settings, lake: Lake, cmes: Sessions, sequence: list[int] | None, close: float
) -> None:
    # three trades in the same nanosecond at the end of a session: the last in order closes it
    at = int(cmes.closes[np.searchsorted(cmes.dates, np.datetime64("2024-03-05"))]) - 1
    n = 3
    table = pa.table(
        {
            "ts_event": pa.array([at] * n, pa.timestamp("ns", tz="UTC")),
            "symbol": ["ESH24"] * n,
            "price": [5001.0, 5003.0, 5002.0],
            "size": [1.0] * n,
            "sequence": pa.array(sequence or [None] * n, pa.int64()),
            "source": [SOURCE] * n,
            "ingest_id": ["t"] * n,
        }
    )
    for field in TRADES:
        if field.name not in table.column_names:
            table = table.append_column(field, pa.nulls(n, field.type))
    lake.write_parquet("silver/trades/symbol=ESH24/year=2024/t.parquet", table.select(TRADES.names))
    daily = aggregate_daily(
        lake, ["silver/trades/symbol=ESH24/year=2024/t.parquet"], cmes, settings
    )
    assert daily.select("session_date", "open", "close", "high", "low").rows() == [
        (date(2024, 3, 5), 5001.0, close, 5003.0, 5001.0)
    ]


def test_rerunning_changes_nothing_and_a_cold_rebuild_gives_the_same_bytes(
    settings: Settings, es_trades: Lake
) -> None:
    make_continuous(settings, "ES", roll="volume", adjust="ratio")
    before = silver_bytes(es_trades)
    make_continuous(settings, "ES", roll="volume", adjust="ratio")
    assert silver_bytes(es_trades) == before
    make_continuous(settings, "ES", roll="volume", adjust="ratio", recompute=True)
    assert silver_bytes(es_trades) == before
    # another variant sits beside it, named by its own id
    make_continuous(settings, "ES", roll="days:2", adjust="none")
    series = frame(read_dataset(es_trades, "continuous"))
    assert sorted(series["adjustment"].unique()) == ["none", "ratio"]


def test_partitions_a_rebuild_no_longer_fills_are_removed(
    settings: Settings, lake: Lake, cmes: Sessions
) -> None:
    write_trades(lake, cmes, "ESZ23", date(2023, 11, 1), date(2023, 12, 15), price=4500.0)
    write_trades(lake, cmes, "ESH24", date(2023, 11, 1), date(2024, 2, 28), price=4550.0)
    make_continuous(settings, "ES")
    assert {k.split("/")[3] for k in lake.glob("silver/continuous/*/*/*.parquet")} == {
        "year=2023",
        "year=2024",
    }
    for key in lake.glob("silver/trades/*/year=2023/*.parquet"):
        lake.remove(key)
    make_continuous(settings, "ES")
    assert {k.split("/")[3] for k in lake.glob("silver/continuous/*/*/*.parquet")} == {"year=2024"}


def test_two_sources_need_a_choice(settings: Settings, es_trades: Lake, cmes: Sessions) -> None:
    write_trades(
        es_trades, cmes, "ESH24", date(2024, 1, 2), date(2024, 3, 15), price=5000.0, source="other"
    )
    with pytest.raises(ConfigError, match="2 sources") as info:
        make_continuous(settings, "ES")
    assert "--source" in str(info.value)
    report = make_continuous(settings, "ES", source="other")
    assert report.contracts == ["ESH24"]
    with pytest.raises(ConfigError, match="sources found"):
        make_continuous(settings, "ES", source="nope")


def test_two_namings_of_one_contract_are_refused(cmes: Sessions) -> None:
    daily = pl.concat(
        [
            bars(cmes, "ESH24", date(2024, 1, 2), date(2024, 1, 31), close=lambda i, d: 1.0),
            bars(cmes, "ESH4", date(2024, 1, 2), date(2024, 1, 31), close=lambda i, d: 1.0),
        ]
    )
    with pytest.raises(LakeError, match="ESH24 and ESH4 both name contract ESH24"):
        build(daily, cmes, "volume")
