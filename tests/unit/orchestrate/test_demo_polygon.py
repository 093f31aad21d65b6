"""The demo's Polygon part: a sample folder in the vendor's layout, ingested twice."""

from __future__ import annotations

from pathlib import Path

from marketlake.config import Settings
from marketlake.lake import open_lake
from marketlake.lake.silver import read_dataset, read_quarantine, read_records
from marketlake.ops.ledger import Run
from marketlake.orchestrate.demo_polygon import demo_polygon
from marketlake.sources.polygon.sample import SAMPLE_DATASETS


def _silver(settings: Settings) -> dict[str, list[tuple[object, ...]]]:
    lake = open_lake(settings)
    out: dict[str, list[tuple[object, ...]]] = {}
    for dataset in ("trades", "quotes", "bars"):
        table = read_dataset(lake, dataset)
        out[dataset] = sorted(
            zip(*(map(str, table[c].to_pylist()) for c in table.column_names), strict=True)
        )
    q = read_quarantine(lake)
    out["_quarantine"] = sorted(zip(*(q[c].to_pylist() for c in q.column_names), strict=True))
    return out


def test_demo_polygon_ingests_every_dataset_once_and_then_finds_it_unchanged(
    settings: Settings, tmp_path: Path
) -> None:
    samples = tmp_path / "samples"
    lake = open_lake(settings)

    first = demo_polygon(settings, samples, Run(lake))
    silver = _silver(settings)
    sample_bytes = {p: p.read_bytes() for p in sorted((samples / "polygon").rglob("*.csv.gz"))}
    second = demo_polygon(settings, samples, Run(lake))

    assert list(first.reports) == list(SAMPLE_DATASETS)
    assert first.failed == 0
    outcomes = {f.outcome for r in first.reports.values() for f in r.files}
    assert outcomes == {"published"}  # five trading days, nothing missing
    assert {f.outcome for r in second.reports.values() for f in r.files} == {"unchanged"}
    assert _silver(settings) == silver
    assert {p: p.read_bytes() for p in sample_bytes} == sample_bytes  # not rewritten
    bars = set(read_dataset(lake, "bars")["symbol"].to_pylist())
    assert bars == {"AAPL", "MSFT", "SPY", "X:BTCUSD"}
    records = read_records(lake)
    assert len(records) == 5 * len(SAMPLE_DATASETS)
    assert sum(r.rows_in for r in records) == sum(r.rows_out + r.rows_quarantined for r in records)
    quarantined = {r["rule_id"] for r in read_quarantine(lake).to_pylist()}
    assert quarantined == {"size.invalid", "value.unparseable", "ohlc.inconsistent"}
    assert sum(r.flagged_by_rule.get("quote.crossed", 0) for r in records) >= 5
