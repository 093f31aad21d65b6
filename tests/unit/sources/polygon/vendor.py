"""Flat files in the vendor's exact format, built in the test (the package's sample writers)."""

from __future__ import annotations

from marketlake.sources.polygon.sample import HEADERS, T0, agg, gz, quote, trade

__all__ = ["HEADERS", "T0", "agg", "gz", "quote", "trade"]
