"""`marketlake demo` as a newcomer runs it: the whole flow, a summary, and idempotence."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from marketlake.sources.csv_daily.sample import write_daily_csvs
from tests.e2e.conftest import CLI


def figure(stdout: str, label: str) -> int:
    match = re.search(rf"{re.escape(label)}\s*│\s*([\d,]+)", stdout)
    assert match, f"{label!r} not in the summary:\n{stdout}"
    return int(match.group(1).replace(",", ""))


def snapshot(root: Path) -> tuple[dict[str, bytes], dict[str, object]]:
    silver = {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted((root / "lake" / "silver").rglob("*.parquet"))
    }
    gold = {p.name: pq.read_table(p) for p in sorted((root / "gold").glob("*.parquet"))}
    return silver, gold


@pytest.mark.integration
def test_demo_runs_the_whole_flow_twice_with_the_same_result(cli: CLI, tmp_path: Path) -> None:
    first = cli("demo")
    assert first.returncode == 0, first.stderr
    out = first.stdout
    expected = write_daily_csvs(tmp_path / "expected")  # the demo's own sample set
    rows_in = figure(out, "rows in")
    assert rows_in == expected.data_lines
    assert rows_in == figure(out, "rows in silver") + figure(out, "rows quarantined")
    by_rule = {f.rule_id for f in expected.faults if f.kind == "quarantine"}
    for rule in by_rule:
        assert figure(out, f"quarantined: {rule}") == sum(
            f.rule_id == rule for f in expected.faults
        )
    assert figure(out, "kept, flagged: price.jump") >= 1
    assert re.search(r"[1-9]\d* models built", out)
    assert re.search(r"[1-9]\d* tests passed", out)
    assert ", 0 failed" in out
    data = tmp_path / "data"
    for name in ("warehouse.duckdb", "gold/fct_daily_bars.parquet", "gold/agg_bars_weekly.parquet"):
        assert (data / name).exists(), name
        assert name.split("/")[0] in out
    before = snapshot(data)
    assert before[0]
    assert before[1]

    second = cli("demo")
    assert second.returncode == 0, second.stderr
    assert "6 sample files, 0 newly landed (6 already there)" in second.stdout
    after = snapshot(data)
    assert after[0] == before[0]  # silver byte for byte
    assert after[1].keys() == before[1].keys()
    for name, table in before[1].items():
        assert after[1][name].equals(table), name  # type: ignore[attr-defined]

    status = cli("status")
    assert "build" in status.stdout
    assert "ingest.csv_daily" in status.stdout
