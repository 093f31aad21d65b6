"""Alpha Vantage REST JSON: daily and weekly adjusted time series.

``client`` calls the API within its rate limits (never writes the lake), ``parse`` tells data
from errors in disguise and turns a series into rows (pure), ``sample`` writes deterministic
payloads in the documented shapes. Composition with the lake lives in
``marketlake.ingest_alphavantage``.
"""

from marketlake.sources.alphavantage.parse import (
    FUNCTIONS,
    INTERVAL,
    SERIES_KEY,
    SOURCE,
    Function,
    ParsedSeries,
    Reply,
    SeriesInfo,
    classify_reply,
    parse_series,
    read_series_info,
)

__all__ = [
    "FUNCTIONS",
    "INTERVAL",
    "SERIES_KEY",
    "SOURCE",
    "Function",
    "ParsedSeries",
    "Reply",
    "SeriesInfo",
    "classify_reply",
    "parse_series",
    "read_series_info",
]
