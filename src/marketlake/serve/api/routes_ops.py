"""Operations: ``/health``, ``/quality`` (quarantine), ``/runs`` (ledger), ``POST /runs``."""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from marketlake import __version__
from marketlake.ops.ledger import Run, new_run_id
from marketlake.serve import queries
from marketlake.serve.api.deps import Context, Ctx, require_token
from marketlake.serve.api.models import ErrorBody, Health, Quality, RunAccepted, RunSummary

log = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])
reads = APIRouter(tags=["operations"])  # open or closed by api.open_reads


@router.get("/health", response_model=Health, summary="Liveness")
def get_health(ctx: Ctx) -> dict[str, Any]:
    """Always open: the API answers, and whether gold has been built."""
    return {"status": "ok", "gold": ctx.gold.has("dim_symbol"), "version": __version__}


@reads.get(
    "/quality",
    response_model=Quality,
    summary="Quarantine summary",
)
def get_quality(
    ctx: Ctx, dataset: Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$")] = None
) -> dict[str, Any]:
    """Quarantined rows by dataset and rule, with a few examples of each."""
    return queries.quality_summary(ctx.lake, dataset, examples=ctx.settings.quality.max_examples)


@reads.get(
    "/runs",
    response_model=list[RunSummary],
    summary="Runs from the ledger",
)
def get_runs(
    ctx: Ctx, limit: Annotated[int, Query(ge=1, le=500, description="Newest runs.")] = 20
) -> list[dict[str, Any]]:
    """The newest runs and their steps; a build started here shows ``running`` until done."""
    return queries.run_summaries(ctx.lake, limit=limit, running=set(ctx.running))


@router.post(
    "/runs",
    response_model=RunAccepted,
    status_code=202,
    dependencies=[Depends(require_token)],
    summary="Start a warehouse build (admin)",
    responses={409: {"model": ErrorBody, "description": "a build started here is running"}},
)
def post_run(ctx: Ctx) -> dict[str, Any]:
    """Build the warehouse and export gold in the background; needs the API token."""
    if not ctx.build_lock.acquire(blocking=False):
        raise HTTPException(409, detail="a build is already running — follow it in GET /runs")
    run_id = new_run_id()
    ctx.running.add(run_id)
    thread = threading.Thread(target=_build, args=(ctx, run_id), name=f"build-{run_id}")
    thread.daemon = True
    thread.start()
    return {"run_id": run_id, "status": "started"}


def _build(ctx: Context, run_id: str) -> None:
    from marketlake.warehouse import build_warehouse

    try:
        build_warehouse(ctx.settings, run=Run(ctx.lake, run_id))
    except Exception:  # recorded in the ledger as a failed step; the API keeps serving
        log.exception("build %s failed", run_id)
    finally:
        ctx.running.discard(run_id)
        ctx.build_lock.release()
