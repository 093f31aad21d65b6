"""Records of one object -> canonical silver rows and quarantined rows (pure: records in).

Fields are read record by record (JSON has no columns), the numeric rules then run as Polars
expressions. Every record ends up in silver or quarantine, with the first ERROR rule it broke
(catalogue order of ``marketlake.quality.rules``) and a message naming every rule it broke.

Decisions:
- The time is the first field present of ``timestamp, ts, time, datetime, date``. A record
  without a symbol or a time, or that is not a JSON object, is ``record.malformed``.
- Prices: ``open, high, low, close`` required (a record with none of them and no volume is
  malformed, one missing is ``value.missing``); ``volume``, ``vwap``, ``adj_close`` and
  ``trade_count``/``transactions`` optional. Numbers may be JSON numbers or numeric strings.
  ``session_date`` is the UTC date for daily and longer intervals (producers stamp a day's bar at
  its date) and for ``X:``/``C:`` tickers, else the New York date.
- Indicators are stored long: one silver row per record x indicator field (lower-cased name).
  Null values (warm-up rows) are absent, not rows. Record-level faults quarantine the record as
  one row; a bad value (``value.unparseable``, ``indicator.range``) quarantines only that value.
  An ``interval`` field in the record wins over the default interval.
- Anomalies: the kind is the first of ``type, anomaly_type, kind, rule``; the score the first of
  ``score, value``; every other field is kept as JSON text in ``details``.
- The same symbol and time (and indicator name) twice in one object: the last record is kept,
  the earlier ones are quarantined as ``date.duplicate``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

from marketlake.config import QualitySettings
from marketlake.quality.rules import ERROR_ORDER, RULES
from marketlake.schemas import QUARANTINE, schema_of
from marketlake.sources.s3_json.parse import Record, parse_number, parse_timestamp

TIME_FIELDS = ("timestamp", "ts", "time", "datetime", "date")
TYPE_FIELDS = ("type", "anomaly_type", "kind", "rule")
SCORE_FIELDS = ("score", "value")
PRICES = ("open", "high", "low", "close")
OPTIONAL = ("volume", "vwap", "adj_close")
COUNTS = ("trade_count", "transactions")
EXCHANGE_TZ = "America/New_York"
_DAILY = re.compile(r"^\d*(d|w|mo|y)$")
# Record-level rules found while reading fields, one message column each.
_READ_RULES = ("record.malformed", "symbol.invalid", "ts.invalid", "value.unparseable")


@dataclass(frozen=True)
class Checked:
    """Silver rows (canonical schema), quarantined rows (QUARANTINE) and WARNING counts."""

    dataset: str
    rows: pa.Table
    quarantined: pa.Table
    flagged_by_rule: dict[str, int]

    @property
    def rows_in(self) -> int:
        """Rows that came in: always rows + quarantined."""
        return int(self.rows.num_rows + self.quarantined.num_rows)


@dataclass
class _Head:
    """The fields every kind shares, and what was wrong with them."""

    obj: dict[str, Any]
    symbol: str | None
    ts: int | None
    time_field: str | None
    problems: dict[str, str]


def _head(record: Record, pattern: re.Pattern[str]) -> _Head:
    problems: dict[str, str] = {}
    if record.error is not None:
        return _Head({}, None, None, None, {"record.malformed": record.error})
    if not isinstance(record.value, dict):
        kind = type(record.value).__name__
        return _Head(
            {}, None, None, None, {"record.malformed": f"a record is an object, not {kind}"}
        )
    obj: dict[str, Any] = record.value
    raw_symbol = obj.get("symbol")
    time_field = next((f for f in TIME_FIELDS if obj.get(f) is not None), None)
    lacking = [
        n for n, ok in (("symbol", raw_symbol is not None), ("timestamp", time_field)) if not ok
    ]
    if lacking:
        problems["record.malformed"] = f"lacks {' and '.join(lacking)}"
    symbol = raw_symbol if isinstance(raw_symbol, str) else None
    if raw_symbol is not None and (symbol is None or not pattern.match(symbol)):
        problems["symbol.invalid"] = (
            f"symbol {json.dumps(raw_symbol)} does not match sources.s3_json.symbol_pattern"
        )
    ts = None
    if time_field is not None:
        try:
            ts = parse_timestamp(obj[time_field])
        except ValueError as exc:
            problems["ts.invalid"] = f"{time_field} {exc}"
    return _Head(obj, symbol, ts, time_field, problems)


def _number(obj: dict[str, Any], name: str, bad: list[str]) -> float | None:
    try:
        return parse_number(obj.get(name))
    except ValueError as exc:
        bad.append(f"{name} {exc}")
        return None


def _first_rule(checks: dict[str, pl.Expr]) -> pl.Expr:
    expr: pl.Expr = pl.lit(None, pl.String)
    for rule_id in reversed([r for r in ERROR_ORDER if r in checks]):
        expr = pl.when(checks[rule_id].is_not_null()).then(pl.lit(rule_id)).otherwise(expr)
    return expr


def _judge(frame: pl.DataFrame, checks: dict[str, pl.Expr], key: list[str]) -> pl.DataFrame:
    """Add ``rule_id`` and ``message``; duplicates of ``key`` among valid rows: the last wins."""
    message = pl.concat_str(
        [pl.format("{}: {}", pl.lit(rule), expr) for rule, expr in checks.items()],
        separator="; ",
        ignore_nulls=True,
    )
    rule, text = _first_rule(checks), message
    if "record.malformed" in checks:  # a record that could not be read is explained by that alone
        malformed = checks["record.malformed"]
        rule = pl.when(malformed.is_not_null()).then(pl.lit("record.malformed")).otherwise(rule)
        text = pl.when(malformed.is_not_null()).then(pl.format("record.malformed: {}", malformed))
        text = text.otherwise(message)
    judged = frame.with_columns(rule.alias("rule_id"), text.alias("message"))
    ok = pl.col("rule_id").is_null()
    keep = pl.col("source_row").filter(ok).max().over(key)
    duplicate = ok & (pl.col("source_row") != keep)
    return judged.with_columns(
        pl.when(duplicate).then(pl.lit("date.duplicate")).otherwise("rule_id").alias("rule_id"),
        pl.when(duplicate)
        .then(pl.format("the same {} appears again at record {}, which is kept", pl.lit(
            "/".join(k for k in key if k != "symbol")), keep))
        .otherwise("message")
        .alias("message"),
    )  # fmt: skip


def _read_checks(frame: pl.DataFrame) -> dict[str, pl.Expr]:
    return {r: pl.col(f"p:{r}") for r in _READ_RULES if f"p:{r}" in frame.columns}


def _quarantine(
    bad: pl.DataFrame, raws: list[str], rows: list[int], *, dataset: str, ingest_id: str
) -> pa.Table:
    raw = pl.DataFrame({"source_row": rows, "raw": raws}, schema={"source_row": pl.Int64,
                       "raw": pl.String}).unique("source_row", keep="first")  # fmt: skip
    out = bad.join(raw, on="source_row", how="left").select(
        pl.lit(dataset).alias("dataset"),
        pl.lit(ingest_id).alias("ingest_id"),
        "source_row",
        "symbol",
        "rule_id",
        pl.lit("ERROR").alias("severity"),
        "message",
        "raw",
    )
    assert set(out["rule_id"]) <= set(RULES)
    return out.sort("source_row").to_arrow().cast(QUARANTINE)


def _ts(column: str = "ts") -> pl.Expr:
    return pl.col(column).cast(pl.Datetime("ns", "UTC")).alias("ts_event")


def check_prices(
    records: list[Record], *, pattern: re.Pattern[str], interval: str, source: str,
    ingest_id: str, quality: QualitySettings,
) -> Checked:  # fmt: skip
    """Price records -> silver ``bars`` rows and quarantined records.

    Args:
        records: The records of one object.
        pattern: Valid symbols (``sources.s3_json.symbol_pattern``).
        interval: The bar interval of these records (``1d``, ``1h``...).
        source: The source name (a silver column).
        ingest_id: The delivery the records came from.
        quality: Price bounds (``quality.price_min``/``price_max``).

    Returns:
        The checked rows.
    """
    numbers = (*PRICES, *OPTIONAL)
    problem_columns = [f"p:{r}" for r in (*_READ_RULES, "value.missing")]
    names = ("source_row", "symbol", "ts", *numbers, "trade_count", *problem_columns)
    columns: dict[str, list[Any]] = {c: [] for c in names}
    for record in records:
        head = _head(record, pattern)
        bad: list[str] = []
        values = {c: _number(head.obj, c, bad) for c in numbers}
        count = next((head.obj[c] for c in COUNTS if head.obj.get(c) is not None), None)
        try:
            parsed_count = parse_number(count)
            if parsed_count is not None and not parsed_count.is_integer():
                raise ValueError(f"{json.dumps(count)} is not a whole number")
            trade_count = None if parsed_count is None else int(parsed_count)
        except (ValueError, OverflowError) as exc:
            bad.append(f"trade_count {exc}")
            trade_count = None
        problems = head.problems
        if bad:
            problems["value.unparseable"] = ", ".join(bad)
        absent = [c for c in PRICES if head.obj.get(c) is None]
        if head.obj and len(absent) == len(PRICES) and head.obj.get("volume") is None:
            problems.setdefault("record.malformed", "lacks every price and the volume")
        elif head.obj and absent:
            problems["value.missing"] = ", ".join(absent) + " missing"
        if "record.malformed" in problems:
            problems = {"record.malformed": problems["record.malformed"]}
        columns["source_row"].append(record.source_row)
        columns["symbol"].append(head.symbol)
        columns["ts"].append(head.ts)
        for c in numbers:
            columns[c].append(values[c])
        columns["trade_count"].append(trade_count)
        for r in (*_READ_RULES, "value.missing"):
            columns[f"p:{r}"].append(problems.get(r))
    schema: dict[str, Any] = dict.fromkeys(numbers, pl.Float64)
    schema |= dict.fromkeys(problem_columns, pl.String)
    schema |= {"source_row": pl.Int64, "ts": pl.Int64, "trade_count": pl.Int64}
    frame = pl.DataFrame(columns, schema={c: schema.get(c, pl.String) for c in columns})

    lo, hi = quality.price_min, quality.price_max
    ranged = [
        pl.when((pl.col(c) <= lo) | (pl.col(c) >= hi) | pl.col(c).is_nan()).then(
            pl.format("{} {}", pl.lit(c), pl.col(c))
        )
        for c in (*PRICES, "vwap", "adj_close")
    ]
    top, bottom = (
        pl.max_horizontal("open", "close", "low"),
        pl.min_horizontal("open", "close", "high"),
    )
    checks = _read_checks(frame) | {
        "value.missing": pl.col("p:value.missing"),
        "price.range": pl.when(pl.any_horizontal([r.is_not_null() for r in ranged])).then(
            pl.concat_str(ranged, separator=", ", ignore_nulls=True)
            + pl.lit(f" not in ({lo:g}, {hi:g})")
        ),
        "ohlc.inconsistent": pl.when((pl.col("high") < top) | (pl.col("low") > bottom)).then(
            pl.format("open {} high {} low {} close {}: high must be the highest, low the lowest",
                      *PRICES)
        ),
        "volume.negative": pl.when(pl.col("volume") < 0).then(
            pl.format("volume {} < 0", pl.col("volume"))
        ),
    }  # fmt: skip
    judged = _judge(frame, checks, ["symbol", "ts"])
    good = judged.filter(pl.col("rule_id").is_null())
    ts = _ts()
    utc_day = pl.lit(bool(_DAILY.match(interval))) | pl.col("symbol").str.contains(r"^[XC]:")
    session = (
        pl.when(utc_day)
        .then(ts.dt.date())
        .otherwise(ts.dt.convert_time_zone(EXCHANGE_TZ).dt.date())
    )
    zero = pl.col("volume") == 0
    silver = good.sort("symbol", "ts").select(
        ts,
        session.alias("session_date"),
        pl.lit(interval).alias("interval"),
        "symbol",
        *PRICES,
        *OPTIONAL[:2],
        "trade_count",
        "adj_close",
        pl.lit(None, pl.Float64).alias("dividend"),
        pl.lit(None, pl.Float64).alias("split_factor"),
        pl.lit(source).alias("source"),
        pl.lit(ingest_id).alias("ingest_id"),
        pl.when(zero).then(pl.lit("volume.zero")).alias("quality_flags"),
    )
    zeros = int(good.select(zero.sum()).item() or 0)
    return Checked(
        dataset="bars",
        rows=silver.to_arrow().cast(schema_of("bars")),
        quarantined=_quarantine(
            judged.filter(pl.col("rule_id").is_not_null()),
            [r.raw for r in records], [r.source_row for r in records],
            dataset="bars", ingest_id=ingest_id,
        ),
        flagged_by_rule={"volume.zero": zeros} if zeros else {},
    )  # fmt: skip


def _indicator_range() -> pl.Expr:
    value, name = pl.col("value"), pl.col("name")
    rsi = name.str.contains(r"^rsi(_\d+)?$")
    average = name.str.contains(r"^(sma|ema)(_\d+)?$")
    return (
        pl.when(~value.is_finite())
        .then(pl.format("{} {} is not finite", name, value))
        .when(rsi & ((value < 0) | (value > 100)))
        .then(pl.format("{} {} not in [0, 100]", name, value))
        .when(average & (value <= 0))
        .then(pl.format("{} {} must be > 0", name, value))
    )


def check_indicators(
    records: list[Record], *, pattern: re.Pattern[str], interval: str, source: str,
    ingest_id: str,
) -> Checked:  # fmt: skip
    """Indicator records -> silver ``indicators`` rows (long form) and quarantined rows.

    Args:
        records: The records of one object.
        pattern: Valid symbols (``sources.s3_json.symbol_pattern``).
        interval: The interval of records without an ``interval`` field.
        source: The source name (a silver column).
        ingest_id: The delivery the records came from.

    Returns:
        The checked rows.
    """
    names = ("source_row", "symbol", "ts", "interval", "name", "value", *(f"p:{r}" for r in
             _READ_RULES))  # fmt: skip
    columns: dict[str, list[Any]] = {c: [] for c in names}

    def add(
        record: Record,
        head: _Head,
        *,
        every: str,
        name: str | None = None,
        value: float | None = None,
        problems: dict[str, str] | None = None,
    ) -> None:
        row = (record.source_row, head.symbol, head.ts, every, name, value)
        for c, v in zip(names[:6], row, strict=True):
            columns[c].append(v)
        for r in _READ_RULES:
            columns[f"p:{r}"].append((problems or {}).get(r))

    for record in records:
        head = _head(record, pattern)
        given = head.obj.get("interval")
        every = given if isinstance(given, str) and given else interval
        skip = {"symbol", "interval", head.time_field}
        fields = {k: v for k, v in head.obj.items() if k not in skip and v is not None}
        if head.obj and not fields:
            head.problems.setdefault("record.malformed", "lacks every indicator value")
        if head.problems:  # the whole record is wrong: one quarantined row
            add(record, head, every=every, problems=head.problems)
            continue
        for key, raw_value in fields.items():
            try:
                add(record, head, every=every, name=key.lower(), value=parse_number(raw_value))
            except ValueError as exc:
                bad = {"value.unparseable": f"{key} {exc}"}
                add(record, head, every=every, name=key.lower(), problems=bad)
    frame = pl.DataFrame(
        columns,
        schema={"source_row": pl.Int64, "symbol": pl.String, "ts": pl.Int64,
                "interval": pl.String, "name": pl.String, "value": pl.Float64}
        | {f"p:{r}": pl.String for r in _READ_RULES},
    )  # fmt: skip
    checks = _read_checks(frame) | {"indicator.range": _indicator_range()}
    judged = _judge(frame, checks, ["symbol", "interval", "ts", "name"])
    silver = (
        judged.filter(pl.col("rule_id").is_null())
        .sort("symbol", "interval", "name", "ts")
        .select(
            _ts(), "symbol", "interval", "name", "value",
            pl.lit(source).alias("source"),
            pl.lit(ingest_id).alias("ingest_id"),
            pl.lit(None, pl.String).alias("quality_flags"),
        )
    )  # fmt: skip
    return Checked(
        dataset="indicators",
        rows=silver.to_arrow().cast(schema_of("indicators")),
        quarantined=_quarantine(
            judged.filter(pl.col("rule_id").is_not_null()),
            [r.raw for r in records], [r.source_row for r in records],
            dataset="indicators", ingest_id=ingest_id,
        ),
        flagged_by_rule={},
    )  # fmt: skip


def check_anomalies(
    records: list[Record], *, pattern: re.Pattern[str], source: str, ingest_id: str
) -> Checked:
    """Anomaly records -> silver ``anomalies`` rows and quarantined records.

    Args:
        records: The records of one object.
        pattern: Valid symbols (``sources.s3_json.symbol_pattern``).
        source: The source name (a silver column).
        ingest_id: The delivery the records came from.

    Returns:
        The checked rows.
    """
    names = ("source_row", "symbol", "ts", "kind", "score", "severity", "details")
    columns: dict[str, list[Any]] = {c: [] for c in (*names, *(f"p:{r}" for r in _READ_RULES))}
    for record in records:
        head = _head(record, pattern)
        obj, used = head.obj, {"symbol", head.time_field}
        type_field = next((f for f in TYPE_FIELDS if obj.get(f) not in (None, "")), None)
        if obj and type_field is None:
            head.problems.setdefault("record.malformed", "lacks the anomaly type (" +
                                     "/".join(TYPE_FIELDS) + ")")  # fmt: skip
        kind = obj.get(type_field) if type_field else None
        kind = kind if isinstance(kind, str) or kind is None else json.dumps(kind)
        score_field = next((f for f in SCORE_FIELDS if obj.get(f) is not None), None)
        bad: list[str] = []
        score = _number(obj, score_field, bad) if score_field else None
        if bad:
            head.problems.setdefault("value.unparseable", ", ".join(bad))
        severity = obj.get("severity")
        severity = severity if isinstance(severity, str) or severity is None else json.dumps(
            severity)  # fmt: skip
        used |= {type_field, score_field, "severity"}
        rest = {k: v for k, v in obj.items() if k not in used}
        details = json.dumps(rest, sort_keys=True, ensure_ascii=False) if rest else None
        problems = head.problems
        if "record.malformed" in problems:
            problems = {"record.malformed": problems["record.malformed"]}
        row = (record.source_row, head.symbol, head.ts, kind, score, severity, details)
        for c, v in zip(names, row, strict=True):
            columns[c].append(v)
        for r in _READ_RULES:
            columns[f"p:{r}"].append(problems.get(r))
    frame = pl.DataFrame(
        columns,
        schema={"source_row": pl.Int64, "symbol": pl.String, "ts": pl.Int64, "kind": pl.String,
                "score": pl.Float64, "severity": pl.String, "details": pl.String}
        | {f"p:{r}": pl.String for r in _READ_RULES},
    )  # fmt: skip
    checks = _read_checks(frame)
    # Two anomalies at one time are two findings: no duplicate rule (source_row is unique).
    judged = _judge(frame, checks, ["source_row"])
    silver = (
        judged.filter(pl.col("rule_id").is_null())
        .sort("symbol", "ts", "source_row")
        .select(
            _ts(), "symbol", "kind", "score", "severity", "details",
            pl.lit(source).alias("source"),
            pl.lit(ingest_id).alias("ingest_id"),
            pl.lit(None, pl.String).alias("quality_flags"),
        )
    )  # fmt: skip
    return Checked(
        dataset="anomalies",
        rows=silver.to_arrow().cast(schema_of("anomalies")),
        quarantined=_quarantine(
            judged.filter(pl.col("rule_id").is_not_null()),
            [r.raw for r in records], [r.source_row for r in records],
            dataset="anomalies", ingest_id=ingest_id,
        ),
        flagged_by_rule={},
    )  # fmt: skip
