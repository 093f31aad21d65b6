"""The trading calendar dbt's ``dim_date`` reads, generated with exchange-calendars.

One row per calendar day: whether the exchange trades, whether it closes early, the session's
open and close (UTC), and the previous and next trading day (strictly before / after the day,
so they are defined on holidays and weekends too). SQL engines have no holiday calendar, so the
calendar is computed here and handed to the warehouse as the table ``silver.trading_calendar``.
"""

from __future__ import annotations

import warnings
from datetime import date, timedelta

import pyarrow as pa

from marketlake.errors import ConfigError

# Days looked at beyond the table's range, so the first and last days still get their previous
# and next trading day (the longest NYSE closure since 1900 was under two weeks).
LOOKAROUND_DAYS = 30

TRADING_CALENDAR = pa.schema(
    [
        pa.field("calendar_date", pa.date32(), nullable=False),
        pa.field("calendar", pa.string(), nullable=False),  # exchange-calendars code, e.g. XNYS
        pa.field("is_trading_day", pa.bool_(), nullable=False),
        pa.field("is_early_close", pa.bool_(), nullable=False),
        pa.field("session_open", pa.timestamp("us", tz="UTC")),  # null on non-trading days
        pa.field("session_close", pa.timestamp("us", tz="UTC")),
        pa.field("previous_trading_day", pa.date32()),
        pa.field("next_trading_day", pa.date32()),
    ]
)


# Calendar days around the bars' first and last session, so a date just outside the data (a
# reference as-of, the next session of the last bar) is still in the warehouse's calendar.
CALENDAR_MARGIN = timedelta(days=14)


def calendar_around(code: str, first: object, last: object) -> pa.Table:
    """The calendar over the bars' session dates ``first..last`` plus the margin.

    ``first``/``last`` are what the engine's ``min/max(session_date)`` returned: None (no bars)
    gives the empty calendar.
    """
    if not isinstance(first, date) or not isinstance(last, date):
        return empty_calendar()
    return build_calendar(code, first - CALENDAR_MARGIN, last + CALENDAR_MARGIN)


def empty_calendar() -> pa.Table:
    """The calendar of an empty lake: no rows, typed columns."""
    return TRADING_CALENDAR.empty_table()


def build_calendar(code: str, first: date, last: date) -> pa.Table:
    """Every day from ``first`` to ``last`` (inclusive) in the exchange's trading calendar.

    Args:
        code: An exchange-calendars code (``XNYS``, ``XLON``, ``CMES``...).
        first: First calendar day of the table.
        last: Last calendar day of the table (``first`` or later).

    Returns:
        One row per day, schema :data:`TRADING_CALENDAR`.

    Raises:
        ConfigError: ``code`` is not an exchange-calendars calendar.
    """
    import exchange_calendars as xcals
    import numpy as np

    start, end = first - timedelta(days=LOOKAROUND_DAYS), last + timedelta(days=LOOKAROUND_DAYS)
    try:
        with warnings.catch_warnings():
            # the library's own use of deprecated pandas calls: nothing a user can act on
            warnings.simplefilter("ignore", category=FutureWarning)
            warnings.simplefilter("ignore", category=DeprecationWarning)
            calendar = xcals.get_calendar(code, start=start.isoformat(), end=end.isoformat())
            schedule = calendar.schedule
            early = {d.date() for d in calendar.early_closes}
    except xcals.errors.InvalidCalendarName as exc:
        raise ConfigError(
            f"unknown trading calendar {code!r}",
            hint="set warehouse.gold.calendar to an exchange-calendars code such as XNYS or XLON",
        ) from exc
    except xcals.errors.CalendarError as exc:
        raise ConfigError(
            f"trading calendar {code} does not cover {first} .. {last}: {exc}",
            hint="choose a calendar that covers the data's dates (warehouse.gold.calendar)",
        ) from exc
    sessions = np.array([d.date() for d in schedule.index], dtype="datetime64[D]")
    days = np.arange(
        np.datetime64(first, "D"),
        np.datetime64(last, "D") + np.timedelta64(1, "D"),
        dtype="datetime64[D]",
    )
    # Position of each day among the sessions: sessions[at] is the first session >= the day.
    at = np.searchsorted(sessions, days, side="left")
    trading = (at < len(sessions)) & (sessions[np.minimum(at, len(sessions) - 1)] == days)
    previous = np.where(at > 0, at - 1, -1)
    following = np.where(trading, at + 1, at)
    # UTC instants without their zone: numpy has no aware datetimes.
    opens = schedule["open"].dt.tz_convert(None).to_numpy(dtype="datetime64[us]")
    closes = schedule["close"].dt.tz_convert(None).to_numpy(dtype="datetime64[us]")
    n = len(sessions)

    def pick(values: np.ndarray, index: np.ndarray, valid: np.ndarray) -> list[object]:
        found = values.astype(object)  # Python dates and datetimes, which pyarrow mixes with None
        return [
            found[i] if ok else None for i, ok in zip(index.tolist(), valid.tolist(), strict=True)
        ]

    day_list = days.astype(object).tolist()
    return pa.Table.from_arrays(
        [
            pa.array(day_list, pa.date32()),
            pa.array([code] * len(day_list), pa.string()),
            pa.array(trading.tolist(), pa.bool_()),
            pa.array([bool(ok) and d in early for d, ok in zip(day_list, trading, strict=True)]),
            pa.array(pick(opens, at, trading), pa.timestamp("us")).cast(
                TRADING_CALENDAR.field("session_open").type
            ),
            pa.array(pick(closes, at, trading), pa.timestamp("us")).cast(
                TRADING_CALENDAR.field("session_close").type
            ),
            pa.array(pick(sessions, previous, previous >= 0), pa.date32()),
            pa.array(pick(sessions, following, following < n), pa.date32()),
        ],
        schema=TRADING_CALENDAR,
    )
