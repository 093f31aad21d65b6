"""Which silver files a read needs: time bounds parsed, partitions chosen, files listed.

Files are found from the partitions asked for (``symbol=<S>/year=<Y>``), never by walking the
whole dataset; each comes with its size and version (mtime or ETag) so a cache can tell that
it changed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from marketlake.errors import ConfigError
from marketlake.lake import Lake
from marketlake.lake.compact import live_files, served_key
from marketlake.lake.silver import SILVER, partition_dir

TimeBound = str | date | datetime | None
Symbols = str | Sequence[str] | None


@dataclass(frozen=True)
class Bound:
    """A time bound: nanoseconds since the epoch, and the day when given as a date."""

    ns: int
    day: date | None  # set when the bound was given as a date


def parse_bound(value: TimeBound, *, end: bool) -> Bound | None:
    """A start (or ``end``) bound from a date, datetime or ISO string; None stays None.

    Raises:
        ConfigError: the string is not an ISO date or datetime.
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError as exc:
            raise ConfigError(
                f"cannot read {'end' if end else 'start'} time {value!r}",
                hint="use YYYY-MM-DD (a whole day) or an ISO datetime like 2024-01-02T14:30",
            ) from exc
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return Bound(_ns(moment), None)
    day = value + timedelta(days=1) if end else value
    return Bound(_ns(datetime(day.year, day.month, day.day, tzinfo=UTC)), value)


def _ns(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def partition_years(dataset: str, start: Bound | None, end: Bound | None) -> list[int] | None:
    """Partition years that can hold rows in range; None: every year.

    Bars are partitioned by the year of ``session_date``, which can differ from the UTC year
    of ``ts_event`` near new year: a datetime bound gets two days of margin, a date none.
    """
    if start is None or end is None:
        return None

    def year(bound: Bound, margin: timedelta, *, is_end: bool) -> int:
        if bound.day is not None:
            return bound.day.year
        moment = datetime.fromtimestamp(bound.ns / 1e9, UTC) - (timedelta(0) if is_end else margin)
        return (moment + (margin if is_end else timedelta(0))).year

    margin = timedelta(days=2) if dataset == "bars" else timedelta(0)
    return list(range(year(start, margin, is_end=False), year(end, margin, is_end=True) + 1))


def symbol_list(symbols: Symbols) -> list[str] | None:
    """Symbols as a sorted list without repeats; None means every symbol."""
    if symbols is None:
        return None
    return [symbols] if isinstance(symbols, str) else sorted(set(symbols))


def list_files(
    lake: Lake, dataset: str, symbols: list[str] | None, years: list[int] | None
) -> list[tuple[str, int, str]]:
    """(key, size, version) of the files of the partitions asked for, sorted by key.

    A consistent snapshot (:func:`marketlake.lake.compact.live_files`): while a compaction
    commits, either its inputs or its output are listed, never both.
    """
    if symbols is None:
        patterns = [f"{SILVER}/{dataset}/symbol=*/year={y if years else '*'}" for y in years or [0]]
    else:
        patterns = []
        for symbol in symbols:
            base = partition_dir(dataset, symbol, 0).rsplit("/", 1)[0]
            patterns += [f"{base}/year={y}" for y in years] if years else [f"{base}/year=*"]
    return live_files(lake, dataset, patterns)


def files_to_read(lake: Lake, files: list[tuple[str, int, str]]) -> list[str]:
    """The keys to scan: a partition's served copy when it is current, else its files.

    Order is kept (key order, partition by partition), so the result is the same either way.
    """
    groups: dict[str, list[tuple[str, int, str]]] = {}
    for item in files:
        groups.setdefault(item[0].rsplit("/", 1)[0], []).append(item)
    keys: list[str] = []
    for partition, members in groups.items():
        served = served_key(partition, members) if len(members) > 1 else None
        if served is not None and _exists(lake, served):
            keys.append(served)
        else:
            keys += [k for k, _, _ in members]
    return keys


def _exists(lake: Lake, key: str) -> bool:
    return os.path.exists(lake.full(key)) if lake.is_local else lake.exists(key)
