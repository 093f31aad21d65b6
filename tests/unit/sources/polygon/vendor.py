"""Flat files in the vendor's exact format (header order, quoting, gzip), built in the test."""

from __future__ import annotations

import gzip

HEADERS = {
    "trades_v1": "ticker,conditions,correction,exchange,id,participant_timestamp,price,"
    "sequence_number,sip_timestamp,size,tape,trf_id,trf_timestamp",
    "quotes_v1": "ticker,ask_exchange,ask_price,ask_size,bid_exchange,bid_price,bid_size,"
    "conditions,indicators,participant_timestamp,sequence_number,sip_timestamp,tape,"
    "trf_timestamp",
    "minute_aggs_v1": "ticker,volume,open,close,high,low,window_start,transactions",
    "day_aggs_v1": "ticker,volume,open,close,high,low,window_start,transactions",
}
T0 = 1_704_205_800_000_000_000  # 2024-01-02 14:30:00 UTC (09:30 New York)


def gz(kind: str, lines: list[str]) -> bytes:
    """A ``.csv.gz`` with the kind's header and the given data lines."""
    return gzip.compress(("\n".join([HEADERS[kind], *lines]) + "\n").encode())


def trade(ticker: str, price: str, size: str, *, ts: int = T0, cond: str = '"12,37"') -> str:
    """One trades_v1 line (conditions quoted, as the vendor writes a list)."""
    return f"{ticker},{cond},0,4,id{ts % 1000},{ts - 5},{price},{ts % 997},{ts},{size},3,,"


def quote(ticker: str, bid: str, ask: str, *, ts: int = T0) -> str:
    """One quotes_v1 line."""
    return f"{ticker},11,{ask},3,12,{bid},2,1,,{ts - 5},{ts % 997},{ts},3,"


def agg(ticker: str, o: float, h: float, low: float, c: float, *, vol: str = "100",
        ts: int = T0, n: str = "5") -> str:  # fmt: skip
    """One aggregates line: volume, open, CLOSE, HIGH, low, window_start, transactions."""
    return f"{ticker},{vol},{o},{c},{h},{low},{ts},{n}"
