"""Roll schedule of a continuous futures series: when it moves from each contract to the next.

Pure: takes the usable daily bars of the contracts (see :mod:`marketlake.bars.continuous` for
the rules, which ``marketlake continuous --help`` also states) and returns the roll table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal, cast

import polars as pl

from marketlake.bars.contracts import Sessions
from marketlake.errors import ConfigError


@dataclass(frozen=True)
class RollRule:
    """When the series moves to the next contract: ``volume`` crossover or ``days:N``."""

    kind: Literal["volume", "days"]
    days: int = 0

    def __str__(self) -> str:
        return "volume" if self.kind == "volume" else f"days:{self.days}"


def parse_roll(text: str, *, default_days: int) -> RollRule:
    """Parse ``volume``, ``days`` (``default_days``) or ``days:N``.

    Raises:
        ConfigError: the text is none of those.
    """
    match = re.fullmatch(r"\s*(volume|days)(?::(\d+))?\s*", text.lower())
    if match is None or (match[1] == "volume" and match[2] is not None):
        raise ConfigError(
            f"unknown roll rule {text!r}",
            hint="use --roll volume (volume crossover) or --roll days:N (N sessions before expiry)",
        )
    if match[1] == "volume":
        return RollRule("volume")
    return RollRule("days", int(match[2]) if match[2] is not None else default_days)


ROLL_FRAME = {
    "roll_date": pl.Date,
    "from_contract": pl.String,
    "to_contract": pl.String,
    "from_close": pl.Float64,
    "from_close_date": pl.Date,
    "to_close": pl.Float64,
    "gap": pl.Float64,
    "ratio": pl.Float64,
    "from_volume": pl.Float64,
    "to_volume": pl.Float64,
    "trigger": pl.String,
}

Book = dict[date, tuple[float, float]]  # session -> (close, volume) of one contract


def _target_session(sessions: Sessions, last_day: date, days: int) -> date:
    try:
        return sessions.shift(last_day, -days)
    except ValueError:  # the calendar starts less than N sessions before: roll at its start
        return sessions.first


def _find_roll(
    old: Book, new: Book, *, last_day: date, since: date | None, rule: RollRule, sessions: Sessions
) -> dict[str, object] | None:
    """The roll from ``old`` (front since ``since``) to ``new``; None when there is none: ``new``
    does not trade after the front's last bar, or the data end before the roll is due."""
    common = sorted(d for d in old if d in new and (since is None or d > since) and d <= last_day)
    pick: date | None = None
    trigger = ""
    if rule.kind == "volume":
        pick = next((d for d in common if new[d][1] > old[d][1]), None)
        trigger = "crossover"
    else:
        target = _target_session(sessions, last_day, rule.days)
        pick = next((d for d in common if d >= target), None)
        trigger = "days"
    if pick is None and common:
        if not any(d > common[-1] for d in new):
            return None  # the data end before the roll is due: the front stays the front
        pick, trigger = common[-1], "last_day" if rule.kind == "volume" else "last_overlap"
    from_date = pick
    if pick is None:
        # never on one session (a vendor's front-only file): the new contract's first session
        # after the old one's last, gap measured from the old contract's last close
        from_date = max(d for d in old if since is None or d >= since)
        pick = min((d for d in new if d > from_date), default=None)
        trigger = "no_overlap"
        if pick is None:
            return None
    assert from_date is not None
    from_close, from_volume = old[from_date]
    to_close, to_volume = new[pick]
    return {
        "roll_date": pick,
        "from_close": from_close,
        "from_close_date": from_date,
        "to_close": to_close,
        "gap": to_close - from_close,
        "ratio": to_close / from_close if from_close > 0 else float("nan"),
        "from_volume": from_volume,
        "to_volume": to_volume,
        "trigger": trigger,
    }


def chain_order(bars: pl.DataFrame) -> list[str]:
    """The contracts that have bars, in order of last trading day (then code)."""
    order = (
        bars.group_by("contract").agg(pl.col("last_trade").first()).sort("last_trade", "contract")
    )
    return list(order["contract"])


def roll_schedule(bars: pl.DataFrame, rule: RollRule, sessions: Sessions) -> pl.DataFrame:
    """When the series moves from each contract to the next (see the module docs for the rules).

    Rolls only move forward: each is on a later session than the one before, and never after
    the front's last trading day (except ``no_overlap``, where the front has no later bar).

    Args:
        bars: Usable daily bars of contracts (:func:`resolve_contracts`), one source.
        rule: ``volume`` or ``days:N``.
        sessions: The exchange sessions (``days:N`` counts them).

    Returns:
        One row per roll (:data:`ROLL_FRAME` columns), in time order.
    """
    books: dict[str, Book] = {}
    last: dict[str, date] = {}
    for contract, part in bars.partition_by("contract", as_dict=True).items():
        name = str(contract[0])
        books[name] = {
            d: (c, v) for d, c, v in part.select("session_date", "close", "volume").iter_rows()
        }
        last[name] = part["last_trade"][0]
    order = chain_order(bars)
    rows: list[dict[str, object]] = []
    front, since = (order[0], None) if order else ("", None)
    for nxt in order[1:]:
        roll = _find_roll(
            books[front],
            books[nxt],
            last_day=last[front],
            since=since,
            rule=rule,
            sessions=sessions,
        )
        if roll is None:  # no roll to this one: try the one after, from the same front
            continue
        rows.append({"from_contract": front, "to_contract": nxt, **roll})
        front, since = nxt, cast(date, roll["roll_date"])
    return pl.DataFrame(rows, schema=ROLL_FRAME).select(ROLL_FRAME.keys())
