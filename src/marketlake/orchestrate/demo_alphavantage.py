"""The Alpha Vantage part of the demo: sample payloads, ingested as saved files (no server)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from marketlake.config import Settings
from marketlake.ingest_alphavantage import AlphaVantageReport, ingest_alphavantage_files
from marketlake.ops.ledger import Run
from marketlake.sources.alphavantage.sample import AlphaVantageSamples, write_alphavantage_payloads


@dataclass(frozen=True)
class AlphaVantageDemo:
    """What the demo did with the Alpha Vantage samples."""

    samples: AlphaVantageSamples
    ingest: AlphaVantageReport


def demo_alphavantage(settings: Settings, samples: Path, run: Run) -> AlphaVantageDemo:
    """Write IBM and MSFT daily and weekly adjusted payloads under ``samples/alphavantage/`` and
    ingest them as ``--from-files`` does; idempotent (a second run lands nothing new).

    Args:
        settings: marketlake settings.
        samples: The demo's sample folder.
        run: The run to record ledger rows in.

    Returns:
        The samples written (with their faults) and the ingest report.
    """
    written = write_alphavantage_payloads(samples / "alphavantage")
    report = ingest_alphavantage_files(written.files, settings=settings, run=run)
    return AlphaVantageDemo(samples=written, ingest=report)
