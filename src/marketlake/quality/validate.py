"""Apply the bar rules to parsed rows: split them into silver rows and quarantined rows.

Columnar throughout (Polars expressions, no per-row Python). Every row that comes in goes out
exactly once: either valid (possibly flagged) or quarantined with its rule and original text.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from marketlake.config import QualitySettings
from marketlake.quality.rules import ERROR_ORDER, RULES
from marketlake.schemas import BARS, QUARANTINE

PRICES = ("open", "high", "low", "close")


@dataclass(frozen=True)
class Validated:
    """The outcome of validating one delivery."""

    rows: pa.Table  # canonical silver rows
    quarantined: pa.Table  # QUARANTINE schema
    flagged_by_rule: dict[str, int]

    @property
    def rows_in(self) -> int:
        """Rows that came in: always rows + quarantined."""
        return int(self.rows.num_rows + self.quarantined.num_rows)


def _error_checks(required: tuple[str, ...], q: QualitySettings) -> dict[str, pl.Expr]:
    """rule id -> expression giving a message when the row breaks the rule, else null."""
    lo, hi = q.price_min, q.price_max
    missing = [pl.when(pl.col(c).is_null()).then(pl.lit(c)) for c in required]
    out_of_range = [
        pl.when((pl.col(c) <= lo) | (pl.col(c) >= hi) | pl.col(c).is_nan()).then(
            pl.format("{} {}", pl.lit(c), pl.col(c))
        )
        for c in PRICES
    ]
    top = pl.max_horizontal("open", "close", "low")
    bottom = pl.min_horizontal("open", "close", "high")
    return {
        "value.missing": pl.when(pl.any_horizontal([m.is_not_null() for m in missing])).then(
            pl.concat_str(missing, separator=", ", ignore_nulls=True) + pl.lit(" is null")
        ),
        "price.range": pl.when(pl.any_horizontal([r.is_not_null() for r in out_of_range])).then(
            pl.concat_str(out_of_range, separator=", ", ignore_nulls=True)
            + pl.lit(f" not in ({lo:g}, {hi:g})")
        ),
        "ohlc.inconsistent": pl.when((pl.col("high") < top) | (pl.col("low") > bottom)).then(
            pl.format(
                "open {} high {} low {} close {}: high must be the highest, low the lowest",
                *PRICES,
            )
        ),
        "volume.negative": pl.when(pl.col("volume") < 0).then(
            pl.format("volume {} < 0", pl.col("volume"))
        ),
    }


def _first_rule(messages: dict[str, pl.Expr]) -> pl.Expr:
    expr: pl.Expr = pl.lit(None, pl.String)
    for rule_id in reversed([r for r in ERROR_ORDER if r in messages]):
        expr = pl.when(messages[rule_id].is_not_null()).then(pl.lit(rule_id)).otherwise(expr)
    return expr


def validate_bars(
    parsed: pl.DataFrame,
    *,
    dataset: str,
    source: str,
    interval: str,
    ingest_id: str,
    quality: QualitySettings,
    required: tuple[str, ...] = ("open", "high", "low", "close", "volume"),
) -> Validated:
    """Validate parsed bar rows.

    Args:
        parsed: Rows from a source parser: source_row, raw, symbol, session_date, ts_event,
            open/high/low/close/adj_close/volume, parse_rule, parse_message.
        dataset: The silver dataset these rows are for (recorded in quarantine).
        source: The source name (a silver column).
        interval: The bar interval (``1d``).
        ingest_id: The delivery the rows came from.
        quality: Rule thresholds.
        required: Columns that must not be null.

    Returns:
        Silver rows (canonical ``BARS`` schema), quarantined rows and WARNING counts.
    """
    checks = _error_checks(required, quality)
    # A line that did not parse is explained by its parse error alone; others by every rule broken.
    check_messages = pl.concat_str(
        [pl.format("{}: {}", pl.lit(rule), message) for rule, message in checks.items()],
        separator="; ",
        ignore_nulls=True,
    )
    # One lazy plan, collected once for both outputs (each eager step would cost a collect).
    with_rules = parsed.lazy().with_columns(
        pl.coalesce(pl.col("parse_rule"), _first_rule(checks)).alias("rule_id"),
        pl.coalesce(pl.col("parse_message"), check_messages).alias("message"),
    )
    # Duplicate dates among otherwise valid rows: the last line of the file wins.
    ok = pl.col("rule_id").is_null()
    keep_row = pl.col("source_row").filter(ok).max().over(["symbol", "session_date"])
    with_rules = with_rules.with_columns(
        pl.when(ok & (pl.col("source_row") != keep_row))
        .then(pl.lit("date.duplicate"))
        .otherwise(pl.col("rule_id"))
        .alias("rule_id"),
        pl.when(ok & (pl.col("source_row") != keep_row))
        .then(
            pl.format("date {} appears again at line {}, which is kept", "session_date", keep_row)
        )
        .otherwise(pl.col("message"))
        .alias("message"),
    )
    bad = with_rules.filter(pl.col("rule_id").is_not_null())
    good = with_rules.filter(pl.col("rule_id").is_null()).sort("symbol", "session_date")

    window, factor = quality.jump_window, quality.jump_factor
    median = pl.col("close").rolling_median(window, center=True, min_samples=1).over("symbol")
    ratio = pl.col("close") / median
    flags = {
        "volume.zero": pl.col("volume") == 0,
        "price.jump": (ratio >= factor) | (ratio <= 1 / factor),
    }
    joined_flags = pl.concat_str(
        [pl.when(expr).then(pl.lit(rule)) for rule, expr in flags.items()],
        separator=",",
        ignore_nulls=True,
    )
    good = good.with_columns(
        pl.when(joined_flags != "").then(joined_flags).alias("quality_flags"),
    )
    silver_plan = good.select(
        "ts_event",
        "session_date",
        pl.lit(interval).alias("interval"),
        "symbol",
        *PRICES,
        "volume",
        pl.lit(None, pl.Float64).alias("vwap"),
        pl.lit(None, pl.Int64).alias("trade_count"),
        "adj_close",
        pl.lit(None, pl.Float64).alias("dividend"),
        pl.lit(None, pl.Float64).alias("split_factor"),
        pl.lit(source).alias("source"),
        pl.lit(ingest_id).alias("ingest_id"),
        "quality_flags",
    )
    quarantine_plan = bad.select(
        pl.lit(dataset).alias("dataset"),
        pl.lit(ingest_id).alias("ingest_id"),
        "source_row",
        "symbol",
        "rule_id",
        pl.lit("ERROR").alias("severity"),
        "message",
        "raw",
    ).sort("source_row")
    silver, quarantined = pl.collect_all([silver_plan, quarantine_plan])
    flagged = silver.select(
        pl.col("quality_flags").str.contains(rule, literal=True).sum().alias(rule) for rule in flags
    ).row(0, named=True)
    assert set(quarantined["rule_id"]) <= set(RULES)
    return Validated(
        rows=silver.to_arrow().cast(BARS),
        quarantined=quarantined.to_arrow().cast(QUARANTINE),
        flagged_by_rule={k: v for k, v in flagged.items() if v},
    )
