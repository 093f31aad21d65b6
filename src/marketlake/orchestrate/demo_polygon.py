"""The demo's Polygon/Massive part: sample flat files in a folder -> silver trades, quotes, bars.

The sample is written once (deterministic bytes) under ``<samples>/polygon`` with the vendor's
key layout, and read through the local-folder source (``sources.polygon.uri``): no server, no
credentials. A second run finds every file unchanged.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from marketlake.config import Settings
from marketlake.ingest_polygon import PolygonReport, ingest_polygon, with_source_dir
from marketlake.ops.ledger import Run
from marketlake.sources.polygon.sample import SAMPLE_DATASETS, trading_days, write_flat_files

DEMO_POLYGON_START = date(2024, 1, 2)
DEMO_POLYGON_DAYS = 5


@dataclass
class PolygonDemo:
    """What the Polygon part of the demo did: one report per flat-files dataset."""

    folder: Path
    reports: dict[str, PolygonReport] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        """Files that could not be ingested, over every dataset."""
        return sum(len(r.failed) for r in self.reports.values())


def write_polygon_sample(samples: Path) -> Path:
    """The demo's flat files under ``samples/polygon`` (written once, whole or not at all)."""
    folder = samples / "polygon"
    if not folder.exists():
        # Written aside, then renamed: an interrupted write never leaves half a sample.
        tmp = samples / f".tmp-polygon-{uuid.uuid4().hex}"
        try:
            write_flat_files(tmp, start=DEMO_POLYGON_START, days=DEMO_POLYGON_DAYS)
            tmp.replace(folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def demo_polygon(settings: Settings, samples: Path, run: Run) -> PolygonDemo:
    """Write the Polygon sample (when missing) and ingest every dataset of it.

    Args:
        settings: marketlake settings (the lake to fill).
        samples: The demo's sample folder; the flat files go to ``samples/polygon``.
        run: The run to record ledger rows in.

    Returns:
        The report of each dataset (``us_stocks_sip/trades_v1``...).
    """
    folder = write_polygon_sample(samples)
    local = with_source_dir(settings, folder)
    days = trading_days(DEMO_POLYGON_START, DEMO_POLYGON_DAYS)
    demo = PolygonDemo(folder=folder)
    for dataset in SAMPLE_DATASETS:
        demo.reports[dataset] = ingest_polygon(dataset, days[0], days[-1], settings=local, run=run)
    return demo
