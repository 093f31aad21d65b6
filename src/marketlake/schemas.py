"""Canonical Arrow schemas of the silver datasets and typed identifiers.

Every timestamp is UTC in nanoseconds (``timestamp[ns, UTC]``); every row carries the ``ingest_id``
of the bronze file it came from, so re-processing that file replaces exactly its own rows.
"""

from __future__ import annotations

from typing import Literal, NewType

import pyarrow as pa

IngestId = NewType("IngestId", str)
RunId = NewType("RunId", str)
Dataset = Literal["bars", "trades", "quotes", "bars_info", "instruments"]

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
        pa.field("kind", pa.string(), nullable=False),  # tick, volume, dollar, imbalance
        pa.field("threshold", pa.float64(), nullable=False),
        pa.field("open", pa.float64(), nullable=False),
        pa.field("high", pa.float64(), nullable=False),
        pa.field("low", pa.float64(), nullable=False),
        pa.field("close", pa.float64(), nullable=False),
        pa.field("volume", pa.float64(), nullable=False),
        pa.field("dollar_value", pa.float64(), nullable=False),
        pa.field("vwap", pa.float64(), nullable=False),
        pa.field("tick_count", pa.int64(), nullable=False),
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

SCHEMAS: dict[str, pa.Schema] = {
    "bars": BARS,
    "trades": TRADES,
    "quotes": QUOTES,
    "bars_info": BARS_INFO,
    "instruments": INSTRUMENTS,
}


def schema_of(dataset: str) -> pa.Schema:
    """The canonical schema of a silver dataset.

    Raises:
        KeyError: ``dataset`` is not a silver dataset.
    """
    return SCHEMAS[dataset]
