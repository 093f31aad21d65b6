"""The demo's JSON-records-in-S3 part: a sample tree on local disk, ingested like a bucket.

A thin wrapper: the sample writer and :func:`marketlake.ingest_s3json.ingest_s3json` do the work.
Idempotent: the tree is rewritten with the same bytes and the cursor skips what was ingested.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from marketlake.config import Settings
from marketlake.ingest_s3json import S3JsonReport, ingest_s3json
from marketlake.ops.ledger import Run
from marketlake.sources.s3_json.sample import INTERVAL, SampleTree, write_s3json_tree

KINDS = ("prices", "indicators", "anomalies")


@dataclass(frozen=True)
class S3JsonDemo:
    """What the demo did with the JSON sample tree."""

    tree: SampleTree
    reports: dict[str, S3JsonReport]  # per kind


def demo_s3json(settings: Settings, samples: Path, run: Run) -> S3JsonDemo:
    """Write ``samples/s3_json/`` and ingest its prices, indicators and anomalies.

    Args:
        settings: marketlake settings (the lake to write).
        samples: The demo's samples folder.
        run: The run to record ledger rows in.

    Returns:
        The tree written and one report per kind.
    """
    tree = write_s3json_tree(samples / "s3_json")
    reports = {
        kind: ingest_s3json(
            str(tree.root / kind), kind, tree.start, tree.end, settings=settings,
            interval=INTERVAL, run=run,
        )
        for kind in KINDS
    }  # fmt: skip
    return S3JsonDemo(tree=tree, reports=reports)
