"""Two versions of a reference file for the demo symbols, the second with one symbol renamed.

The first is a CSV with an ``as_of`` column; the second is JSON without one, to be ingested with
a later ``--as-of``. Between them IBM changes its name and sector, so the warehouse's
``dim_symbol`` shows two versions of IBM. Each file also holds one entry that must be
quarantined (``symbol.invalid`` in the first, ``record.malformed`` in the second). The same call
writes the same bytes, so re-running a demo lands nothing new.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

FIRST_AS_OF = date(2019, 1, 2)
SECOND_AS_OF = date(2022, 6, 1)
CHANGED_SYMBOL = "IBM"
COLUMNS = ("symbol", "name", "asset_class", "exchange", "currency", "sector", "industry")

FIRST = [
    ("AAPL", "Apple Inc.", "equity", "XNAS", "USD", "Information Technology", "Hardware"),
    ("MSFT", "Microsoft Corp.", "equity", "XNAS", "USD", "Information Technology", "Software"),
    (
        "IBM",
        "International Business Machines Corp.",
        "equity",
        "XNYS",
        "USD",
        "Information Technology",
        "IT Services",
    ),
    ("SPY", "SPDR S&P 500 ETF Trust", "etf", "ARCX", "USD", None, None),
    (
        "BRK-B",
        "Berkshire Hathaway Inc. Class B",
        "equity",
        "XNYS",
        "USD",
        "Financials",
        "Insurance",
    ),
]
# The symbols file of the second delivery: IBM renamed and moved to another sector.
SECOND_CHANGES = {CHANGED_SYMBOL: {"name": "IBM Corp.", "sector": "Technology Services"}}


@dataclass(frozen=True)
class ReferenceSamples:
    """What :func:`write_reference_files` wrote."""

    first: Path  # CSV, as_of column = FIRST_AS_OF
    second: Path  # JSON, no as_of: ingest it with as_of = SECOND_AS_OF
    first_as_of: date
    second_as_of: date
    changed_symbol: str
    valid_entries: int  # per file
    quarantined_entries: int  # per file


def write_reference_files(folder: Path) -> ReferenceSamples:
    """Write ``symbols_v1.csv`` and ``symbols_v2.json`` into ``folder`` (created if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    first = folder / "symbols_v1.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*COLUMNS, "as_of"])
    for row in FIRST:
        writer.writerow([*(v or "" for v in row), FIRST_AS_OF.isoformat()])
    # An index is not a listed symbol: the pattern rejects it (symbol.invalid).
    writer.writerow(["^GSPC", "S&P 500", "index", "", "USD", "", "", FIRST_AS_OF.isoformat()])
    _write_if_changed(first, buffer.getvalue().encode())

    second = folder / "symbols_v2.json"
    records: list[object] = []
    for row in FIRST:
        record = dict(zip(COLUMNS, row, strict=True))
        record.update(SECOND_CHANGES.get(str(record["symbol"]), {}))
        records.append(record)
    records.append({"name": "an entry without a symbol", "sector": "Financials"})  # malformed
    _write_if_changed(second, (json.dumps(records, indent=1) + "\n").encode())
    return ReferenceSamples(
        first=first,
        second=second,
        first_as_of=FIRST_AS_OF,
        second_as_of=SECOND_AS_OF,
        changed_symbol=CHANGED_SYMBOL,
        valid_entries=len(FIRST),
        quarantined_entries=1,
    )


def _write_if_changed(path: Path, data: bytes) -> None:
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
