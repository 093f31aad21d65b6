"""Serving silver to users: the cached backtest loader (``marketlake.read_bars`` ...)."""

from marketlake.serve.adjust import adjust_bars
from marketlake.serve.cache import CacheInfo
from marketlake.serve.loader import (
    cache_clear,
    cache_info,
    read_bars,
    read_quotes,
    read_trades,
    scan_bars,
    scan_quotes,
    scan_trades,
)

__all__ = [
    "CacheInfo",
    "adjust_bars",
    "cache_clear",
    "cache_info",
    "read_bars",
    "read_quotes",
    "read_trades",
    "scan_bars",
    "scan_quotes",
    "scan_trades",
]
