import pytest

from marketlake.errors import SourceError
from marketlake.lake import Lake
from marketlake.ops.ledger import Run, read_ledger


def test_steps_are_recorded_in_order_with_failures(lake: Lake) -> None:
    run = Run(lake)
    with run.step("ingest.csv_daily", "a.csv") as row:
        row.rows_in, row.rows_out, row.rows_quarantined = 10, 8, 2
    with pytest.raises(SourceError), run.step("ingest.csv_daily", "b.csv"):
        raise SourceError("bad header", path="b.csv")
    with run.step("build", "dbt") as row:
        row.status = "skipped"
    rows = read_ledger(lake)
    assert [(r.seq, r.target, r.status) for r in rows] == [
        (1, "a.csv", "ok"),
        (2, "b.csv", "failed"),
        (3, "dbt", "skipped"),
    ]
    assert rows[0].rows_quarantined == 2
    assert rows[1].error is not None
    assert "bad header (path=b.csv)" in rows[1].error
    assert all(r.seconds >= 0 for r in rows)


def test_newest_runs_first_and_limited(lake: Lake) -> None:
    ids = []
    for i in range(3):
        run = Run(lake, run_id=f"2026010{i}T000000Z-aaaaaa")
        ids.append(run.run_id)
        with run.step("s", "t"):
            pass
    assert [r.run_id for r in read_ledger(lake, last_runs=2)] == ids[::-1][:2]
    # a run id reused appends steps instead of overwriting
    with Run(lake, run_id=ids[0]).step("s2", "t"):
        pass
    assert [r.seq for r in read_ledger(lake) if r.run_id == ids[0]] == [1, 2]
