"""Compose a source with the lake and quality: fetch -> bronze -> parse -> validate -> silver.

One delivery (file) at a time, each with its own ledger row: a bad file is reported and the
others go on. Every step is idempotent: a file already landed lands nothing, an ingest already
published to silver is skipped (unless ``reprocess``), and an interrupted one is published again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from marketlake.config import Settings
from marketlake.errors import MarketLakeError, SourceError
from marketlake.lake import open_lake
from marketlake.lake.bronze import land
from marketlake.lake.deliveries import fill_row, prior_of, skip_row
from marketlake.lake.silver import IngestRecord, publish_ingest
from marketlake.ops.ledger import Run

log = logging.getLogger(__name__)

Outcome = Literal["published", "unchanged", "superseded", "failed"]


@dataclass
class FileResult:
    """What happened to one input file."""

    path: str
    outcome: Outcome
    symbol: str | None = None
    ingest_id: str | None = None
    landed_new: bool = False
    record: IngestRecord | None = None
    error: MarketLakeError | None = None


@dataclass
class IngestReport:
    """What one ingest command did, file by file."""

    run_id: str
    files: list[FileResult] = field(default_factory=list)

    @property
    def failed(self) -> list[FileResult]:
        """The files that could not be ingested."""
        return [f for f in self.files if f.outcome == "failed"]


def ingest_csv_file(
    path: Path,
    *,
    settings: Settings,
    run: Run,
    symbol: str | None = None,
    reprocess: bool = False,
) -> FileResult:
    """Ingest one Yahoo-style daily CSV file (see :func:`ingest_csv`)."""
    from marketlake.quality import validate_bars
    from marketlake.sources import csv_daily

    lake = open_lake(settings)
    result = FileResult(path=str(path), outcome="failed")
    try:
        with run.step(f"ingest.{csv_daily.SOURCE}", str(path)) as row:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise SourceError(
                    f"cannot read the file: {exc.strerror}", path=str(path), hint="check the path"
                ) from exc
            result.symbol = symbol or csv_daily.symbol_from_path(path)
            entry, result.landed_new = land(
                lake,
                data,
                source=csv_daily.SOURCE,
                logical_key=f"{result.symbol}/{path.name}",
                original_name=path.name,
                extension=".csv",
                symbol=result.symbol,
            )
            result.ingest_id = entry.ingest_id
            row.details["ingest_id"] = entry.ingest_id
            prior = prior_of(lake, entry, reprocess=reprocess)
            if prior is not None:
                skip_row(row, prior, len(data))
                result.outcome, result.record = prior.outcome, prior.record
                return result

            csv_settings = settings.sources.csv_daily
            parsed = csv_daily.parse_daily_csv(
                data,
                symbol=result.symbol,
                path=str(path),
                timezone=csv_settings.timezone,
                null_tokens=tuple(csv_settings.null_tokens),
            )
            validated = validate_bars(
                parsed.rows,
                dataset="bars",
                source=csv_daily.SOURCE,
                interval="1d",
                ingest_id=entry.ingest_id,
                quality=settings.quality,
            )
            record = publish_ingest(
                lake,
                dataset="bars",
                source=csv_daily.SOURCE,
                ingest_id=entry.ingest_id,
                rows=validated.rows,
                quarantined=validated.quarantined,
                rows_in=validated.rows_in,
                flagged_by_rule=validated.flagged_by_rule,
                supersedes=entry.supersedes,
            )
            result.outcome, result.record = "published", record
            fill_row(row, record, len(data))
    except MarketLakeError as exc:
        result.error = exc
        log.warning("ingest failed: %s", exc, extra={"path": str(path)})
    return result


def ingest_csv(
    paths: list[str],
    *,
    settings: Settings,
    symbol: str | None = None,
    reprocess: bool = False,
    run: Run | None = None,
    on_file: Callable[[FileResult], None] | None = None,
) -> IngestReport:
    """Ingest Yahoo-style daily CSV files: each lands in bronze once, then goes to silver.

    Args:
        paths: Files, folders (every ``*.csv`` inside) or glob patterns.
        settings: marketlake settings.
        symbol: The symbol of the data; by default each file's name (``MSFT.csv`` -> ``MSFT``).
        reprocess: Publish to silver again even when the file was published before (after a
            change of rules or settings).
        run: The run to record ledger rows in; a new one by default.
        on_file: Called after each file (progress display).

    Returns:
        One result per file; failures carry their error and do not stop the other files.

    Raises:
        SourceError: ``symbol`` was given for more than one file.
    """
    from marketlake.sources import csv_daily

    run = run or Run(open_lake(settings))
    files, missing = csv_daily.locate_files(paths)
    if symbol and len(files) > 1:
        raise SourceError(
            f"--symbol {symbol} given for {len(files)} files",
            hint="pass --symbol with one file only, or name each file after its symbol",
        )
    report = IngestReport(run_id=run.run_id)
    for error in missing:
        target = str(error.context.get("path"))
        report.files.append(FileResult(path=target, outcome="failed", error=error))
        with suppress(SourceError), run.step(f"ingest.{csv_daily.SOURCE}", target):
            raise error

    def one(path: Path) -> FileResult:
        result = ingest_csv_file(
            path, settings=settings, run=run, symbol=symbol, reprocess=reprocess
        )
        if on_file is not None:
            on_file(result)
        return result

    # Files are independent deliveries (distinct logical keys), so they can go side by side.
    with ThreadPoolExecutor(max_workers=settings.ingest.workers) as pool:
        report.files.extend(pool.map(one, files))
    return report
