"""Rules for parsed flat files, and the canonical silver rows. Pure: frames in, tables out.

Columnar (Polars expressions, no per-row Python). Every parsed row ends up exactly once either in
silver (possibly flagged) or in quarantine with the first ERROR rule it broke (catalogue order in
``marketlake.quality.rules``) and a message naming every rule it broke.

Decisions:
- Prices must be > 0 and below ``price_max`` (not ``quality.price_min``: crypto trades well below
  one cent). A quote side of 0 means "no bid/ask", so quotes only reject negative prices.
- A crossed quote (ask < bid, both sides quoted) is a WARNING (``quote.crossed``): across venues it
  happens for milliseconds in real markets; the row is kept, its spread is negative.
- ``spread``/``mid`` are null unless both sides are quoted (> 0).
- Bars' ``session_date``: the New York date of ``window_start``; UTC for ``X:``/``C:`` tickers
  (crypto and forex days are UTC days).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from marketlake.schemas import QUARANTINE, schema_of
from marketlake.sources.polygon.parse import RAW_PREFIX, raw_json

# The catalogue order of ERROR rules this module uses (see marketlake.quality.rules).
_ORDER = (
    "value.unparseable",
    "value.missing",
    "price.range",
    "ohlc.inconsistent",
    "volume.negative",
    "ts.invalid",
    "size.invalid",
)
EXCHANGE_TZ = "America/New_York"


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


@dataclass(frozen=True)
class _Rule:
    """A rule as (broken?, what to say) parts: the test is cheap, the text is built only for
    the rows that break it (polars evaluates both branches of ``when`` on every row)."""

    parts: tuple[tuple[pl.Expr, pl.Expr], ...]
    suffix: str = ""

    def broken(self) -> pl.Expr:
        """True where the row breaks the rule (never null)."""
        if not self.parts:
            return pl.lit(False)
        return pl.any_horizontal([test.fill_null(False) for test, _ in self.parts])

    def message(self) -> pl.Expr:
        """The message of a row that breaks the rule, else null."""
        if not self.parts:
            return pl.lit(None, pl.String)
        texts = [pl.when(test).then(text) for test, text in self.parts]
        return pl.when(self.broken()).then(
            pl.concat_str(texts, separator=", ", ignore_nulls=True) + pl.lit(self.suffix)
        )


def _named(c: str, value: pl.Expr) -> pl.Expr:
    return pl.format("{} {}", pl.lit(c), value)


def _unparseable(columns: list[str], present: set[str]) -> _Rule:
    raw = RAW_PREFIX
    parts = tuple(
        (
            pl.col(c).is_null() & (pl.col(raw + c).str.strip_chars() != ""),
            _named(c, pl.col(raw + c)),
        )
        for c in columns
        if raw + c in present
    )
    return _Rule(parts, " is not a number")


def _missing(columns: list[str], present: set[str]) -> _Rule:
    parts = []
    for c in columns:
        raw = RAW_PREFIX + c
        blank = (
            pl.col(raw).is_null() | (pl.col(raw).str.strip_chars() == "")
            if raw in present
            else pl.lit(True)
        )
        parts.append((pl.col(c).is_null() & blank, pl.lit(c)))
    return _Rule(tuple(parts), " is empty")


def _price_range(columns: list[str], *, low_inclusive: bool, price_max: float) -> _Rule:
    parts = []
    for c in columns:
        low = (pl.col(c) < 0) if low_inclusive else (pl.col(c) <= 0)
        test = low | (pl.col(c) >= price_max) | pl.col(c).is_nan()
        parts.append((test, _named(c, pl.col(c))))
    bound = "[0" if low_inclusive else "(0"
    return _Rule(tuple(parts), f" not in {bound}, {price_max:g})")


def _size_invalid(columns: list[str]) -> _Rule:
    parts = tuple(
        (
            (pl.col(c) < 0) | pl.col(c).is_nan() | pl.col(c).is_infinite(),
            _named(c, pl.col(c)),
        )
        for c in columns
    )
    return _Rule(parts, " must be a number >= 0")


def _rules(kind: str, price_max: float, present: set[str]) -> dict[str, _Rule]:
    """rule id -> the rule's tests and messages."""
    ts = "window_start" if kind.endswith("aggs_v1") else "sip_timestamp"
    ts_rule = _Rule(((pl.col(ts) <= 0, pl.format("{} {} is not a time", pl.lit(ts), ts)),))
    if kind == "trades_v1":
        return {
            "value.unparseable": _unparseable(["price", "size", "sip_timestamp"], present),
            "value.missing": _missing(["ticker", "price", "size", "sip_timestamp"], present),
            "price.range": _price_range(["price"], low_inclusive=False, price_max=price_max),
            "ts.invalid": ts_rule,
            "size.invalid": _size_invalid(["size"]),
        }
    if kind == "quotes_v1":
        numbers = ["bid_price", "ask_price", "bid_size", "ask_size", "sip_timestamp"]
        return {
            "value.unparseable": _unparseable(numbers, present),
            "value.missing": _missing(["ticker", "sip_timestamp"], present),
            "price.range": _price_range(
                ["bid_price", "ask_price"], low_inclusive=True, price_max=price_max
            ),
            "ts.invalid": ts_rule,
            "size.invalid": _size_invalid(["bid_size", "ask_size"]),
        }
    prices = ["open", "high", "low", "close"]
    top = pl.max_horizontal("open", "close", "low")
    bottom = pl.min_horizontal("open", "close", "high")
    all_prices = pl.all_horizontal([pl.col(c).is_not_null() for c in prices])
    ohlc = pl.format(
        "open {} high {} low {} close {}: high must be the highest, low the lowest", *prices
    )
    return {
        "value.unparseable": _unparseable(
            [*prices, "volume", "window_start", "transactions"], present
        ),
        "value.missing": _missing(["ticker", *prices, "window_start"], present),
        "price.range": _price_range(prices, low_inclusive=False, price_max=price_max),
        "ohlc.inconsistent": _Rule(
            ((((pl.col("high") < top) | (pl.col("low") > bottom)) & all_prices, ohlc),)
        ),
        "volume.negative": _Rule(
            ((pl.col("volume") < 0, pl.format("volume {} < 0", pl.col("volume"))),)
        ),
        "ts.invalid": ts_rule,
    }


def _canonical(
    kind: str, source: str, ingest_id: str, *, plain_conditions: bool = False
) -> list[pl.Expr | str]:
    common_tail: list[pl.Expr | str] = [
        pl.lit(source).alias("source"),
        pl.lit(ingest_id).alias("ingest_id"),
        "quality_flags",
    ]
    if plain_conditions:  # no white space or brackets in any row: nothing to strip (~2x faster)
        conditions = (
            pl.when(pl.col("conditions") != "")
            .then(pl.col("conditions").str.split(","))
            .alias("conditions")
        )
    else:
        conditions = (
            pl.when(pl.col("conditions").str.strip_chars(" []") != "")
            .then(pl.col("conditions").str.strip_chars(" []").str.split(",").list.eval(
                pl.element().str.strip_chars()
            ))
            .alias("conditions")
        )  # fmt: skip
    if kind == "trades_v1":
        return [
            _ts("sip_timestamp"),
            pl.col("ticker").alias("symbol"),
            "price",
            "size",
            pl.col("exchange"),
            conditions,
            pl.col("id").alias("trade_id"),
            pl.col("sequence_number").alias("sequence"),
            *common_tail,
        ]
    if kind == "quotes_v1":
        both = (pl.col("bid_price") > 0) & (pl.col("ask_price") > 0)
        return [
            _ts("sip_timestamp"),
            pl.col("ticker").alias("symbol"),
            "bid_price",
            "bid_size",
            "ask_price",
            "ask_size",
            "bid_exchange",
            "ask_exchange",
            conditions,
            pl.when(both).then(pl.col("ask_price") - pl.col("bid_price")).alias("spread"),
            pl.when(both).then((pl.col("ask_price") + pl.col("bid_price")) / 2).alias("mid"),
            *common_tail,
        ]
    ts = _ts("window_start")
    utc_day = pl.col("ticker").str.contains(r"^[XC]:")
    session = (
        pl.when(utc_day)
        .then(ts.dt.date())
        .otherwise(ts.dt.convert_time_zone(EXCHANGE_TZ).dt.date())
        .alias("session_date")
    )
    return [
        ts,
        session,
        pl.lit("1m" if kind == "minute_aggs_v1" else "1d").alias("interval"),
        pl.col("ticker").alias("symbol"),
        "open",
        "high",
        "low",
        "close",
        "volume",
        pl.lit(None, pl.Float64).alias("vwap"),
        pl.col("transactions").alias("trade_count"),
        pl.lit(None, pl.Float64).alias("adj_close"),
        pl.lit(None, pl.Float64).alias("dividend"),
        pl.lit(None, pl.Float64).alias("split_factor"),
        *common_tail,
    ]


def _ts(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Datetime("ns", "UTC")).alias("ts_event")


def check_flat_file(
    parsed: pl.DataFrame,
    *,
    kind: str,
    dataset: str,
    source: str,
    ingest_id: str,
    price_max: float,
    raw_of: Callable[[pl.Series], pl.DataFrame] | None = None,
) -> Checked:
    """Split parsed rows into canonical silver rows and quarantined rows.

    Args:
        parsed: The frame of :func:`marketlake.sources.polygon.parse.read_flat_file` (or a
            chunk of :func:`~marketlake.sources.polygon.parse.iter_flat_file`).
        kind: The flat-file kind (``trades_v1``...).
        dataset: The silver dataset (``trades``, ``quotes``, ``bars``).
        source: The source name (a silver column).
        ingest_id: The delivery the rows came from.
        price_max: Prices must be below this (``quality.price_max``).
        raw_of: When ``parsed`` has no ``_raw_`` columns (every value converted): gives them
            for the rows at the given ``source_row`` numbers, for the quarantined rows' text.

    Returns:
        The checked rows.
    """
    rules = _rules(kind, price_max, set(parsed.columns))
    first: pl.Expr = pl.lit(None, pl.String)
    for rule_id in reversed([r for r in _ORDER if r in rules]):
        first = pl.when(rules[rule_id].broken()).then(pl.lit(rule_id)).otherwise(first)
    message = pl.concat_str(
        [pl.format("{}: {}", pl.lit(rule), r.message()) for rule, r in rules.items()],
        separator="; ",
        ignore_nulls=True,
    )
    plain = (
        kind in ("trades_v1", "quotes_v1")
        and not parsed.select(pl.col("conditions").str.contains(r"[\s\[\]]").any()).item()
    )
    # Rule ids and messages are text per row: built for the quarantined rows only.
    broken = pl.any_horizontal([r.broken() for r in rules.values()]) if rules else pl.lit(False)
    plan = parsed.lazy().with_columns(broken.alias("_broken"))
    flags: dict[str, pl.Expr] = {}
    if kind == "trades_v1":
        flags["size.zero"] = pl.col("size") == 0
    elif kind == "quotes_v1":
        flags["quote.crossed"] = ((pl.col("bid_price") > 0) & (pl.col("ask_price") > 0)) & (
            pl.col("ask_price") < pl.col("bid_price")
        )
    else:
        flags["volume.zero"] = pl.col("volume") == 0
    if len(flags) == 1:  # the usual case: the flag's name or null, no joining
        ((name, test),) = flags.items()
        quality_flags = pl.when(test).then(pl.lit(name))
    else:
        joined = pl.concat_str(
            [pl.when(e).then(pl.lit(r)) for r, e in flags.items()], separator=",", ignore_nulls=True
        )
        quality_flags = pl.when(joined != "").then(joined)
    good = (
        plan.filter(~pl.col("_broken"))
        .with_columns(quality_flags.alias("quality_flags"))
        .select(_canonical(kind, source, ingest_id, plain_conditions=plain))
    )
    rejected = plan.filter(pl.col("_broken")).with_columns(first.alias("rule_id"))
    silver, bad = pl.collect_all([good, rejected.drop("_broken")])
    # Eager on the (few) bad rows, rechunked: polars 2.1 panics ("i < self.len()") on these
    # string expressions over the string views a filter leaves behind.
    bad = bad.rechunk()
    if raw_of is not None and bad.height and not any(c.startswith(RAW_PREFIX) for c in bad.columns):
        bad = bad.hstack(raw_of(bad["source_row"]))
    quarantined = bad.select(
        pl.lit(dataset).alias("dataset"),
        pl.lit(ingest_id).alias("ingest_id"),
        "source_row",
        pl.col("ticker").alias("symbol"),
        "rule_id",
        pl.lit("ERROR").alias("severity"),
        message.alias("message"),
        raw_json(bad.columns).alias("raw"),
    )
    counts = silver.select(
        pl.col("quality_flags").str.contains(r, literal=True).sum().alias(r) for r in flags
    ).row(0, named=True)
    return Checked(
        dataset=dataset,
        rows=silver.to_arrow().cast(schema_of(dataset)),
        quarantined=quarantined.to_arrow().cast(QUARANTINE),
        flagged_by_rule={k: int(v) for k, v in counts.items() if v},
    )
