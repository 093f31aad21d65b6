"""The graph of a run: which steps, in which order, each needing which others.

Each configured source is a branch (``ingest.<source>``); ``bars`` and ``continuous`` need the
tick sources (Polygon, HDF5) of the run; ``build`` needs every step before it and ``report``
needs ``build``. A step whose needs failed is skipped, and what needs it too.
"""

from __future__ import annotations

from marketlake.config import Settings
from marketlake.errors import ConfigError
from marketlake.orchestrate import steps
from marketlake.orchestrate.steps import Step

SOURCES = tuple(steps.INGEST)


def plan_steps(settings: Settings, sources: list[str] | None = None) -> list[Step]:
    """The steps of ``marketlake run`` for these settings, in dependency order.

    Args:
        settings: ``ops.run`` says which sources are configured and what follows them.
        sources: Only these sources (``--sources``); default every configured one.

    Returns:
        The steps; a source step needs nothing, derived steps need what they read.

    Raises:
        ConfigError: a source is unknown, or has nothing configured to read.
    """
    config = settings.ops.run
    configured = config.sources.configured()
    chosen = configured if sources is None else list(dict.fromkeys(sources))
    for name in chosen:
        if name not in SOURCES:
            raise ConfigError(f"unknown source {name!r}", hint=f"use {', '.join(SOURCES)}")
        if name not in configured:
            raise ConfigError(
                f"source {name} has nothing to read",
                hint=f"configure ops.run.sources.{name} in marketlake.yaml (or the "
                f"MARKETLAKE_OPS__RUN__SOURCES__{name.upper()}__* environment)",
            )
    plan = [Step(f"ingest.{s}", steps.INGEST[s], source=s) for s in SOURCES if s in chosen]
    ticks = tuple(f"ingest.{s}" for s in steps.TICK_SOURCES if s in chosen)
    if ticks and config.bars:
        plan.append(Step("bars", steps.build_bars, needs=ticks))
    if ticks and config.continuous:
        plan.append(Step("continuous", steps.build_continuous, needs=ticks))
    if config.build and plan:
        plan.append(Step("build", steps.build_warehouse, needs=tuple(s.name for s in plan)))
        if config.report:
            plan.append(Step("report", steps.write_report, needs=("build",)))
    return plan
