"""Parse a reference file of symbols (CSV or JSON) into silver rows and quarantined rows.

A pure function of the file's bytes. Columns (CSV header or JSON keys, matched
case-insensitively): ``symbol`` (required), ``name``, ``asset_class``, ``exchange``,
``currency``, ``sector``, ``industry`` and an optional ``as_of``; others are ignored.

The as-of time of a row (silver ``ts_event``) is, in order: the ``as_of`` argument (the
``--as-of`` option), the row's ``as_of`` value, the ``default_as_of`` (the file's landing
time). Every entry of the file comes out once: in ``rows`` or in ``quarantined`` with a rule id
(``record.malformed``: not an object, a wrong number of CSV fields, no symbol, an unreadable
as-of, or a symbol repeated at the same as-of, where the last entry wins; ``symbol.invalid``:
the symbol does not match the pattern).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import pyarrow as pa

from marketlake.errors import SourceError
from marketlake.schemas import QUARANTINE, SYMBOLS

SOURCE = "reference"
DATASET = "symbols"
ATTRIBUTES = ("name", "asset_class", "exchange", "currency", "sector", "industry")
AS_OF = "as_of"
Format = Literal["csv", "json"]


@dataclass(frozen=True)
class ParsedReference:
    """The outcome of parsing one reference file."""

    rows: pa.Table  # SYMBOLS schema
    quarantined: pa.Table  # QUARANTINE schema
    rows_in: int  # entries in the file: rows + quarantined


@dataclass(frozen=True)
class _Entry:
    line: int  # 1-based: CSV line (header is 1) or position in the JSON document
    raw: str  # the original entry as JSON text
    fields: dict[str, Any] | None  # lower-cased keys; None when not an object
    problem: str | None = None  # why it could not be read at all


def format_of(name: str) -> Format:
    """The format of a reference file, from its name (``.csv``, ``.json``, ``.jsonl``...).

    Raises:
        SourceError: the extension is not one of them.
    """
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".json", ".jsonl", ".ndjson")):
        return "json"
    raise SourceError(
        f"cannot tell the format of {name!r}",
        path=name,
        hint="reference files are .csv (with a header) or .json/.jsonl",
    )


def parse_as_of(text: str) -> datetime:
    """An as-of time: a date (midnight UTC) or an ISO-8601 time (UTC when it has no zone).

    Raises:
        ValueError: the text is neither.
    """
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_reference(
    data: bytes,
    *,
    path: str,
    fmt: Format,
    ingest_id: str,
    symbol_pattern: str,
    default_as_of: datetime,
    as_of: datetime | None = None,
) -> ParsedReference:
    """Parse a reference file into silver ``symbols`` rows and quarantined rows.

    Args:
        data: The file's bytes as landed in bronze.
        path: Where it came from (for messages).
        fmt: ``csv`` or ``json`` (an array of objects, ``{"symbols": [...]}``, or one object
            per line).
        ingest_id: The delivery (a silver column).
        symbol_pattern: Regular expression a valid symbol matches in full.
        default_as_of: The as-of of rows without one (the file's landing time).
        as_of: The as-of of every row, overriding the file's ``as_of`` values.

    Returns:
        Rows, quarantined rows and how many entries the file held.

    Raises:
        SourceError: the file is not readable as its format, or has no ``symbol`` column.
    """
    entries = _csv_entries(data, path) if fmt == "csv" else _json_entries(data, path)
    pattern = re.compile(symbol_pattern)
    valid: dict[tuple[str, datetime], tuple[_Entry, dict[str, Any]]] = {}
    rejected: list[tuple[_Entry, str | None, str, str]] = []  # entry, symbol, rule, message
    for entry in entries:
        outcome = _read_entry(entry, pattern, as_of, default_as_of)
        if isinstance(outcome, tuple):
            rejected.append((entry, *outcome))
            continue
        key = (outcome["symbol"], outcome["ts_event"])
        if key in valid:  # the last entry of a symbol at one as-of wins
            earlier, _ = valid.pop(key)
            rejected.append(
                (
                    earlier,
                    outcome["symbol"],
                    "record.malformed",
                    f"symbol {outcome['symbol']} is described again at entry {entry.line} "
                    "with the same as-of; the last entry is kept",
                )
            )
        valid[key] = (entry, outcome)
    kept = sorted(valid.values(), key=lambda pair: pair[0].line)
    rows = pa.Table.from_pylist(
        [{**row, "source": SOURCE, "ingest_id": ingest_id} for _, row in kept], schema=SYMBOLS
    )
    quarantined = pa.Table.from_pylist(
        [
            {
                "dataset": DATASET,
                "ingest_id": ingest_id,
                "source_row": entry.line,
                "symbol": symbol,
                "rule_id": rule,
                "severity": "ERROR",
                "message": message,
                "raw": entry.raw,
            }
            for entry, symbol, rule, message in sorted(rejected, key=lambda r: r[0].line)
        ],
        schema=QUARANTINE,
    )
    return ParsedReference(rows=rows, quarantined=quarantined, rows_in=len(entries))


def _read_entry(
    entry: _Entry, pattern: re.Pattern[str], as_of: datetime | None, default_as_of: datetime
) -> dict[str, Any] | tuple[str | None, str, str]:
    """The silver row of an entry, or (symbol, rule id, message) when it is rejected."""
    if entry.fields is None:
        return None, "record.malformed", entry.problem or "the entry is not an object"
    symbol = _text(entry.fields.get("symbol"))
    if symbol is None:
        return None, "record.malformed", "the entry has no symbol"
    if not pattern.fullmatch(symbol):
        return symbol, "symbol.invalid", f"symbol {symbol!r} does not match the symbol pattern"
    when = as_of
    if when is None:
        text = _text(entry.fields.get(AS_OF))
        try:
            when = parse_as_of(text) if text is not None else default_as_of
        except ValueError:
            return symbol, "record.malformed", f"as_of {text!r} is not a date or ISO-8601 time"
    row: dict[str, Any] = {"ts_event": when, "symbol": symbol}
    for name in ATTRIBUTES:
        row[name] = _text(entry.fields.get(name))
    if row["asset_class"] is not None:
        row["asset_class"] = row["asset_class"].lower()
    return row


def _text(value: Any) -> str | None:
    """A field as stripped text; empty text and JSON null are null."""
    if value is None:
        return None
    text = (value if isinstance(value, str) else json.dumps(value)).strip()
    return text or None


def _csv_entries(data: bytes, path: str) -> list[_Entry]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"not a UTF-8 CSV file: {exc}", path=path, hint="save the file as UTF-8 CSV"
        ) from exc
    lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        raise SourceError("the file is empty", path=path, hint="pass a reference CSV with a header")
    header = [h.strip().lower() for h in lines[0]]
    if "symbol" not in header:
        raise SourceError(
            f"no symbol column in the header {lines[0]!r}",
            path=path,
            hint="reference CSVs need a header with symbol (and name, asset_class, exchange, "
            "currency, sector, industry, as_of)",
        )
    entries = []
    for number, values in enumerate(lines[1:], start=2):
        if not values:  # a blank line is not an entry
            continue
        if len(values) != len(header):
            raw = json.dumps(values)
            problem = f"{len(values)} fields where the header has {len(header)}"
            entries.append(_Entry(number, raw, None, problem))
            continue
        fields = dict(zip(header, values, strict=True))
        entries.append(_Entry(number, json.dumps(dict(zip(lines[0], values, strict=True))), fields))
    return entries


def _json_entries(data: bytes, path: str) -> list[_Entry]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"not a UTF-8 JSON file: {exc}", path=path, hint="save the file as UTF-8 JSON"
        ) from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return _json_lines(text, path)
    if isinstance(document, dict) and isinstance(document.get("symbols"), list):
        document = document["symbols"]
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise SourceError(
            'the JSON document is neither an array of objects nor {"symbols": [...]}',
            path=path,
            hint="write the reference data as an array of objects, one per symbol",
        )
    return [_json_entry(number, item) for number, item in enumerate(document, start=1)]


def _json_lines(text: str, path: str) -> list[_Entry]:
    """One JSON object per line; a line that does not parse is a malformed entry."""
    entries: list[_Entry] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            entries.append(_Entry(number, json.dumps(line), None, f"not valid JSON: {exc.msg}"))
            continue
        entries.append(_json_entry(number, item))
    if entries and all(e.fields is None for e in entries):
        raise SourceError(
            "not a JSON document nor JSON lines",
            path=path,
            hint="write the reference data as an array of objects, one per symbol",
        )
    return entries


def _json_entry(number: int, item: Any) -> _Entry:
    raw = json.dumps(item)
    if not isinstance(item, dict):
        return _Entry(number, raw, None, f"entry {number} is not an object")
    return _Entry(number, raw, {str(k).strip().lower(): v for k, v in item.items()})
