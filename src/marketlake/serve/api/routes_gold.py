"""Routes over gold marts: symbols, aggregates, indicators, anomalies, information bars."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query

from marketlake.serve import queries
from marketlake.serve.api.deps import (
    Ctx,
    SymbolPath,
    day_range,
    decode_cursor,
    encode_cursor,
    unknown_symbol,
)
from marketlake.serve.api.models import Aggregate, Anomaly, BarsInfoPage, Indicator, Symbol
from marketlake.serve.gold import MartMissingError

router = APIRouter(tags=["gold"])

BarKind = Literal["tick", "volume", "dollar"]
From = Annotated[str | None, Query(alias="from", description="First day, YYYY-MM-DD.")]
To = Annotated[str | None, Query(alias="to", description="Last day (included), YYYY-MM-DD.")]


@contextmanager
def _as_http() -> Iterator[None]:
    """The read layer's lookups as 404s: an unknown symbol, or gold not built yet."""
    try:
        yield
    except queries.UnknownSymbolError as exc:
        raise unknown_symbol(exc.symbol) from exc
    except MartMissingError as exc:
        raise HTTPException(
            404, detail=f"gold has no {exc.model} yet — run `marketlake build` first"
        ) from exc


@router.get("/symbols", response_model=list[Symbol], summary="Symbols served, with coverage")
def get_symbols(ctx: Ctx) -> list[dict[str, Any]]:
    """Current rows of ``dim_symbol``: reference data and daily-bar coverage."""
    with _as_http():
        return queries.records(queries.current_symbols(ctx.gold))


@router.get("/aggregates/{symbol}", response_model=list[Aggregate], summary="Period aggregates")
def get_aggregates(
    ctx: Ctx,
    symbol: SymbolPath,
    period: queries.Period = "monthly",
    start: From = None,
    end: To = None,
) -> list[dict[str, Any]]:
    """Daily bars rolled up by week, month, quarter or year (``agg_bars_<period>``);
    ``from``/``to`` select on the period's start."""
    first, last = day_range(start, end)
    with _as_http():
        return queries.records(queries.aggregates(ctx.gold, symbol, period, first, last))


@router.get("/indicators/{symbol}", response_model=list[Indicator], summary="Daily indicators")
def get_indicators(
    ctx: Ctx, symbol: SymbolPath, start: From = None, end: To = None
) -> list[dict[str, Any]]:
    """Returns, volatility, z-scores, moving averages, RSI and MACD per session."""
    first, last = day_range(start, end)
    with _as_http():
        return queries.records(queries.indicators(ctx.gold, symbol, first, last))


@router.get("/anomalies/{symbol}", response_model=list[Anomaly], summary="Flagged sessions")
def get_anomalies(
    ctx: Ctx, symbol: SymbolPath, start: From = None, end: To = None
) -> list[dict[str, Any]]:
    """Return outliers, volume spikes, gaps and stale prices (``fct_anomalies``)."""
    first, last = day_range(start, end)
    with _as_http():
        return queries.records(queries.anomalies(ctx.gold, symbol, first, last))


@router.get("/bars-info/{symbol}", response_model=BarsInfoPage, summary="Tick/volume/dollar bars")
def get_bars_info(
    *,
    ctx: Ctx,
    symbol: SymbolPath,
    kind: BarKind | None = None,
    start: From = None,
    end: To = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
    limit: Annotated[int | None, Query(ge=1, description="Rows per page.")] = None,
) -> dict[str, Any]:
    """Information-driven bars built from trades (``fct_bars_info``), in series and bar order."""
    first, last = day_range(start, end)
    offset = decode_cursor(cursor, 1)[0] if cursor else 0
    with _as_http():
        frame = queries.bars_info(ctx.gold, symbol, kind, first, last)
    api = ctx.settings.api
    size = min(limit or api.page_size, api.max_page_size)
    page = frame.slice(offset, size)
    more = offset + page.height < frame.height
    return {
        "symbol": symbol,
        "count": page.height,
        "next_cursor": encode_cursor(offset + page.height) if more else None,
        "rows": queries.records(page),
    }
