"""Reference data of symbols: file -> bronze -> parse -> silver ``symbols`` + quarantine.

Each reference file is a dated description of symbols, so deliveries accumulate instead of
replacing each other: silver keeps every as-of, and the warehouse's ``dim_symbol`` (a dbt
snapshot, SCD type 2) is their history. Landing is idempotent (the same bytes under the same
name and ``--as-of`` land once); an ingest already published is skipped unless ``reprocess``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from marketlake.config import Settings
from marketlake.errors import MarketLakeError, SourceError
from marketlake.ingest import FileResult
from marketlake.lake import open_lake
from marketlake.lake.bronze import land
from marketlake.lake.deliveries import fill_row, prior_of, skip_row
from marketlake.lake.silver import publish_ingest
from marketlake.ops.ledger import Run

log = logging.getLogger(__name__)


def reference_logical_key(path: Path, as_of: datetime | None) -> str:
    """What a reference delivery is of: its file name, and the ``--as-of`` when one is given.

    The same bytes ingested with another ``--as-of`` are another delivery (another description
    date), so the as-of is part of the key.
    """
    key = f"symbols/{path.name}"
    return f"{key}@{as_of.isoformat()}" if as_of is not None else key


def ingest_symbols(
    path: Path,
    *,
    settings: Settings,
    as_of: datetime | None = None,
    reprocess: bool = False,
    run: Run | None = None,
) -> FileResult:
    """Ingest a reference file of symbols (CSV or JSON) into silver ``symbols``.

    Args:
        path: The file (``.csv`` with a header, ``.json`` or ``.jsonl``).
        settings: marketlake settings (``sources.s3_json.symbol_pattern`` validates symbols).
        as_of: When the description is true, for every row; by default each row's ``as_of``
            value, else the time the file landed in bronze.
        reprocess: Publish to silver again a file published before.
        run: The run to record the ledger row in; a new one by default.

    Returns:
        What happened to the file; a failure carries its error (it is not raised).
    """
    from marketlake.sources import reference

    lake = open_lake(settings)
    run = run or Run(lake)
    result = FileResult(path=str(path), outcome="failed")
    try:
        with run.step(f"ingest.{reference.SOURCE}", str(path)) as row:
            fmt = reference.format_of(path.name)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise SourceError(
                    f"cannot read the file: {exc.strerror}", path=str(path), hint="check the path"
                ) from exc
            entry, result.landed_new = land(
                lake,
                data,
                source=reference.SOURCE,
                logical_key=reference_logical_key(path, as_of),
                original_name=path.name,
                extension=path.suffix.lower(),
            )
            result.ingest_id = entry.ingest_id
            row.details["ingest_id"] = entry.ingest_id
            prior = prior_of(lake, entry, reprocess=reprocess)
            if prior is not None:
                skip_row(row, prior, len(data))
                result.outcome, result.record = prior.outcome, prior.record
                return result
            parsed = reference.parse_reference(
                data,
                path=str(path),
                fmt=fmt,
                ingest_id=entry.ingest_id,
                symbol_pattern=settings.sources.s3_json.symbol_pattern,
                default_as_of=datetime.fromisoformat(entry.landed_at),
                as_of=as_of,
            )
            record = publish_ingest(
                lake,
                dataset=reference.DATASET,
                source=reference.SOURCE,
                ingest_id=entry.ingest_id,
                rows=parsed.rows,
                quarantined=parsed.quarantined,
                rows_in=parsed.rows_in,
                flagged_by_rule={},
                # Deliberately no `supersedes`: an earlier description stays in silver as history.
            )
            result.outcome, result.record = "published", record
            fill_row(row, record, len(data))
    except MarketLakeError as exc:
        result.error = exc
        log.warning("reference ingest failed: %s", exc, extra={"path": str(path)})
    return result
