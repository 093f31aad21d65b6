"""Routes over gold marts: symbols, aggregates, indicators, anomalies, information bars."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, HTTPException, Query

from marketlake.serve.api.deps import (
    Context,
    Ctx,
    SymbolPath,
    day_range,
    decode_cursor,
    encode_cursor,
    known_symbols,
    unknown_symbol,
)
from marketlake.serve.api.gold import MartMissingError
from marketlake.serve.api.models import Aggregate, Anomaly, BarsInfoPage, Indicator, Symbol

router = APIRouter(tags=["gold"])

Period = Literal["weekly", "monthly", "quarterly", "yearly"]
BarKind = Literal["tick", "volume", "dollar"]
From = Annotated[str | None, Query(alias="from", description="First day, YYYY-MM-DD.")]
To = Annotated[str | None, Query(alias="to", description="Last day (included), YYYY-MM-DD.")]


def _mart(ctx: Context, model: str) -> pl.DataFrame:
    try:
        return ctx.gold.mart(model)
    except MartMissingError as exc:
        raise HTTPException(
            404, detail=f"gold has no {model} yet — run `marketlake build` first"
        ) from exc


def _for_symbol(ctx: Context, model: str, symbol: str) -> pl.DataFrame:
    if symbol not in known_symbols(ctx):
        raise unknown_symbol(symbol)
    frame = _mart(ctx, model)
    return frame.filter(pl.col("symbol") == symbol)


def _between(frame: pl.DataFrame, column: str, first: date | None, last: date | None) -> Any:
    if first is not None:
        frame = frame.filter(pl.col(column) >= first)
    if last is not None:
        frame = frame.filter(pl.col(column) <= last)
    return frame


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    floats = [n for n, t in frame.schema.items() if t.is_float()]
    if floats:
        frame = frame.with_columns(pl.col(floats).fill_nan(None))
    return frame.to_dicts()


@router.get("/symbols", response_model=list[Symbol], summary="Symbols served, with coverage")
def get_symbols(ctx: Ctx) -> list[dict[str, Any]]:
    """Current rows of ``dim_symbol``: reference data and daily-bar coverage."""
    frame = _mart(ctx, "dim_symbol").filter(pl.col("is_current")).sort("symbol")
    return _records(frame)


@router.get("/aggregates/{symbol}", response_model=list[Aggregate], summary="Period aggregates")
def get_aggregates(
    ctx: Ctx, symbol: SymbolPath, period: Period = "monthly", start: From = None, end: To = None
) -> list[dict[str, Any]]:
    """Daily bars rolled up by week, month, quarter or year (``agg_bars_<period>``);
    ``from``/``to`` select on the period's start."""
    first, last = day_range(start, end)
    frame = _for_symbol(ctx, f"agg_bars_{period}", symbol)
    return _records(_between(frame, "period_start", first, last).sort("period_start"))


@router.get("/indicators/{symbol}", response_model=list[Indicator], summary="Daily indicators")
def get_indicators(
    ctx: Ctx, symbol: SymbolPath, start: From = None, end: To = None
) -> list[dict[str, Any]]:
    """Returns, volatility, z-scores, moving averages, RSI and MACD per session."""
    first, last = day_range(start, end)
    frame = _for_symbol(ctx, "fct_indicators_daily", symbol)
    return _records(_between(frame, "session_date", first, last).sort("session_date"))


@router.get("/anomalies/{symbol}", response_model=list[Anomaly], summary="Flagged sessions")
def get_anomalies(
    ctx: Ctx, symbol: SymbolPath, start: From = None, end: To = None
) -> list[dict[str, Any]]:
    """Return outliers, volume spikes, gaps and stale prices (``fct_anomalies``)."""
    first, last = day_range(start, end)
    frame = _for_symbol(ctx, "fct_anomalies", symbol)
    return _records(_between(frame, "session_date", first, last).sort("session_date", "rule_id"))


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
    frame = _mart(ctx, "fct_bars_info").filter(pl.col("symbol") == symbol)
    if frame.is_empty() and symbol not in known_symbols(ctx):
        raise unknown_symbol(symbol)
    if kind is not None:
        frame = frame.filter(pl.col("kind") == kind)
    frame = _between(frame, "bar_date", first, last).sort("series_key", "bar_number")
    api = ctx.settings.api
    size = min(limit or api.page_size, api.max_page_size)
    page = frame.slice(offset, size)
    more = offset + page.height < frame.height
    return {
        "symbol": symbol,
        "count": page.height,
        "next_cursor": encode_cursor(offset + page.height) if more else None,
        "rows": _records(page),
    }
