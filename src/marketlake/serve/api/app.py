"""The app factory and the API's error boundary: every error is ``{"error", "detail"}`` JSON."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from marketlake import __version__
from marketlake.config import Settings, get_settings
from marketlake.errors import ConfigError, MarketLakeError, TransientError
from marketlake.lake.store import open_lake
from marketlake.serve.api import routes_bars, routes_gold, routes_live, routes_metrics, routes_ops
from marketlake.serve.api.deps import Context, require_token
from marketlake.serve.api.models import ErrorBody
from marketlake.serve.gold import GoldCache

log = logging.getLogger(__name__)

_TITLES = {
    400: "bad request",
    401: "token required",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    409: "conflict",
    422: "invalid request",
    503: "unavailable",
}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": _TITLES[code]} for code in (401, 403, 404, 422, 503)
}


def _error(status: int, detail: str | None, headers: dict[str, str] | None = None) -> JSONResponse:
    title = _TITLES.get(status, "error")
    return JSONResponse({"error": title, "detail": detail}, status_code=status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return _error(exc.status_code, detail, getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "query")
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return _error(422, "; ".join(parts) or "invalid request")


async def _marketlake_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MarketLakeError)
    if isinstance(exc, TransientError):
        return _error(503, f"{exc} — retry shortly")
    if isinstance(exc, ConfigError):
        return _error(422, str(exc))
    log.error("request %s failed: %s", request.url.path, exc)
    return JSONResponse({"error": "server error", "detail": str(exc)}, status_code=500)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("request %s failed: %s: %s", request.url.path, type(exc).__name__, exc)
    return JSONResponse(
        {"error": "server error", "detail": f"unexpected {type(exc).__name__} — see the log"},
        status_code=500,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The marketlake HTTP API over the lake and gold of ``settings``.

    Args:
        settings: Defaults to the process settings (:func:`marketlake.config.get_settings`).

    Returns:
        A FastAPI app; serve it with uvicorn (``marketlake serve``).
    """
    settings = settings or get_settings()
    app = FastAPI(
        title="marketlake",
        version=__version__,
        description="Analysis-ready market data: silver bars, gold marts, quality and runs.",
        responses=ERRORS,
    )
    app.state.context = Context(
        settings=settings, lake=open_lake(settings), gold=GoldCache(settings)
    )
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(MarketLakeError, _marketlake_error)
    app.add_exception_handler(Exception, _unexpected)
    app.include_router(routes_ops.router)
    # Closed reads need the admin token; open ones declare no security, so the schema is exact.
    guard = [] if settings.api.open_reads else [Depends(require_token)]
    for router in (
        routes_ops.reads,
        routes_gold.router,
        routes_bars.router,
        routes_metrics.router,
        routes_live.router,
    ):
        app.include_router(router, dependencies=guard)
    return app
