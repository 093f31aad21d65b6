"""The HTML report, written in-process: sections, figures, absent datasets, self-containment."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from marketlake import schemas
from marketlake.analytics.bar_stats import bar_statistics
from marketlake.analytics.report import write_report
from marketlake.analytics.report_data import gather_inputs
from marketlake.analytics.report_sections import SECTION_TITLES
from marketlake.config import Settings
from marketlake.errors import TerminalError
from marketlake.lake import Lake
from marketlake.lake.silver import publish_ingest
from marketlake.ops.ledger import Run, read_ledger

from .sample import sample_bars_info, write_bars_info, write_continuous

# What would make a browser fetch something: scripts, stylesheets, images, fonts, frames.
EXTERNAL = re.compile(
    r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""",
    re.IGNORECASE,
)


def assert_self_contained(page: str) -> None:
    assert not EXTERNAL.search(page), EXTERNAL.search(page)
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "http://" not in page
    assert "https://" not in page


def publish_daily(lake: Lake) -> None:
    """One ingest of daily bars with a quarantined row, so the quality section has a rule."""
    values = {
        "ts_event": [1_609_770_600_000_000_000],
        "session_date": [date(2021, 1, 4)],
        "interval": ["1d"],
        "symbol": ["MSFT"],
        "open": [1.0],
        "high": [2.0],
        "low": [0.5],
        "close": [1.5],
        "source": ["csv_daily"],
        "ingest_id": ["abc"],
    }
    full = pa.table(
        {f.name: pa.array(values.get(f.name, [None]), f.type) for f in schemas.BARS},
        schema=schemas.BARS,
    )
    quarantined = pa.table(
        {
            "dataset": ["bars"],
            "ingest_id": ["abc"],
            "source_row": [3],
            "symbol": ["MSFT"],
            "rule_id": ["ohlc.inconsistent"],
            "severity": ["ERROR"],
            "message": ["high below low"],
            "raw": ['{"line": "x"}'],
        },
        schema=schemas.QUARANTINE,
    )
    publish_ingest(
        lake,
        dataset="bars",
        source="csv_daily",
        ingest_id="abc",
        rows=full,
        quarantined=quarantined,
        rows_in=2,
        flagged_by_rule={"price.jump": 1},
    )


def write_gold(settings: Settings) -> None:
    gold = Path(settings.gold_uri)
    gold.mkdir(parents=True)
    pl.DataFrame(
        {
            "symbol_key": ["k"],
            "symbol": ["MSFT"],
            "first_session_date": [date(2021, 1, 4)],
            "last_session_date": [date(2021, 3, 31)],
            "trading_days": [60],
            "sources": ["csv_daily"],
        }
    ).write_parquet(gold / "dim_symbol.parquet")
    pl.DataFrame(
        {
            "symbol": ["MSFT"] * 3,
            "period_start": [date(2021, 1, 1), date(2021, 2, 1), date(2021, 3, 1)],
            "close": [100.0, 110.0, 121.0],
        }
    ).write_parquet(gold / "agg_bars_monthly.parquet")


@pytest.fixture(scope="module")
def full_lake(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A lake with bars_info (ES, and NQ from an older writer), futures, daily bars and gold."""
    from marketlake.config import load_settings
    from marketlake.lake import open_lake

    settings = load_settings(data_dir=tmp_path_factory.mktemp("report") / "data")
    lake = open_lake(settings)
    write_bars_info(lake, sample_bars_info("ES", weeks=6))
    older = sample_bars_info("NQ", weeks=6, seed=5).drop("complete", "bar_threshold", "source")
    write_bars_info(lake, older)
    write_continuous(lake)
    publish_daily(lake)
    write_gold(settings)
    return settings


def test_report_of_a_full_lake_has_every_section_and_figure(full_lake: Settings) -> None:
    run = Run(open_lake_of(full_lake))
    result = write_report(full_lake, symbols=["ES", "MSFT"], run=run)

    page = result.path.read_text()
    assert result.path == full_lake.data_dir.absolute() / "report.html"
    assert_self_contained(page)
    for title in SECTION_TITLES.values():
        assert f"<h2>{title}</h2>" in page
    # 4 bar-statistics figures for ES, the rebased closes, the continuous contract
    assert result.figures == page.count("<svg") == 6
    assert result.series == 4
    assert "NQ" not in page  # filtered out by --symbols
    assert "ohlc.inconsistent" in page
    assert "price.jump" in page
    assert "ESM1" in page  # a roll's target contract
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # many inline SVGs, no clashing ids
    assert "trades" in result.absent
    [row] = [r for r in read_ledger(run.lake) if r.run_id == run.run_id]
    assert (row.step, row.status, row.rows_out) == ("report", "ok", 6)


def test_older_bars_files_without_complete_or_source_are_read(full_lake: Settings) -> None:
    inputs = gather_inputs(full_lake, symbols=["NQ", "ES"])
    bars = inputs.bars_info
    assert set(bars["symbol"].unique().to_list()) == {"ES", "NQ"}
    older = bars.filter(pl.col("symbol") == "NQ")
    assert older["complete"].null_count() == older.height  # the column was absent: nulls
    stats = bar_statistics(bars, nlags=5, min_returns=30)
    assert stats.stability.filter(pl.col("symbol") == "NQ").height == 4
    coverage = {c.name: c for c in inputs.coverage}
    assert coverage["bars_info"].symbols == ["ES", "NQ"]
    assert coverage["bars_info"].rows == bars.height
    assert coverage["continuous"].first == date(2020, 12, 1)


def test_report_of_an_empty_lake_says_what_is_missing(settings: Settings) -> None:
    result = write_report(settings)
    page = result.path.read_text()
    assert_self_contained(page)
    for title in SECTION_TITLES.values():
        assert f"<h2>{title}</h2>" in page
    assert result.figures == 0
    assert "silver/bars_info is empty" in page
    assert "silver/continuous is empty" in page
    assert "run `marketlake build`" in page
    assert "No ingest has been published yet" in page
    assert set(result.absent) >= {"bars_info", "continuous", "gold"}


def test_report_is_replaced_atomically_on_a_second_run(settings: Settings, tmp_path: Path) -> None:
    output = tmp_path / "out" / "r.html"
    first = write_report(settings, output=output)
    output.write_text("stale")
    second = write_report(settings, output=output)
    assert first.path == second.path == output
    assert output.read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in output.parent.iterdir()) == ["r.html"]


def test_unwritable_output_is_one_clear_error(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(TerminalError) as caught:
        write_report(settings, output=folder)
    assert "cannot write the report" in caught.value.message
    assert caught.value.hint is not None
    assert "--output" in caught.value.hint
    assert caught.value.context["path"] == str(folder)


def open_lake_of(settings: Settings) -> Lake:
    from marketlake.lake import open_lake

    return open_lake(settings)
