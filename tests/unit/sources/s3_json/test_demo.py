"""The demo's JSON tree: deterministic, every fault caught, ingested once from a local folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from marketlake.config import Settings
from marketlake.ingest_s3json import ingest_s3json
from marketlake.lake import open_lake
from marketlake.lake.silver import read_dataset, read_quarantine
from marketlake.ops.ledger import Run
from marketlake.orchestrate.demo_s3json import demo_s3json
from marketlake.sources.s3_json.sample import write_s3json_tree


def test_the_tree_is_deterministic(tmp_path: Path) -> None:
    one = write_s3json_tree(tmp_path / "a")
    two = write_s3json_tree(tmp_path / "b")

    assert [p.relative_to(one.root) for p in one.files] == [
        p.relative_to(two.root) for p in two.files
    ]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(one.files, two.files, strict=True))
    assert {p.name.split(".", 1)[1] for p in one.files} == {
        "ndjson.gz",
        "json",
        "ndjson",
        "json.gz",
    }


def test_demo_ingests_every_kind_catches_every_fault_and_is_idempotent(
    settings: Settings, tmp_path: Path
) -> None:
    lake = open_lake(settings)
    first = demo_s3json(settings, tmp_path / "samples", Run(lake))
    counts = {d: read_dataset(lake, d).num_rows for d in ("bars", "indicators", "anomalies")}
    quarantine = read_quarantine(lake)

    second = demo_s3json(settings, tmp_path / "samples", Run(lake))

    assert all(o.outcome == "published" for r in first.reports.values() for o in r.objects)
    assert all(not r.read for r in second.reports.values())
    assert {d: read_dataset(lake, d).num_rows for d in counts} == counts
    assert read_quarantine(lake).num_rows == quarantine.num_rows
    caught = set(zip(quarantine["dataset"].to_pylist(), quarantine["source_row"].to_pylist(),
                     quarantine["rule_id"].to_pylist(), strict=True))  # fmt: skip
    dataset = {"prices": "bars", "indicators": "indicators", "anomalies": "anomalies"}
    assert caught == {(dataset[f.kind], f.source_row, f.rule_id) for f in first.tree.faults}
    tree = first.tree
    assert counts["bars"] + sum(1 for f in tree.faults if f.kind == "prices") == tree.records[
        "prices"]  # fmt: skip
    assert counts["anomalies"] == tree.records["anomalies"] - 1
    assert set(read_dataset(lake, "bars")["interval"].to_pylist()) == {"15m"}


def test_a_changed_local_file_supersedes_its_rows(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "drop" / "2024" / "01" / "02" / "14" / "a.json"
    path.parent.mkdir(parents=True)
    bar = {"symbol": "MSFT", "timestamp": "2024-01-02T14:00:00Z", "open": 10, "high": 11,
           "low": 9, "close": 10}  # fmt: skip
    path.write_text(json.dumps(bar) + "\n")
    url = f"file://{tmp_path / 'drop'}"
    hour = datetime(2024, 1, 2, 14, tzinfo=UTC)
    ingest_s3json(url, "prices", hour, hour, settings=settings)
    path.write_text(json.dumps(bar | {"close": 10.75, "volume": 3}) + "\n")

    report = ingest_s3json(url, "prices", hour, hour, settings=settings)

    assert [o.outcome for o in report.read] == ["published"]
    bars = read_dataset(open_lake(settings), "bars")
    assert (bars["close"].to_pylist(), bars["volume"].to_pylist()) == ([10.75], [3.0])


def test_reprocess_reads_and_publishes_again_without_duplicating(
    settings: Settings, tmp_path: Path
) -> None:
    lake = open_lake(settings)
    demo = demo_s3json(settings, tmp_path / "samples", Run(lake))
    before = read_dataset(lake, "indicators").num_rows
    tree = demo.tree

    report = ingest_s3json(
        str(tree.root / "indicators"), "indicators", tree.start, tree.end, settings=settings,
        reprocess=True,
    )  # fmt: skip

    assert [o.outcome for o in report.objects] == ["published"] * len(report.objects)
    assert len(report.read) == len(report.objects)
    assert read_dataset(lake, "indicators").num_rows == before
