"""Parse a Yahoo-style daily CSV into canonical rows: a pure function of the file's bytes.

Every data line of the file comes out as exactly one row (blank lines are not rows), with its
1-based line number (``source_row``) and its original text as JSON (``raw``). Lines that cannot be
read as a bar keep their place with ``parse_rule``/``parse_message`` set, so validation can
quarantine them without losing them. Numbers are parsed exactly as decimal text -> float64.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass

import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv

from marketlake.errors import SourceError

SOURCE = "csv_daily"
INTERVAL = "1d"
FIELDS = {  # canonical name -> header name in a Yahoo export (matched case-insensitively)
    "date": "date",
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "adj_close": "adj close",
    "volume": "volume",
}
REQUIRED = ("date", "open", "high", "low", "close", "volume")
NUMBERS = ("open", "high", "low", "close", "adj_close", "volume")
DATE_FORMAT = "%Y-%m-%d"


@dataclass(frozen=True)
class ParsedCsv:
    """The rows of one CSV file.

    Attributes:
        rows: One row per data line: source_row, raw, symbol, session_date, ts_event, the numbers,
            parse_rule and parse_message (null when the line parsed).
        header: The header as found in the file.
    """

    rows: pl.DataFrame
    header: list[str]


def _read_strings(data: bytes, path: str) -> tuple[pa.Table, list[tuple[int, str]]]:
    malformed: list[tuple[int, str]] = []

    def on_invalid(row: pa_csv.InvalidRow) -> str:
        malformed.append((row.number or 0, row.text))
        return "skip"

    try:
        header = next(csv.reader([data.split(b"\n", 1)[0].decode().rstrip("\r")]))
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            read_options=pa_csv.ReadOptions(use_threads=False, block_size=1 << 26),
            parse_options=pa_csv.ParseOptions(
                invalid_row_handler=on_invalid, ignore_empty_lines=False
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise SourceError(
            f"not a readable CSV file: {exc}",
            path=path,
            hint="is this a daily price CSV export (Date,Open,High,Low,Close,Adj Close,Volume)?",
        ) from exc
    return table, malformed


def _map_header(header: list[str], path: str) -> dict[str, str]:
    # "Close*" / "Adj Close**" come from copying Yahoo's web table; the stars are footnotes.
    by_lower = {name.strip().rstrip("*").lower(): name for name in header}
    mapping = {canon: by_lower[name] for canon, name in FIELDS.items() if name in by_lower}
    missing = [FIELDS[c].title() for c in REQUIRED if c not in mapping]
    if missing:
        raise SourceError(
            f"header lacks {', '.join(missing)} (found: {','.join(header) or 'nothing'})",
            path=path,
            hint="expected a Yahoo-style header Date,Open,High,Low,Close,Adj Close,Volume",
        )
    return mapping


def parse_daily_csv(
    data: bytes,
    *,
    symbol: str,
    path: str = "<bytes>",
    timezone: str = "America/New_York",
    null_tokens: tuple[str, ...] = ("null", "NULL", "", "NaN", "nan", "N/A", "-"),
) -> ParsedCsv:
    """Parse one daily CSV file.

    Args:
        data: The file's bytes.
        symbol: The symbol the file is about (Yahoo exports do not say).
        path: Where the bytes came from, for error messages.
        timezone: The exchange's time zone; ``ts_event`` is the session date's local midnight.
        null_tokens: Field values that mean "no value" (Yahoo writes ``null`` on holidays).

    Returns:
        The parsed rows (see :class:`ParsedCsv`).

    Raises:
        SourceError: the file is empty, not text, or its header lacks a required column.
    """
    data = data.removeprefix(b"\xef\xbb\xbf")
    if not data.strip():
        raise SourceError("the file is empty", path=path, hint="re-export it from the vendor")
    table, malformed = _read_strings(data, path)
    mapping = _map_header(table.column_names, path)

    # Exact line numbers: every physical line is a row, except the malformed ones skipped above.
    lines = data.split(b"\n")
    blank = {i + 1 for i, line in enumerate(lines) if not line.strip(b"\r \t")}
    skipped = {number for number, _ in malformed}
    line_numbers = [n for n in range(2, len(lines) + 1) if n not in skipped][: table.num_rows]
    strings = pl.from_arrow(table)
    assert isinstance(strings, pl.DataFrame)
    frame = strings.select(
        pl.Series("source_row", line_numbers, dtype=pl.Int64),
        pl.struct(pl.all()).struct.json_encode().alias("raw"),
        *[
            pl.col(mapping[c]).alias(c) if c in mapping else pl.lit(None, pl.String).alias(c)
            for c in FIELDS
        ],
    ).filter(~pl.col("source_row").is_in(sorted(blank)))

    is_null = {
        c: pl.col(c).is_null() | pl.col(c).str.strip_chars().is_in(null_tokens) for c in FIELDS
    }
    # Thousands separators ("1,234.5", quoted in the file) are dropped before the exact parse.
    typed = {
        c: pl.col(c)
        .str.strip_chars()
        .str.replace_all(",", "", literal=True)
        .cast(pl.Float64, strict=False)
        for c in NUMBERS
    }
    date = pl.col("date").str.strip_chars().str.strptime(pl.Date, DATE_FORMAT, strict=False)
    unparseable = [
        pl.when(~is_null[c] & typed[c].is_null()).then(pl.format("{}={}", pl.lit(c), pl.col(c)))
        for c in NUMBERS
    ]
    all_values_null = pl.all_horizontal([is_null[c] for c in NUMBERS if c in mapping])
    parse_rule = (
        pl.when(all_values_null)
        .then(pl.lit("row.null"))
        .when(date.is_null())
        .then(pl.lit("date.invalid"))
        .when(pl.any_horizontal([u.is_not_null() for u in unparseable]))
        .then(pl.lit("value.unparseable"))
    )
    parse_message = (
        pl.when(all_values_null)
        .then(pl.lit("every price and volume is null (a holiday or missing-data row)"))
        .when(date.is_null())
        .then(pl.format("date {} is not a valid {} date", pl.col("date"), pl.lit("YYYY-MM-DD")))
        .otherwise(pl.concat_str(unparseable, separator=", ", ignore_nulls=True))
    )
    rows = frame.select(
        "source_row",
        "raw",
        pl.lit(symbol).alias("symbol"),
        date.alias("session_date"),
        date.cast(pl.Datetime("ns"))
        .dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .alias("ts_event"),
        *[typed[c].alias(c) for c in NUMBERS],
        parse_rule.alias("parse_rule"),
        pl.when(parse_rule.is_not_null()).then(parse_message).alias("parse_message"),
    )
    if malformed:
        bad = pl.DataFrame(
            {
                "source_row": [n for n, _ in malformed],
                "raw": [json.dumps({"line": text}, ensure_ascii=False) for _, text in malformed],
                "parse_rule": ["row.malformed"] * len(malformed),
                "parse_message": [
                    f"line has {text.count(',') + 1} fields, the header has {table.num_columns}"
                    for _, text in malformed
                ],
            },
            schema={
                k: rows.schema[k] for k in ("source_row", "raw", "parse_rule", "parse_message")
            },
        ).with_columns(pl.lit(symbol).alias("symbol"))
        rows = pl.concat([rows, bad], how="diagonal").sort("source_row")
    return ParsedCsv(rows=rows, header=table.column_names)
