"""What a landed delivery already is: published (skip), superseded (never publish), or new."""

from __future__ import annotations

from marketlake.lake import Lake
from marketlake.lake.bronze import land
from marketlake.lake.deliveries import prior_of, skip_row
from marketlake.lake.silver import publish_ingest
from marketlake.ops.ledger import LedgerRow
from marketlake.schemas import BARS, QUARANTINE


def publish(lake: Lake, ingest_id: str) -> None:
    publish_ingest(
        lake,
        dataset="bars",
        source="s",
        ingest_id=ingest_id,
        rows=BARS.empty_table(),
        quarantined=QUARANTINE.empty_table(),
        rows_in=0,
        flagged_by_rule={},
        supersedes=[],
    )


def row() -> LedgerRow:
    return LedgerRow(run_id="r", seq=1, step="ingest.s", target="f", started_at="t")


def test_a_new_delivery_is_published_and_then_unchanged(lake: Lake) -> None:
    entry, _ = land(lake, b"v1", source="s", logical_key="A/f.csv", original_name="f.csv")
    assert prior_of(lake, entry) is None
    publish(lake, entry.ingest_id)
    prior = prior_of(lake, entry)
    assert prior is not None
    assert prior.outcome == "unchanged"
    assert prior.record is not None
    assert prior.record.ingest_id == entry.ingest_id
    assert prior_of(lake, entry, reprocess=True) is None  # re-processing publishes again
    ledger = row()
    skip_row(ledger, prior, 2)
    assert (ledger.status, ledger.bytes, ledger.details["ingest_id"]) == (
        "skipped",
        2,
        entry.ingest_id,
    )


def test_an_older_delivery_is_never_published_over_a_newer_one(lake: Lake) -> None:
    old, _ = land(lake, b"v1", source="s", logical_key="A/f.csv", original_name="f.csv")
    new, _ = land(lake, b"v2", source="s", logical_key="A/f.csv", original_name="f.csv")
    for reprocess in (False, True):
        prior = prior_of(lake, old, reprocess=reprocess)
        assert prior is not None
        assert prior.outcome == "superseded"
        assert prior.superseded_by == new.ingest_id
    assert prior_of(lake, new) is None
    ledger = row()
    skip_row(ledger, prior, 2)
    assert ledger.details["superseded_by"] == new.ingest_id
    assert ledger.rows_in == 0
