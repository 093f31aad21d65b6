"""The session of a tick without one: local date, or the next day's from the rollover time."""

from __future__ import annotations

from datetime import UTC, date, datetime

from marketlake.stream.sessions import SessionClock


def ns(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone(UTC).timestamp()) * 10**9


def test_plain_local_date_in_new_york() -> None:
    clock = SessionClock("America/New_York")
    # 02:00 UTC on Jan 3 is still Jan 2 in New York.
    assert clock(ns("2024-01-03T02:00:00+00:00")) == date(2024, 1, 2).toordinal()
    assert clock(ns("2024-01-03T05:00:00+00:00")) == date(2024, 1, 3).toordinal()


def test_cme_evening_ticks_belong_to_the_next_days_session() -> None:
    clock = SessionClock("America/Chicago", "17:00")
    assert clock(ns("2024-03-07T16:59:00-06:00")) == date(2024, 3, 7).toordinal()
    assert clock(ns("2024-03-07T17:00:00-06:00")) == date(2024, 3, 8).toordinal()
    assert clock(ns("2024-03-08T09:30:00-06:00")) == date(2024, 3, 8).toordinal()
    # Across the switch to daylight time (Sunday March 10, 2024).
    assert clock(ns("2024-03-10T17:30:00-05:00")) == date(2024, 3, 11).toordinal()
    assert clock(ns("2024-03-11T16:00:00-05:00")) == date(2024, 3, 11).toordinal()


def test_cached_bounds_give_the_same_answer_as_a_fresh_clock() -> None:
    cached = SessionClock("America/Chicago", "17:00")
    start = ns("2024-03-01T00:00:00+00:00")
    for step in range(0, 40 * 86_400, 3_599):  # about hourly, over DST, in order
        moment = start + step * 10**9
        assert cached(moment) == SessionClock("America/Chicago", "17:00")(moment)
