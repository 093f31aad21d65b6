"""The steps of a run: one function per step, the same ones ``marketlake run`` and the Dagster
assets call. Thin: each composes the ingest, bars, warehouse or report function of its layer
with the configuration in ``ops.run`` and a date window; no business logic of its own.

A step records ledger rows through the ``Run`` it is given and returns a :class:`StepOutcome`:
the native report(s) and the errors of the items (files, days, symbols) that failed without
stopping the others. :func:`outcome_error` turns those into one error for the runner (and
Dagster) to retry (all transient) or to stop the branch (any terminal).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from marketlake.config import Settings
from marketlake.errors import MarketLakeError, TerminalError, TransientError
from marketlake.ops.ledger import LedgerRow, Run


@dataclass(frozen=True)
class Window:
    """The days a run covers (``--from``/``--to``, or a Dagster partition range), inclusive.

    Dated sources read only these days: Polygon day files, S3 JSON hour prefixes (whole UTC
    days). Whole-file sources (CSV, HDF5, reference, Alpha Vantage) ignore it. A side left None
    falls back to the source's look-back (``lookback_days`` / ``lookback_hours``).
    """

    start: date | None = None
    end: date | None = None

    def days(self, *, lookback_days: int, today: date) -> tuple[date, date]:
        """First and last day for a daily source: default the ``lookback_days`` before today."""
        end = self.end or today - timedelta(days=1)
        start = self.start or end - timedelta(days=lookback_days - 1)
        return start, end

    def hours(self, *, lookback_hours: int, now: datetime) -> tuple[datetime, datetime]:
        """Start and end instants (UTC) for an hourly source: whole days, or the look-back."""
        end = datetime.combine(self.end, datetime.max.time(), UTC) if self.end else now
        start = (
            datetime.combine(self.start, datetime.min.time(), UTC)
            if self.start
            else end - timedelta(hours=lookback_hours)
        )
        return start, end


@dataclass
class StepContext:
    """What a step runs with."""

    settings: Settings
    run: Run
    window: Window = field(default_factory=Window)
    sleep: Callable[[float], None] = time.sleep
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class StepOutcome:
    """What one step returned: its native report(s), and the items that failed."""

    report: Any = None
    failures: list[MarketLakeError] = field(default_factory=list)
    items: int = 0


@dataclass(frozen=True)
class Step:
    """One node of the run's graph."""

    name: str  # "ingest.polygon", "bars", "build"
    fn: Callable[[StepContext], StepOutcome]
    needs: tuple[str, ...] = ()
    source: str | None = None


def outcome_error(name: str, outcome: StepOutcome) -> MarketLakeError | None:
    """One error for the items of a step that failed: transient when every one of them is
    (worth retrying the step: what succeeded is skipped as unchanged), else terminal."""
    failures = outcome.failures
    if not failures:
        return None
    first = failures[0]
    total = max(outcome.items, len(failures))
    message = f"{len(failures)} of {total} item(s) of {name} failed; first: {first}"
    hint = "`marketlake status --detail` lists every failed item"
    if all(f.transient for f in failures):
        return TransientError(message, hint=hint, step=name)
    return TerminalError(message, hint=hint, step=name)


def ingest_csv_daily(ctx: StepContext) -> StepOutcome:
    """Daily CSV exports of ``ops.run.sources.csv_daily.paths``."""
    from marketlake.ingest import ingest_csv

    report = ingest_csv(ctx.settings.ops.run.sources.csv_daily.paths, settings=ctx.settings,
                        run=ctx.run)  # fmt: skip
    errors = [f.error for f in report.failed if f.error is not None]
    return StepOutcome(report, errors, len(report.files))


def ingest_reference(ctx: StepContext) -> StepOutcome:
    """Reference files of symbols, each with its optional as-of."""
    from marketlake.ingest_reference import ingest_symbols

    results = [
        ingest_symbols(Path(f.path), settings=ctx.settings, as_of=f.as_of, run=ctx.run)
        for f in ctx.settings.ops.run.sources.reference.files
    ]
    errors = [r.error for r in results if r.error is not None]
    return StepOutcome(results, errors, len(results))


def ingest_alphavantage(ctx: StepContext) -> StepOutcome:
    """Saved Alpha Vantage replies (no call), then the configured symbols from the API."""
    from marketlake.ingest_alphavantage import ingest_alphavantage as download
    from marketlake.ingest_alphavantage import ingest_alphavantage_files

    config = ctx.settings.ops.run.sources.alphavantage
    reports = []
    if config.files:
        files = [Path(p) for p in config.files]
        reports.append(ingest_alphavantage_files(files, settings=ctx.settings, run=ctx.run))
    if config.symbols:
        for function in config.functions:
            reports.append(
                download(config.symbols, function=function, settings=ctx.settings, run=ctx.run,
                         sleep=ctx.sleep)
            )  # fmt: skip
    results = [f for r in reports for f in r.files]
    return StepOutcome(reports, [f.error for f in results if f.error is not None], len(results))


def ingest_s3_json(ctx: StepContext) -> StepOutcome:
    """Each configured prefix of JSON records, over the window's hours."""
    from marketlake.ingest_s3json import ingest_s3json

    config = ctx.settings.ops.run.sources.s3_json
    start, end = ctx.window.hours(lookback_hours=config.lookback_hours, now=ctx.now)
    outcome = StepOutcome(report={})
    for feed in config.feeds:
        try:
            report = ingest_s3json(feed.url, feed.kind, start, end, settings=ctx.settings,
                                   interval=feed.interval, run=ctx.run)  # fmt: skip
        except MarketLakeError as exc:  # the listing failed: this prefix alone
            outcome.failures.append(exc)
            outcome.items += 1
            continue
        outcome.report[f"{feed.kind}:{feed.url}"] = report
        outcome.failures.extend(o.error for o in report.failed if o.error is not None)
        outcome.items += len(report.objects)
    return outcome


def ingest_polygon(ctx: StepContext) -> StepOutcome:
    """Each configured flat-files dataset, over the window's days."""
    from marketlake.ingest_polygon import ingest_polygon as ingest
    from marketlake.ingest_polygon import with_source_dir

    config = ctx.settings.ops.run.sources.polygon
    settings = with_source_dir(ctx.settings, config.uri) if config.uri else ctx.settings
    start, end = ctx.window.days(lookback_days=config.lookback_days, today=ctx.now.date())
    outcome = StepOutcome(report={})
    for dataset in config.datasets:
        try:
            report = ingest(dataset, start, end, settings=settings, symbols=config.symbols,
                            run=ctx.run)  # fmt: skip
        except MarketLakeError as exc:  # listing refused or failed: this dataset alone
            outcome.failures.append(exc)
            outcome.items += 1
            continue
        outcome.report[dataset] = report
        outcome.failures.extend(f.error for f in report.failed if f.error is not None)
        outcome.items += len(report.files)
    return outcome


def ingest_hdf5(ctx: StepContext) -> StepOutcome:
    """Each configured HDF5 tick file (landed once; keys published once)."""
    from marketlake.ingest_hdf5 import ingest_hdf5 as ingest

    config = ctx.settings.ops.run.sources.hdf5
    outcome = StepOutcome(report=[])
    for path in config.files:
        try:
            report = ingest(path, settings=ctx.settings, keys=config.keys, run=ctx.run)
        except MarketLakeError as exc:  # missing or unreadable file: this file alone
            outcome.failures.append(exc)
            outcome.items += 1
            continue
        outcome.report.append(report)
        outcome.failures.extend(k.error for k in report.failed if k.error is not None)
        outcome.items += len(report.keys)
    return outcome


def build_bars(ctx: StepContext) -> StepOutcome:
    """Every configured bars request over all silver trades (unchanged series are skipped)."""
    from marketlake.bars import BarsRequest
    from marketlake.bars import build_bars as build

    outcome = StepOutcome(report=[])
    for request in ctx.settings.ops.run.bars:
        asked = BarsRequest(
            kind=request.kind,
            threshold=request.threshold,
            bars_per_day=request.bars_per_day,
            interval=request.interval,
        )
        try:
            report = build(ctx.settings, asked, run=ctx.run)
        except MarketLakeError as exc:
            outcome.failures.append(exc)
            outcome.items += 1
            continue
        outcome.report.extend(report.symbols)
        outcome.failures.extend(s.error for s in report.failed if s.error is not None)
        outcome.items += len(report.symbols)
    return outcome


def build_continuous(ctx: StepContext) -> StepOutcome:
    """Every configured continuous contract."""
    from marketlake.bars.continuous_io import make_continuous

    outcome = StepOutcome(report=[])
    for request in ctx.settings.ops.run.continuous:
        outcome.items += 1
        try:
            outcome.report.append(
                make_continuous(ctx.settings, request.root, roll=request.roll,
                                adjust=request.adjust, run=ctx.run)
            )  # fmt: skip
        except MarketLakeError as exc:
            outcome.failures.append(exc)
    return outcome


def build_warehouse(ctx: StepContext) -> StepOutcome:
    """Load or expose silver, ``dbt build``, export gold (``ops.run.target`` or the default)."""
    from marketlake.warehouse import build_warehouse as build

    settings = build_settings(ctx.settings)
    return StepOutcome(build(settings, run=ctx.run), items=1)


def write_report(ctx: StepContext) -> StepOutcome:
    """The HTML report."""
    from marketlake.analytics.report import write_report as write

    return StepOutcome(write(ctx.settings, run=ctx.run), items=1)


def build_settings(settings: Settings) -> Settings:
    """The settings the build step uses: ``ops.run.target`` when set, else ``warehouse.target``."""
    target = settings.ops.run.target
    if target is None or target == settings.warehouse.target:
        return settings
    warehouse = settings.warehouse.model_copy(update={"target": target})
    return settings.model_copy(update={"warehouse": warehouse})


INGEST: dict[str, Callable[[StepContext], StepOutcome]] = {
    "csv_daily": ingest_csv_daily,
    "reference": ingest_reference,
    "alphavantage": ingest_alphavantage,
    "s3_json": ingest_s3_json,
    "polygon": ingest_polygon,
    "hdf5": ingest_hdf5,
}
TICK_SOURCES = ("polygon", "hdf5")  # sources that write silver trades (input of bars)


def new_rows(rows: list[LedgerRow]) -> list[LedgerRow]:
    """The rows of new work (status ok) among a step's ledger rows."""
    return [r for r in rows if r.status == "ok"]
