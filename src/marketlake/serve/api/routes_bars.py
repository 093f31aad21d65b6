"""``/bars/{symbol}``: silver bars through the loader, paged by an opaque cursor."""

from __future__ import annotations

from typing import Annotated

import polars as pl
from fastapi import APIRouter, Header, Query, Response

from marketlake.serve.api.deps import (
    Context,
    Ctx,
    SymbolPath,
    check_interval,
    decode_cursor,
    encode_cursor,
    known_symbols,
    parse_range,
    unknown_symbol,
)
from marketlake.serve.api.formats import BINARY_CONTENT, Format, choose_format, table_response
from marketlake.serve.api.models import BarsPage
from marketlake.serve.loader import read_bars
from marketlake.serve.partitions import list_files

router = APIRouter(tags=["bars"])


def _has_bars(ctx: Context, symbol: str) -> bool:
    if symbol in known_symbols(ctx):
        return True
    return bool(list_files(ctx.lake, "bars", [symbol], None))


@router.get(
    "/bars/{symbol}",
    response_model=BarsPage,
    responses={200: {"content": BINARY_CONTENT}},
    summary="Bars of one symbol (JSON, CSV, Arrow IPC or Parquet)",
)
def get_bars(
    *,
    ctx: Ctx,
    symbol: SymbolPath,
    interval: Annotated[str, Query(description="Bar interval: 1m, 5m, 1h, 1d, 1w...")] = "1d",
    start: Annotated[
        str | None, Query(alias="from", description="First day (YYYY-MM-DD) or instant.")
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", description="Last day (included) or instant (excluded).")
    ] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
    limit: Annotated[int | None, Query(ge=1, description="Rows per page.")] = None,
    fmt: Annotated[
        Format | None, Query(alias="format", description="Overrides the Accept header.")
    ] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """Bars in time order. A date bound selects sessions (``to`` included); an instant bounds
    ``ts_event``. Non-JSON formats carry the next cursor in the ``X-Next-Cursor`` header."""
    check_interval(interval)
    parse_range(start, end)  # 422 on bad bounds before touching the lake
    api = ctx.settings.api
    size = min(limit or api.page_size, api.max_page_size)
    after = decode_cursor(cursor, 2) if cursor else None
    if not _has_bars(ctx, symbol):
        raise unknown_symbol(symbol)
    frame = read_bars(symbol, start, end, interval=interval, settings=ctx.settings)
    frame = frame.with_row_index("_i")
    if after is not None:
        # (last ts_event, rows at that instant already served): exact with duplicate instants.
        ts_ns, seen = after
        stamp = pl.col("ts_event").dt.epoch("ns")
        same = frame.filter(stamp == ts_ns)
        first = int(same["_i"][0]) + seen if same.height else None
        if first is None:
            frame = frame.filter(stamp > ts_ns)
        else:
            frame = frame.filter(pl.col("_i") >= first)
    page = frame.head(size + 1)
    more = page.height > size
    page = page.head(size).drop("_i")
    next_cursor = None
    if more and page.height:
        stamps = page["ts_event"].dt.epoch("ns")
        last_ns = int(stamps[-1])
        served = int((stamps == last_ns).sum())
        if after is not None and after[0] == last_ns:  # the whole page sat on one instant
            served += after[1]
        next_cursor = encode_cursor(last_ns, served)
    fmt_ = choose_format(fmt, accept)
    return table_response(
        page, fmt_, envelope={"symbol": symbol, "interval": interval}, next_cursor=next_cursor
    )
