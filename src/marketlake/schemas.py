"""Canonical Arrow schemas of the silver datasets and typed identifiers.

Every timestamp is UTC in nanoseconds (``timestamp[ns, UTC]``); every row carries the ``ingest_id``
of the bronze file it came from, so re-processing that file replaces exactly its own rows.
"""

from __future__ import annotations

from typing import Literal, NewType

import pyarrow as pa

IngestId = NewType("IngestId", str)
RunId = NewType("RunId", str)
Dataset = Literal[
    "bars",
    "trades",
    "quotes",
    "bars_info",
    "instruments",
    "continuous",
    "continuous_rolls",
    "indicators",
    "anomalies",
    "symbols",
]

TS = pa.timestamp("ns", tz="UTC")

BARS = pa.schema(
    [
        pa.field("ts_event", TS, nullable=False),  # bar open time
        pa.field("session_date", pa.date32(), nullable=False),  # exchange-local trading date
        pa.field("interval", pa.string(), nullable=False),  # 1m, 1d, 1w
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("open", pa.float64(), nullable=False),
        pa.field("high", pa.float64(), nullable=False),
        pa.field("low", pa.float64(), nullable=False),
        pa.field("close", pa.float64(), nullable=False),
        pa.field("volume", pa.float64()),  # float: vendors deliver fractional sizes
        pa.field("vwap", pa.float64()),
        pa.field("trade_count", pa.int64()),
        pa.field("adj_close", pa.float64()),
        pa.field("dividend", pa.float64()),
        pa.field("split_factor", pa.float64()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("ingest_id", pa.string(), nullable=False),
        pa.field("quality_flags", pa.string()),  # comma-separated WARNING rule ids, null if none
    ]
)

TRADES = pa.schema(
    [
        pa.field("ts_event", TS, nullable=False),
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("price", pa.float64(), nullable=False),
        pa.field("size", pa.float64(), nullable=False),
        pa.field("exchange", pa.string()),
        pa.field("conditions", pa.list_(pa.string())),
        pa.field("trade_id", pa.string()),
        pa.field("sequence", pa.int64()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("ingest_id", pa.string(), nullable=False),
        pa.field("quality_flags", pa.string()),
    ]
)

QUOTES = pa.schema(
    [
        pa.field("ts_event", TS, nullable=False),
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("bid_price", pa.float64()),
        pa.field("bid_size", pa.float64()),
        pa.field("ask_price", pa.float64()),
        pa.field("ask_size", pa.float64()),
        pa.field("bid_exchange", pa.string()),
        pa.field("ask_exchange", pa.string()),
        pa.field("conditions", pa.list_(pa.string())),
        pa.field("spread", pa.float64()),  # ask - bid; null unless both sides are quoted (> 0)
        pa.field("mid", pa.float64()),  # (ask + bid) / 2; null unless both sides are quoted
        pa.field("source", pa.string(), nullable=False),
        pa.field("ingest_id", pa.string(), nullable=False),
        pa.field("quality_flags", pa.string()),
    ]
)

BARS_INFO = pa.schema(
    [
        pa.field("ts_start", TS, nullable=False),
        pa.field("ts_end", TS, nullable=False),
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # time, tick, volume, dollar, imbalance
        # the run's parameter: ticks, volume, dollars, E0[T] ticks (imbalance), seconds (time)
        pa.field("threshold", pa.float64(), nullable=False),
        pa.field("open", pa.float64(), nullable=False),
        pa.field("high", pa.float64(), nullable=False),
        pa.field("low", pa.float64(), nullable=False),
        pa.field("close", pa.float64(), nullable=False),
        pa.field("volume", pa.float64(), nullable=False),
        pa.field("dollar_value", pa.float64(), nullable=False),
        pa.field("vwap", pa.float64()),  # null when the bar's volume is 0 (zero-size trades)
        pa.field("tick_count", pa.int64(), nullable=False),
        # false only on a symbol's last bar, still open when the trades ran out
        pa.field("complete", pa.bool_(), nullable=False),
        # what this bar closed against: = threshold, or E[T]*|E[b*v]| (imbalance); null (time)
        pa.field("bar_threshold", pa.float64()),
        pa.field("source", pa.string(), nullable=False),  # the trades' source: hdf5:tick/trades
    ]
)

INSTRUMENTS = pa.schema(
    [
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("root", pa.string()),
        pa.field("asset_class", pa.string()),
        pa.field("venue", pa.string()),
        pa.field("currency", pa.string()),
        pa.field("multiplier", pa.float64()),
        pa.field("tick_size", pa.float64()),
        pa.field("expiry", TS),
    ]
)

# Technical indicators delivered by a source (JSON records in S3), long form: one row per
# symbol x interval x time x indicator name (rsi, macd, macd_signal, sma_20, ...), so any
# indicator a producer adds arrives without a schema change.
INDICATORS = pa.schema(
    [
        pa.field("ts_event", TS, nullable=False),
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("interval", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),  # lower case: rsi, macd, sma_20, ...
        pa.field("value", pa.float64(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("ingest_id", pa.string(), nullable=False),
        pa.field("quality_flags", pa.string()),
    ]
)

# Anomalies reported by another system (JSON records in S3); gold computes its own as well.
ANOMALIES = pa.schema(
    [
        pa.field("ts_event", TS, nullable=False),
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # the producer's anomaly type / rule
        pa.field("score", pa.float64()),  # its score or measured value, when given
        pa.field("severity", pa.string()),
        pa.field("details", pa.string()),  # every other field of the record, as JSON text
        pa.field("source", pa.string(), nullable=False),
        pa.field("ingest_id", pa.string(), nullable=False),
        pa.field("quality_flags", pa.string()),
    ]
)

# Reference data of symbols (name, sector, ...), as of ts_event (the delivery's as-of time).
# Gold keeps its history as SCD type 2 (dbt snapshot -> dim_symbol).
SYMBOLS = pa.schema(
    [
        pa.field("ts_event", TS, nullable=False),  # as-of time of this description
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("asset_class", pa.string()),  # equity, etf, index, future, crypto, fx
        pa.field("exchange", pa.string()),
        pa.field("currency", pa.string()),
        pa.field("sector", pa.string()),
        pa.field("industry", pa.string()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("ingest_id", pa.string(), nullable=False),
        pa.field("quality_flags", pa.string()),
    ]
)

QUARANTINE = pa.schema(
    [
        pa.field("dataset", pa.string(), nullable=False),
        pa.field("ingest_id", pa.string(), nullable=False),
        pa.field("source_row", pa.int64()),  # 1-based line/row number in the bronze file
        pa.field("symbol", pa.string()),
        pa.field("rule_id", pa.string(), nullable=False),  # the first ERROR rule the row broke
        pa.field("severity", pa.string(), nullable=False),
        pa.field("message", pa.string(), nullable=False),  # every rule the row broke, explained
        pa.field("raw", pa.string(), nullable=False),  # the original row as JSON text
    ]
)

# Continuous futures (marketlake.bars.continuous): one row per session per (symbol, roll_rule,
# adjustment, source) variant; variants sit side by side, so readers filter on those columns.
CONTINUOUS = pa.schema(
    [
        pa.field("ts_event", TS, nullable=False),  # session open (exchange calendar), UTC
        pa.field("session_date", pa.date32(), nullable=False),  # the date the session closes on
        pa.field("symbol", pa.string(), nullable=False),  # the root: ES
        pa.field("contract", pa.string()),  # ESH24; null when the trades had no contract column
        pa.field("open", pa.float64(), nullable=False),  # open..close adjusted per `adjustment`
        pa.field("high", pa.float64(), nullable=False),
        pa.field("low", pa.float64(), nullable=False),
        pa.field("close", pa.float64(), nullable=False),
        pa.field("raw_close", pa.float64(), nullable=False),  # the contract's traded close
        pa.field("volume", pa.float64(), nullable=False),  # the contract's, not the root's
        pa.field("trade_count", pa.int64(), nullable=False),
        pa.field("adjustment", pa.string(), nullable=False),  # difference, ratio, none
        pa.field("roll_rule", pa.string(), nullable=False),  # volume, days:N, none
        pa.field("source", pa.string(), nullable=False),  # the trades' source
    ]
)

CONTINUOUS_ROLLS = pa.schema(
    [
        pa.field("ts_event", TS, nullable=False),  # roll session open, UTC
        pa.field("roll_date", pa.date32(), nullable=False),  # first session on the new contract
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("from_contract", pa.string(), nullable=False),
        pa.field("to_contract", pa.string(), nullable=False),
        pa.field("from_close", pa.float64(), nullable=False),
        # the session of from_close: roll_date, unless the two never traded on one session
        pa.field("from_close_date", pa.date32(), nullable=False),
        pa.field("to_close", pa.float64(), nullable=False),
        pa.field("gap", pa.float64(), nullable=False),  # to_close - from_close
        pa.field("ratio", pa.float64(), nullable=False),  # to_close / from_close
        pa.field("from_volume", pa.float64()),
        pa.field("to_volume", pa.float64()),
        pa.field("trigger", pa.string(), nullable=False),  # crossover, last_day, days, ...
        pa.field("rule", pa.string(), nullable=False),  # volume, days:N
        pa.field("source", pa.string(), nullable=False),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {
    "bars": BARS,
    "trades": TRADES,
    "quotes": QUOTES,
    "bars_info": BARS_INFO,
    "instruments": INSTRUMENTS,
    "continuous": CONTINUOUS,
    "continuous_rolls": CONTINUOUS_ROLLS,
    "indicators": INDICATORS,
    "anomalies": ANOMALIES,
    "symbols": SYMBOLS,
}


def schema_of(dataset: str) -> pa.Schema:
    """The canonical schema of a silver dataset.

    Raises:
        KeyError: ``dataset`` is not a silver dataset.
    """
    return SCHEMAS[dataset]
