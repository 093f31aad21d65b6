"""Read one JSON object's bytes into records, and the field parsers (pure: bytes and values in).

The format is decided by content, not by name: a gzip stream (magic ``1f 8b``) is decompressed
first; text whose first non-space character is ``[`` is one JSON array (one record per element,
``source_row`` = 1-based index); anything else is newline-delimited JSON (one record per non-blank
line, ``source_row`` = 1-based line number). A line that is not valid JSON becomes a record with a
``error`` (quarantined as ``record.malformed``); the rest of the object is kept.

Timestamps: ISO 8601 strings (``Z`` or an offset; without one they are UTC; a date alone is
midnight UTC; up to 9 fractional digits) or epoch numbers (or numeric strings), whose unit is
decided by magnitude: ``|v| < 1e11`` seconds, ``< 1e14`` milliseconds, ``< 1e17`` microseconds,
else nanoseconds (so seconds reach the year 5138 and no real millisecond value is read as seconds).
"""

from __future__ import annotations

import gzip
import json
import math
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from marketlake.errors import SourceError

GZIP_MAGIC = b"\x1f\x8b"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT64_MAX = 2**63 - 1
_FRACTION = re.compile(r"^(.*?\d{2}:\d{2}:\d{2})[.,](\d+)(.*)$")
# Epoch units by magnitude: (upper bound of |v|, nanoseconds per unit).
_UNITS = ((1e11, 10**9), (1e14, 10**6), (1e17, 10**3))


@dataclass(frozen=True)
class Record:
    """One JSON record as read: where it was, its text, and its value or why it has none."""

    source_row: int  # 1-based line (NDJSON) or array index
    raw: str  # the original record as JSON text
    value: Any = None
    error: str | None = None  # set when the text is not valid JSON


def is_gzip(data: bytes) -> bool:
    """Whether ``data`` starts like a gzip stream."""
    return data[:2] == GZIP_MAGIC


def decode_object(data: bytes, *, path: str) -> str:
    """The JSON text of an object, gunzipped when it is a gzip stream.

    Raises:
        SourceError: the gzip stream is corrupt or cut off, or the text is not UTF-8.
    """
    if is_gzip(data):
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            raise SourceError(
                f"the object is not a complete gzip stream ({exc})",
                path=path,
                hint="the producer may still be writing it, or it was corrupted; fix or re-upload "
                "it and run the same command again (the others were ingested)",
            ) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"the object is not UTF-8 text (byte {exc.start})",
            path=path,
            hint="JSON records must be UTF-8; ask the producer to fix the export",
        ) from exc


def read_records(data: bytes, *, path: str) -> list[Record]:
    """Every record of one object (NDJSON or an array; plain or gzip).

    Args:
        data: The object's bytes, as stored.
        path: Where they came from (for errors).

    Returns:
        The records in object order; invalid NDJSON lines carry an ``error``.

    Raises:
        SourceError: the gzip stream is corrupt, the text is not UTF-8, or an array is not
            valid JSON as a whole.
    """
    text = decode_object(data, path=path)
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise SourceError(
                f"the JSON array is not valid JSON: {exc.msg} at line {exc.lineno} column "
                f"{exc.colno}",
                path=path,
                hint="an array cannot be read in part; fix or re-upload the object",
            ) from exc
        return [
            Record(i, json.dumps(item, ensure_ascii=False, separators=(",", ":")), item)
            for i, item in enumerate(items, start=1)
        ]
    records: list[Record] = []
    for number, text_line in enumerate(text.splitlines(), start=1):
        line = text_line.strip()
        if not line:
            continue
        try:
            records.append(Record(number, line, json.loads(line)))
        except json.JSONDecodeError as exc:
            records.append(Record(number, line, error=f"not valid JSON: {exc.msg}"))
    if records and all(r.error for r in records) and stripped.startswith("{"):
        # One pretty-printed object over several lines, not NDJSON.
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError:
            return records
        return [Record(1, json.dumps(value, ensure_ascii=False, separators=(",", ":")), value)]
    return records


def parse_number(value: Any) -> float | None:
    """A JSON number or numeric string as a float; None for null.

    Raises:
        ValueError: the value is not a number (a word, a boolean, an object...).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{json.dumps(value)} is not a number")
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise ValueError(f"{json.dumps(value)} is not a number") from None
    return float(value)


def _epoch_ns(number: Decimal) -> int:
    size = abs(number)
    for bound, scale in _UNITS:
        if size < Decimal(bound):
            return int(number * scale)
    return int(number)


def _iso_ns(text: str) -> int:
    extra_ns = 0
    match = _FRACTION.match(text)
    if match:
        head, digits, tail = match.groups()
        extra_ns = int(digits[:9].ljust(9, "0"))
        text = head + tail
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1_000 + extra_ns


def parse_timestamp(value: Any) -> int:
    """A timestamp as UTC epoch nanoseconds (see the module docs for the accepted forms).

    Raises:
        ValueError: the value is not a time, or is not after 1970 and before 2262.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{json.dumps(value)} is not a time")
    ns: int | None = None
    if isinstance(value, str):
        text = value.strip()
        try:
            ns = _iso_ns(text)
        except ValueError:
            try:
                ns = _epoch_ns(Decimal(text))
            except (InvalidOperation, ValueError, OverflowError):
                raise ValueError(f"{json.dumps(value)} is not a time") from None
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value} is not a time")
    elif isinstance(value, int):  # the common case, without Decimal
        scale = next((s for bound, s in _UNITS if abs(value) < bound), 1)
        ns = value * scale
    else:
        ns = _epoch_ns(Decimal(str(value)))
    if not 0 < ns <= _INT64_MAX:
        raise ValueError(f"{json.dumps(value)} is outside 1970..2262")
    return ns
