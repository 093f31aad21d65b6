"""``/metrics``: Prometheus metrics derived from the run ledger (text format 0.0.4)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from marketlake.ops.metrics import CONTENT_TYPE, render_metrics
from marketlake.serve.api.deps import Ctx

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics",
    responses={
        200: {
            "content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
            "description": "Rows ingested and quarantined per source, step durations, last "
            "success and freshness per source, in the Prometheus text format.",
        }
    },
)
def get_metrics(ctx: Ctx) -> Response:
    """Scrape target: every figure is read from the ledger, so it survives restarts."""
    return Response(content=render_metrics(ctx.settings), media_type=CONTENT_TYPE)
