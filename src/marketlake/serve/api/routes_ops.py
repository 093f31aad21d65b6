"""Operations: ``/health``, ``/quality`` (quarantine), ``/runs`` (ledger), ``POST /runs``."""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Depends, HTTPException, Query

from marketlake import __version__
from marketlake.lake.silver import read_quarantine
from marketlake.ops.ledger import Run, new_run_id, read_ledger
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
    table = read_quarantine(ctx.lake, dataset)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    examples = ctx.settings.quality.max_examples
    rules = []
    if frame.height:
        groups = frame.group_by("dataset", "rule_id", maintain_order=True).agg(
            pl.len().alias("rows"),
            pl.struct("ingest_id", "source_row", "symbol", "message", "raw")
            .head(examples)
            .alias("examples"),
        )
        rules = groups.sort("dataset", "rule_id").to_dicts()
    return {"total": frame.height, "rules": rules}


@reads.get(
    "/runs",
    response_model=list[RunSummary],
    summary="Runs from the ledger",
)
def get_runs(
    ctx: Ctx, limit: Annotated[int, Query(ge=1, le=500, description="Newest runs.")] = 20
) -> list[dict[str, Any]]:
    """The newest runs and their steps; a build started here shows ``running`` until done."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for row in read_ledger(ctx.lake, last_runs=limit):
        runs.setdefault(row.run_id, []).append(asdict(row))
    running = set(ctx.running)
    summaries = [
        {
            "run_id": run_id,
            "status": _status(run_id, steps, running),
            "started_at": min(s["started_at"] for s in steps),
            "steps": sorted(steps, key=lambda s: s["seq"]),
        }
        for run_id, steps in runs.items()
    ]
    known = set(runs)
    summaries += [
        {"run_id": r, "status": "running", "started_at": r, "steps": []}
        for r in sorted(running - known, reverse=True)
    ]
    return sorted(summaries, key=lambda s: s["run_id"], reverse=True)[:limit]


def _status(run_id: str, steps: list[dict[str, Any]], running: set[str]) -> str:
    if run_id in running:
        return "running"
    return "failed" if any(s["status"] == "failed" for s in steps) else "ok"


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
