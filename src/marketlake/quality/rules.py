"""The catalogue of validation rules: stable ids, severity, and what each one means.

ERROR rules send a row to quarantine (with the id of the first rule it broke, in the order
below, and a message naming every rule it broke). WARNING rules keep the row and name the rule
in its ``quality_flags`` column. Ids are part of the public contract: reports, the API and
alerts refer to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["ERROR", "WARNING"]


@dataclass(frozen=True)
class Rule:
    """One validation rule."""

    id: str
    severity: Severity
    description: str


_CATALOGUE = [
    Rule("row.malformed", "ERROR", "the line does not have as many fields as the header"),
    Rule("row.null", "ERROR", "every price and volume is null (holiday or missing-data rows)"),
    Rule("date.invalid", "ERROR", "the date is missing or not a real YYYY-MM-DD date"),
    Rule("value.unparseable", "ERROR", "a price or volume is not a number"),
    Rule(
        "value.missing",
        "ERROR",
        "a required price or volume is null (NaN in HDF5 files), or a contract symbol is empty",
    ),
    Rule("price.range", "ERROR", "a price is outside (quality.price_min, quality.price_max)"),
    Rule("ohlc.inconsistent", "ERROR", "high is below open/close/low, or low above open/close"),
    Rule("volume.negative", "ERROR", "volume is below zero"),
    Rule(
        "date.duplicate",
        "ERROR",
        "the symbol has another row for the same date; the last line in the file is kept",
    ),
    Rule(
        "ts.invalid",
        "ERROR",
        "the time is missing (NaT) or unreadable; for HDF5 trades also before "
        "sources.hdf5.earliest_year or more than sources.hdf5.future_days in the future",
    ),
    Rule(
        "ts.unsorted",
        "ERROR",
        "the trade time is before the latest time already accepted for its symbol, in file "
        "order: silver keeps each symbol's trades time-ordered, as bars need them",
    ),
    Rule(
        "size.invalid",
        "ERROR",
        "a trade or quote size is negative, NaN or infinite (Polygon: some years carry invalid "
        "trade sizes)",
    ),
    Rule(
        "record.malformed",
        "ERROR",
        "a JSON record (or a vendor payload entry) is not an object, is not valid JSON, or lacks "
        "a required field (symbol, timestamp, or every value)",
    ),
    Rule(
        "symbol.invalid",
        "ERROR",
        "the symbol does not match sources.s3_json.symbol_pattern (1-5 upper-case letters, a "
        "share class like BRK.B, a futures contract like ESZ4, or X:/C: crypto and forex)",
    ),
    Rule(
        "indicator.range",
        "ERROR",
        "an indicator is outside its domain: RSI not in [0, 100], an SMA/EMA not above zero, or "
        "a value that is not finite",
    ),
    Rule("volume.zero", "WARNING", "volume is zero (no trading, or a stale vendor row)"),
    Rule(
        "quote.crossed",
        "WARNING",
        "the ask is below the bid (a crossed market: brief across venues, so kept and flagged; "
        "spread is negative)",
    ),
    Rule(
        "price.jump",
        "WARNING",
        "close is quality.jump_factor times above or below the median of its neighbours "
        "(a price off by 100x, e.g. quoted in cents)",
    ),
    Rule(
        "week.partial",
        "WARNING",
        "the newest weekly bar covers a week not yet over when the data was refreshed (Alpha "
        "Vantage's last weekly row): its close and volume will still change",
    ),
    Rule(
        "size.zero",
        "WARNING",
        "a trade of size zero (vendor correction or indicative print); kept and flagged, so a "
        "filter0vol view is silver without these rows",
    ),
]

RULES: dict[str, Rule] = {rule.id: rule for rule in _CATALOGUE}
ERROR_ORDER: list[str] = [r.id for r in _CATALOGUE if r.severity == "ERROR"]
