"""Polygon.io / Massive flat-file keys: the two layouts, and what a key is a delivery of.

Per day, all tickers (the vendor's layout)::

    {asset}/{kind}/YYYY/MM/YYYY-MM-DD.csv.gz
    e.g. us_stocks_sip/trades_v1/2024/01/2024-01-02.csv.gz

Per symbol (kept by some download tools)::

    {asset}/{kind}/YYYY/MM/DD/{SYMBOL}.csv.gz
    e.g. us_stocks_sip/trades_v1/2024/01/02/AAPL.csv.gz
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Kind = Literal["trades_v1", "quotes_v1", "minute_aggs_v1", "day_aggs_v1"]
KINDS: tuple[Kind, ...] = ("trades_v1", "quotes_v1", "minute_aggs_v1", "day_aggs_v1")
ASSETS = ("us_stocks_sip", "us_options_opra", "us_indices", "global_crypto", "global_forex")

# kind -> (silver dataset, bar interval or None)
SILVER_OF: dict[str, tuple[str, str | None]] = {
    "trades_v1": ("trades", None),
    "quotes_v1": ("quotes", None),
    "minute_aggs_v1": ("bars", "1m"),
    "day_aggs_v1": ("bars", "1d"),
}

_DAY = re.compile(r"^(?P<ds>[a-z_]+/[a-z_0-9]+)/(\d{4})/(\d{2})/(?P<d>\d{4}-\d{2}-\d{2})\.csv\.gz$")
_SYMBOL = re.compile(
    r"^(?P<ds>[a-z_]+/[a-z_0-9]+)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<dd>\d{2})/(?P<sym>[^/]+)\.csv\.gz$"
)


@dataclass(frozen=True)
class FlatFile:
    """One flat file: which dataset and day it holds, and for which symbol (per-symbol layout)."""

    key: str
    dataset: str  # "us_stocks_sip/trades_v1"
    day: date
    symbol: str | None = None

    @property
    def kind(self) -> str:
        """``trades_v1``, ``quotes_v1``, ``minute_aggs_v1`` or ``day_aggs_v1``."""
        return self.dataset.rsplit("/", 1)[-1]

    @property
    def logical_key(self) -> str:
        """What the file is a delivery *of*: a re-published day has the same logical key."""
        base = f"{self.dataset}/{self.day.isoformat()}"
        return f"{base}/{self.symbol}" if self.symbol else base


def parse_key(key: str) -> FlatFile | None:
    """The flat file a key names, or None when the key follows neither layout."""
    key = key.lstrip("/")
    if m := _DAY.match(key):
        return FlatFile(key=key, dataset=m["ds"], day=date.fromisoformat(m["d"]))
    if m := _SYMBOL.match(key):
        try:
            day = date(int(m["y"]), int(m["m"]), int(m["dd"]))
        except ValueError:
            return None
        return FlatFile(key=key, dataset=m["ds"], day=day, symbol=m["sym"])
    return None


def day_key(dataset: str, day: date) -> str:
    """The per-day key of a dataset and day."""
    return f"{dataset}/{day:%Y}/{day:%m}/{day.isoformat()}.csv.gz"


def symbol_key(dataset: str, day: date, symbol: str) -> str:
    """The per-symbol key of a dataset, day and symbol."""
    return f"{dataset}/{day:%Y}/{day:%m}/{day:%d}/{symbol}.csv.gz"


def month_prefixes(dataset: str, start: date, end: date) -> list[str]:
    """The ``{dataset}/YYYY/MM`` prefixes covering ``start..end`` (both layouts live below)."""
    out: list[str] = []
    cur = start.replace(day=1)
    while cur <= end:
        out.append(f"{dataset}/{cur:%Y}/{cur:%m}")
        cur = (cur + timedelta(days=32)).replace(day=1)
    return out


def days(start: date, end: date) -> list[date]:
    """Every calendar day in ``start..end`` (inclusive)."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
