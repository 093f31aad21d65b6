"""Futures contracts: codes, specifications, exchange sessions and last trading days.

A contract code is the root, a month code and a year: ``ESH24``, ``ESH4``, ``ESH2024`` (1-, 2- or
4-digit years). Short years are ambiguous, so they are resolved against the date the contract
traded: the year ending in those digits nearest to the trade's session year (a tie goes to the
later year). ES lists at most five years ahead, so the nearest decade is the right one; a stray
print after expiry (``ESZ9`` on 2020-01-02) resolves to 2019 and is then seen as post-expiry.
The canonical code written to silver always has a 2-digit year: ``ESH24``.

Sessions come from `exchange-calendars` (setting ``futures.calendar``, default ``CMES``: CME
Globex, sessions from 17:00 Chicago on the previous evening to 17:00 Chicago, early closes on
holidays such as Thanksgiving at 12:00). A session is named by the date it closes on. A trade
belongs to the session whose open <= ts < close; a trade between two sessions (after an early
close, over a weekend or holiday) belongs to the next session, the one it would settle in.

The last trading day of an ES contract is the third Friday of its month at 09:30 New York time;
when that Friday is not a session of the calendar (Good Friday 2008-03-21) it is the previous
session (2008-03-20, as CME did).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from marketlake.errors import ConfigError

MONTH_CODES: dict[str, int] = {code: month for month, code in enumerate("FGHJKMNQUVXZ", start=1)}
NS_PER_DAY = 86_400_000_000_000
NO_CUT = np.iinfo(np.int64).max
LISTING_YEARS = 5  # how far ahead a contract can trade before its expiry year


@dataclass(frozen=True)
class ContractSpec:
    """What one futures root trades as (add a row to :data:`SPECS` for another root)."""

    root: str
    months: str  # listed month codes, e.g. "HMUZ"
    multiplier: float  # currency per index point
    tick_size: float
    currency: str
    venue: str
    last_trade_week: int  # the n-th ...
    last_trade_weekday: int  # ... weekday (Monday 0) of the contract month
    last_trade_time: time  # local time trading stops on the last trading day
    last_trade_tz: str
    description: str


SPECS: dict[str, ContractSpec] = {
    "ES": ContractSpec(
        root="ES",
        months="HMUZ",
        multiplier=50.0,
        tick_size=0.25,
        currency="USD",
        venue="CME",
        last_trade_week=3,
        last_trade_weekday=4,
        last_trade_time=time(9, 30),
        last_trade_tz="America/New_York",
        description="E-mini S&P 500 futures",
    ),
}


def spec_for(root: str) -> ContractSpec:
    """The specification of a futures root.

    Raises:
        ConfigError: the root is not in :data:`SPECS`.
    """
    try:
        return SPECS[root.upper()]
    except KeyError:
        raise ConfigError(
            f"no contract specification for futures root {root!r}",
            hint=f"known roots: {', '.join(sorted(SPECS))} "
            "(another root needs a row in marketlake.bars.contracts.SPECS)",
            symbol=root,
        ) from None


@dataclass(frozen=True, order=True)
class Contract:
    """One futures contract: root, delivery year and month."""

    root: str
    year: int
    month: int

    @property
    def month_code(self) -> str:
        """The month letter (H, M, U, Z...)."""
        return "FGHJKMNQUVXZ"[self.month - 1]

    @property
    def code(self) -> str:
        """The canonical code, with a 2-digit year: ``ESH24``."""
        return f"{self.root}{self.month_code}{self.year % 100:02d}"


def _code_pattern(root: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(root)}(?P<month>[FGHJKMNQUVXZ])(?P<year>\d{{4}}|\d{{1,2}})$")


def split_code(symbol: str, spec: ContractSpec) -> tuple[int, str] | None:
    """The month and the year digits of a contract code of ``spec``'s root, or None.

    ``ESH24`` -> ``(3, "24")``; ``ES`` (the root itself), ``ESH`` or ``ESX24`` (not a listed
    month) -> None.
    """
    match = _code_pattern(spec.root).match(symbol.strip().upper())
    if match is None or match["month"] not in spec.months:
        return None
    return MONTH_CODES[match["month"]], match["year"]


def resolve_year(digits: str, traded_in: int) -> int:
    """The full year of 1-, 2- or 4-digit year ``digits``, for a contract trading in ``traded_in``.

    Short years take the year ending in those digits that is nearest to ``traded_in``; a tie
    (exactly half a decade or century away) goes to the later year.
    """
    if len(digits) == 4:
        return int(digits)
    modulus = int(10 ** len(digits))
    base = traded_in - traded_in % modulus + int(digits)
    candidates = (base - modulus, base, base + modulus)
    return min(candidates, key=lambda y: (abs(y - traded_in), -y))


def parse_contract(symbol: str, spec: ContractSpec, *, traded_in: int) -> Contract | None:
    """The contract a vendor code names, when it trades in year ``traded_in``; None if not one."""
    parts = split_code(symbol, spec)
    if parts is None:
        return None
    month, digits = parts
    return Contract(spec.root, resolve_year(digits, traded_in), month)


def nth_weekday(year: int, month: int, *, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` (Monday 0) of a month: third Friday is ``weekday=4, n=3``."""
    first = date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    day = first + timedelta(days=offset + 7 * (n - 1))
    if day.month != month:
        raise ValueError(f"{year}-{month:02d} has no {n}th weekday {weekday}")
    return day


@dataclass(frozen=True)
class Sessions:
    """The sessions of an exchange calendar: dates, opens and closes (UTC ns), sorted.

    Build it with :func:`load_sessions` (exchange-calendars) or directly (tests, other sources).
    """

    name: str
    dates: np.ndarray  # datetime64[D], the date each session closes on
    opens: np.ndarray  # int64 ns UTC
    closes: np.ndarray  # int64 ns UTC

    def __post_init__(self) -> None:
        if not (len(self.dates) == len(self.opens) == len(self.closes)) or len(self.dates) == 0:
            raise ValueError("sessions need as many dates, opens and closes, and at least one")
        if np.any(np.diff(self.closes) <= 0) or np.any(self.opens >= self.closes):
            raise ValueError("sessions must be sorted, each opening before it closes")

    @property
    def first(self) -> date:
        """The first session."""
        return _as_date(self.dates[0])

    @property
    def last(self) -> date:
        """The last session."""
        return _as_date(self.dates[-1])

    def index_on_or_before(self, day: date) -> int:
        """Position of the last session on or before ``day`` (-1 if none)."""
        return int(np.searchsorted(self.dates, np.datetime64(day, "D"), side="right")) - 1

    def is_session(self, day: date) -> bool:
        """Whether ``day`` is a session."""
        i = self.index_on_or_before(day)
        return i >= 0 and _as_date(self.dates[i]) == day

    def shift(self, day: date, sessions: int) -> date:
        """The session ``sessions`` sessions after ``day`` (before, when negative).

        ``day`` must be a session.

        Raises:
            ValueError: ``day`` is not a session, or the result is outside the calendar.
        """
        if not self.is_session(day):
            raise ValueError(f"{day} is not a {self.name} session")
        i = self.index_on_or_before(day) + sessions
        if not 0 <= i < len(self.dates):
            raise ValueError(f"{sessions} sessions from {day} is outside the {self.name} calendar")
        return _as_date(self.dates[i])

    def session_of(self, ts_ns: np.ndarray) -> np.ndarray:
        """Session dates of UTC-ns timestamps (NaT outside the calendar); see the module docs."""
        i = np.searchsorted(self.closes, ts_ns, side="right")
        inside = (i < len(self.closes)) & (ts_ns >= self.opens[0])
        out = np.full(len(ts_ns), np.datetime64("NaT"), dtype="datetime64[D]")
        out[inside] = self.dates[i[inside]]
        return out

    def day_table(self) -> pa.Table:
        """One row per UTC day of the calendar, to find sessions with an equality join in SQL.

        Columns ``day`` (UTC ns // one day), ``cut`` (ns of the session close falling in that day,
        or int64 max), ``before`` (session of a ts < cut), ``after`` (session of a ts >= cut).
        Exact because a session lasts longer than the gap between two: at most one close falls
        in a UTC day (checked).
        """
        close_days = self.closes // NS_PER_DAY
        if np.any(np.diff(close_days) == 0):
            raise ValueError(f"the {self.name} calendar closes twice on one UTC day")
        days = np.arange(self.opens[0] // NS_PER_DAY, close_days[-1] + 1, dtype=np.int64)
        n = len(self.closes)
        nxt = np.searchsorted(self.closes, days * NS_PER_DAY, side="right")  # first close > day
        days, nxt = days[nxt < n], nxt[nxt < n]
        has_cut = close_days[nxt] == days
        after_i = nxt + has_cut
        keep = after_i < n
        days, nxt, has_cut, after_i = days[keep], nxt[keep], has_cut[keep], after_i[keep]
        return pa.table(
            {
                "day": days,
                "cut": np.where(has_cut, self.closes[nxt], NO_CUT),
                "before": pa.array(self.dates[nxt], pa.date32()),
                "after": pa.array(self.dates[after_i], pa.date32()),
            }
        )

    def opens_of(self, days: np.ndarray) -> np.ndarray:
        """Open times (UTC ns) of sessions ``days`` (datetime64[D]); each must be a session."""
        i = np.searchsorted(self.dates, days.astype("datetime64[D]"))
        return np.asarray(self.opens[i])


def _as_date(value: np.datetime64) -> date:
    result = value.astype("datetime64[D]").item()
    assert isinstance(result, date)
    return result


def _utc_ns(column: Any) -> np.ndarray:
    return np.asarray(column.dt.tz_convert(None).to_numpy().astype("datetime64[ns]")).astype(
        np.int64
    )


@lru_cache(maxsize=8)
def load_sessions(name: str, start: date, end: date) -> Sessions:
    """The sessions of exchange-calendars calendar ``name`` from ``start`` to ``end``.

    Raises:
        ConfigError: the calendar name is unknown or cannot cover those dates.
    """
    import exchange_calendars as xcals

    try:
        with warnings.catch_warnings():
            # the library's own use of deprecated pandas calls: nothing a user can act on
            warnings.simplefilter("ignore", category=FutureWarning)
            warnings.simplefilter("ignore", category=DeprecationWarning)
            cal = xcals.get_calendar(name, start=start.isoformat(), end=end.isoformat())
            schedule = cal.schedule
    except Exception as exc:  # the library raises several types for names and bounds
        raise ConfigError(
            f"cannot build exchange calendar {name!r} from {start} to {end}: {exc}",
            hint="set futures.calendar to an exchange-calendars name such as CMES "
            "(python -c 'import exchange_calendars as x; print(x.get_calendar_names())')",
        ) from exc
    return Sessions(
        name=name,
        dates=schedule.index.values.astype("datetime64[D]"),
        opens=_utc_ns(schedule["open"]),
        closes=_utc_ns(schedule["close"]),
    )


def last_trade_date(contract: Contract, spec: ContractSpec, sessions: Sessions) -> date:
    """The last trading day: the rule's day (third Friday), or the session before it if shut.

    Raises:
        ValueError: the calendar does not cover the contract's month.
    """
    nominal = nth_weekday(
        contract.year,
        contract.month,
        weekday=spec.last_trade_weekday,
        n=spec.last_trade_week,
    )
    if not sessions.first <= nominal <= sessions.last:
        raise ValueError(f"the {sessions.name} calendar does not cover {contract.code} ({nominal})")
    i = sessions.index_on_or_before(nominal)
    if i < 0:
        raise ValueError(f"no {sessions.name} session on or before {nominal}")
    return _as_date(sessions.dates[i])


def expiry_time(contract: Contract, spec: ContractSpec, sessions: Sessions) -> datetime:
    """When trading stops (UTC): the spec's local time on :func:`last_trade_date`."""
    day = last_trade_date(contract, spec, sessions)
    local = datetime.combine(day, spec.last_trade_time, tzinfo=ZoneInfo(spec.last_trade_tz))
    return local.astimezone(ZoneInfo("UTC"))


def calendar_span(first_year: int, last_year: int) -> tuple[date, date]:
    """Calendar bounds covering trades from ``first_year`` to ``last_year`` and their expiries.

    Padded at the start (the first session of January opens in December) and at the end by the
    furthest a contract can be listed ahead of its trades (ES lists at most five years out).
    """
    return date(first_year - 1, 12, 1), date(last_year + LISTING_YEARS + 1, 1, 31)
