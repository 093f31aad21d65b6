"""`marketlake demo` as a newcomer runs it: the whole flow, a summary, and idempotence."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from marketlake.sources.csv_daily.sample import write_daily_csvs
from tests.e2e.conftest import CLI


def figure(stdout: str, label: str, source: str = "csv_daily") -> int:
    """A rule's row count for ``source`` in the summary's "why" table."""
    match = re.search(rf"{re.escape(label)}\s*│\s*{source}\s*│\s*([\d,]+)", stdout)
    assert match, f"{label!r} of {source} not in the summary:\n{stdout}"
    return int(match.group(1).replace(",", ""))


def source_row(stdout: str, source: str) -> dict[str, int]:
    """deliveries, rows in, in silver, quarantined, flagged of one source in the summary."""
    cell = r"\s*│\s*([\d,]+)"
    match = re.search(rf"│ {source}{cell * 5}", stdout)
    assert match, f"{source} not in the summary:\n{stdout}"
    names = ("deliveries", "rows in", "in silver", "quarantined", "flagged")
    return {n: int(v.replace(",", "")) for n, v in zip(names, match.groups(), strict=True)}


def snapshot(root: Path) -> tuple[dict[str, bytes], dict[str, pl.DataFrame]]:
    silver = {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted((root / "lake" / "silver").rglob("*.parquet"))
    }
    gold = {p.name: pl.read_parquet(p) for p in sorted((root / "gold").glob("*.parquet"))}
    return silver, gold


@pytest.mark.integration
def test_demo_runs_the_whole_flow_twice_with_the_same_result(cli: CLI, tmp_path: Path) -> None:
    first = cli("demo")
    assert first.returncode == 0, first.stderr
    out = first.stdout
    expected = write_daily_csvs(tmp_path / "expected")  # the demo's own sample set
    csv = source_row(out, "csv_daily")
    assert csv["rows in"] == expected.data_lines
    assert csv["rows in"] == csv["in silver"] + csv["quarantined"]
    # every other source format was read too, and every row ended in silver or quarantine
    for source in ("reference", "alphavantage", "s3_json", "polygon", "hdf5"):
        row = source_row(out, source)
        assert row["deliveries"] > 0, source
        assert row["in silver"] > 0, source
        assert row["rows in"] == row["in silver"] + row["quarantined"], source
    by_rule = {f.rule_id for f in expected.faults if f.kind == "quarantine"}
    for rule in by_rule:
        assert figure(out, f"quarantined: {rule}") == sum(
            f.rule_id == rule for f in expected.faults
        )
    assert figure(out, "kept, flagged: price.jump") >= 1
    assert re.search(r"[1-9]\d* models built", out)
    assert re.search(r"[1-9]\d* tests passed", out)
    assert ", 0 failed" in out
    # the futures flow: ticks -> bars of every kind -> continuous contract -> report
    assert "ES ticks: information-driven bars" in out
    for kind in ("time", "tick", "volume", "dollar"):
        assert re.search(rf"ES\w+\s+│ {kind}\s+│", out), kind
    assert re.search(r"continuous ES: \d+ contracts, [1-9]\d* rolls", out)
    assert re.search(r"ES[HMUZ]\d+ -> ES[HMUZ]\d+, gap [+-]\d", out)
    data = tmp_path / "data"
    html = (data / "report.html").read_text()
    assert "<svg" in html
    assert "http://" not in html.replace("http://www.w3.org", "")
    for name in (
        "warehouse.duckdb",
        "gold/fct_daily_bars.parquet",
        "gold/agg_bars_weekly.parquet",
        "gold/agg_bar_counts_weekly.parquet",
        "gold/fct_prices.parquet",
        "gold/dim_symbol.parquet",
        "gold/fct_indicators_daily.parquet",
        "gold/fct_anomalies.parquet",
        "report.html",
    ):
        assert (data / name).exists(), name
        assert name.split("/")[0] in out
    before = snapshot(data)
    assert before[0]
    assert before[1]

    second = cli("demo")
    assert second.returncode == 0, second.stderr
    assert "6 sample files, 0 newly landed (6 already there)" in second.stdout
    for source in ("csv_daily", "reference", "alphavantage", "s3_json", "polygon", "hdf5"):
        assert source_row(second.stdout, source) == source_row(out, source), source
    after = snapshot(data)
    assert after[0] == before[0]  # silver byte for byte
    assert after[1].keys() == before[1].keys()
    for name, table in before[1].items():
        # Same rows and keys; floating-point aggregates may differ in the last bits because
        # DuckDB sums in parallel, in an order that is not fixed (seen: 1e-14 relative).
        assert_frame_equal(after[1][name], table, rel_tol=1e-12, abs_tol=1e-300)

    status = cli("status")
    assert "build" in status.stdout
    assert "ingest.csv_daily" in status.stdout
