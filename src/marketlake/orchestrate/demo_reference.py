"""The demo's reference data: two deliveries of the symbols file, the second one later.

Thin wrapper: writes the sample files and ingests them (the first with its own ``as_of``
column, the second with a later ``--as-of``), so the warehouse's ``dim_symbol`` shows a symbol
whose name and sector changed, with both versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from marketlake.config import Settings
from marketlake.ingest import FileResult
from marketlake.ops.ledger import Run
from marketlake.sources.reference.sample import ReferenceSamples


@dataclass(frozen=True)
class ReferenceDemo:
    """What the demo did with the reference data."""

    samples: ReferenceSamples
    first: FileResult
    second: FileResult


def demo_reference(settings: Settings, samples: Path, run: Run) -> ReferenceDemo:
    """Write ``<samples>/reference/symbols_v1.csv`` and ``symbols_v2.json`` and ingest both.

    Idempotent: the files are rewritten with the same bytes, so a second demo lands nothing.

    Args:
        settings: marketlake settings.
        samples: The demo's samples folder.
        run: The run the ledger rows go to.

    Returns:
        The sample files and what ingesting each did (failures carry their error).
    """
    from marketlake.ingest_reference import ingest_symbols
    from marketlake.sources.reference.sample import write_reference_files

    files = write_reference_files(samples / "reference")
    second_as_of = datetime.combine(files.second_as_of, datetime.min.time(), tzinfo=UTC)
    first = ingest_symbols(files.first, settings=settings, run=run)
    second = ingest_symbols(files.second, settings=settings, as_of=second_as_of, run=run)
    return ReferenceDemo(samples=files, first=first, second=second)
