"""The trading session of a tick that carries none: its local date, with a rollover time.

``session_rollover`` 00:00 makes the session the calendar date in ``session_timezone``; a later
time (17:00 for CME Globex, in America/Chicago) makes ticks from that time on belong to the
next day's session, as exchanges name an evening session by the day it closes on. Consecutive
ticks almost always fall in the same session, so its bounds are cached and most ticks cost two
integer comparisons.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

NS = 1_000_000_000


class SessionClock:
    """Session date (as ``date.toordinal()``) of UTC nanosecond instants.

    Args:
        timezone: IANA zone of the sessions (``America/New_York``).
        rollover: ``HH:MM`` local time from which ticks belong to the next day's session.
    """

    def __init__(self, timezone: str, rollover: str = "00:00") -> None:
        self.zone = ZoneInfo(timezone)
        hours, minutes = (int(p) for p in rollover.split(":"))
        self.rollover = time(hours, minutes)
        self._shift = timedelta(days=1) if (hours, minutes) != (0, 0) else timedelta(0)
        self._lo = 0
        self._hi = 0
        self._day = 0

    def __call__(self, ts_ns: int) -> int:
        """The session of ``ts_ns``."""
        if self._lo <= ts_ns < self._hi:
            return self._day
        local = datetime.fromtimestamp(ts_ns // NS, tz=self.zone)
        rolled = local.time() >= self.rollover and self._shift
        day = local.date() + (self._shift if rolled else timedelta(0))
        self._lo, self._hi = self._start(day), self._start(day + timedelta(days=1))
        self._day = day.toordinal()
        return self._day

    def _start(self, session: date) -> int:
        """The UTC instant (ns) the session ``session`` starts at."""
        opening = datetime.combine(session - self._shift, self.rollover, tzinfo=self.zone)
        return int(opening.astimezone(UTC).timestamp()) * NS
