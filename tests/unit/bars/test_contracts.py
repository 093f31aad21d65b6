"""Contract codes, last trading days and exchange sessions, as a futures user knows them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from marketlake.bars.contracts import (
    SPECS,
    Contract,
    Sessions,
    expiry_time,
    last_trade_date,
    load_sessions,
    parse_contract,
    resolve_year,
    spec_for,
)
from marketlake.errors import ConfigError

ES = SPECS["ES"]


@pytest.fixture(scope="module")
def cmes() -> Sessions:
    return load_sessions("CMES", date(2007, 12, 1), date(2025, 1, 31))


def ns(text: str) -> int:
    return int(np.datetime64(text, "ns").astype(np.int64))


@pytest.mark.parametrize(
    ("code", "traded_in", "canonical"),
    [
        ("ESH24", 2024, "ESH24"),
        ("ESM4", 2024, "ESM24"),
        ("ESZ2019", 2019, "ESZ19"),
        ("ESH10", 2009, "ESH10"),
        ("esu4", 2023, "ESU24"),  # vendors differ in case
    ],
)
def test_contract_codes_with_1_2_and_4_digit_years(
    code: str, traded_in: int, canonical: str
) -> None:
    contract = parse_contract(code, ES, traded_in=traded_in)
    assert contract is not None
    assert contract.code == canonical


@pytest.mark.parametrize("code", ["ES", "ESH", "ESF24", "ESH123", "NQH24", "ESTX50"])
def test_codes_that_are_not_es_contracts(code: str) -> None:
    # the root itself, no year, a month ES does not list, a 3-digit year, another root
    assert parse_contract(code, ES, traded_in=2024) is None


@pytest.mark.parametrize(
    ("digits", "traded_in", "year"),
    [
        ("4", 2023, 2024),  # next year's March contract
        ("4", 2014, 2014),
        ("9", 2020, 2019),  # a late print of the 2019 contract, not one expiring in 2029
        ("0", 2009, 2010),
        ("10", 2009, 2010),
        ("99", 2000, 1999),
        ("2024", 1999, 2024),
    ],
)
def test_short_years_resolve_to_the_nearest_decade(digits: str, traded_in: int, year: int) -> None:
    assert resolve_year(digits, traded_in) == year


@pytest.mark.parametrize(
    ("code", "last_day"),
    [
        ("ESH24", date(2024, 3, 15)),
        ("ESM24", date(2024, 6, 21)),
        ("ESU24", date(2024, 9, 20)),
        ("ESZ24", date(2024, 12, 20)),
        ("ESH16", date(2016, 3, 18)),  # Good Friday 2016 is the fourth Friday: no effect
    ],
)
def test_last_trading_day_is_the_third_friday(code: str, last_day: date, cmes: Sessions) -> None:
    contract = parse_contract(code, ES, traded_in=last_day.year)
    assert contract is not None
    assert last_trade_date(contract, ES, cmes) == last_day


def test_third_friday_on_good_friday_moves_to_the_session_before(cmes: Sessions) -> None:
    # 2008-03-21 was Good Friday and the third Friday of March: CME is shut (CMES calendar),
    # ESH08 stopped trading on Thursday 2008-03-20
    assert not cmes.is_session(date(2008, 3, 21))
    assert last_trade_date(Contract("ES", 2008, 3), ES, cmes) == date(2008, 3, 20)


def test_last_day_with_a_synthetic_calendar_skips_every_closed_day() -> None:
    # a made-up calendar shut on Thursday and Friday 2024-03-14/15: the last day is Wednesday
    days = [date(2024, 3, d) for d in (11, 12, 13, 18)]
    dates = np.array(days, dtype="datetime64[D]")
    opens = dates.astype("datetime64[ns]").astype(np.int64) - 7 * 3_600_000_000_000
    sessions = Sessions("synthetic", dates, opens, opens + 23 * 3_600_000_000_000)
    assert last_trade_date(Contract("ES", 2024, 3), ES, sessions) == date(2024, 3, 13)


def test_expiry_is_0930_new_york_time(cmes: Sessions) -> None:
    assert expiry_time(Contract("ES", 2024, 3), ES, cmes) == datetime(
        2024, 3, 15, 13, 30, tzinfo=UTC
    )
    # winter time: one hour later in UTC
    assert expiry_time(Contract("ES", 2024, 12), ES, cmes) == datetime(
        2024, 12, 20, 14, 30, tzinfo=UTC
    )


def test_es_spec() -> None:
    assert (ES.multiplier, ES.tick_size, ES.months) == (50.0, 0.25, "HMUZ")
    assert spec_for("es") is ES
    with pytest.raises(ConfigError, match="no contract specification") as info:
        spec_for("NQ")
    assert "SPECS" in str(info.value)


@pytest.mark.parametrize(
    ("ts", "session"),
    [
        ("2024-03-10T22:00", "2024-03-11"),  # Sunday 17:00 Chicago: Monday's session opens
        ("2024-03-10T21:59:59", "2024-03-11"),  # before the open, after the weekend: next one
        ("2024-03-11T21:59:59.999999999", "2024-03-11"),  # last instant of Monday's session
        ("2024-03-11T22:00", "2024-03-12"),  # Monday's close is Tuesday's open
        ("2024-11-29T18:30", "2024-12-02"),  # after the early close of the day after Thanksgiving
        ("2024-03-29T15:00", "2024-04-01"),  # Good Friday (shut): the next session
    ],
)
def test_trades_belong_to_the_session_open_le_ts_lt_close(
    ts: str, session: str, cmes: Sessions
) -> None:
    got = cmes.session_of(np.array([ns(ts)], dtype=np.int64))
    assert str(got[0]) == session


def test_day_table_agrees_with_session_of_everywhere(cmes: Sessions) -> None:
    # the SQL join uses the per-UTC-day table: it must give the same session for any instant
    rng = np.random.default_rng(7)
    ts = rng.integers(ns("2008-01-01"), ns("2024-12-31"), 200_000)
    ts = np.concatenate([ts, cmes.closes[1000:1100], cmes.closes[1000:1100] - 1, cmes.opens[:50]])
    table = cmes.day_table()
    day = table["day"].to_numpy()
    cut = table["cut"].to_numpy()
    before = table["before"].to_numpy().astype("datetime64[D]")
    after = table["after"].to_numpy().astype("datetime64[D]")
    i = np.searchsorted(day, ts // 86_400_000_000_000)
    assert np.all(day[i] == ts // 86_400_000_000_000)
    via_table = np.where(ts < cut[i], before[i], after[i])
    assert np.array_equal(via_table, cmes.session_of(ts))


def test_unknown_calendar_says_what_to_set() -> None:
    with pytest.raises(ConfigError, match=r"futures\.calendar"):
        load_sessions("NOPE", date(2024, 1, 1), date(2024, 12, 31))
