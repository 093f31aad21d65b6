"""The read layer the API and the dashboard share: gold marts, quarantine, runs, versions."""

from __future__ import annotations

import math
import os
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from marketlake import schemas
from marketlake.config import Settings
from marketlake.lake import Lake
from marketlake.lake.silver import publish_ingest
from marketlake.ops.ledger import Run
from marketlake.serve import queries
from marketlake.serve.gold import GoldCache, MartMissingError


def write_mart(settings: Settings, model: str, frame: pl.DataFrame) -> Path:
    """Export a mart the way ``marketlake build`` does: ``<gold>/<model>.parquet``."""
    path = Path(settings.gold_uri) / f"{model}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    frame.write_parquet(tmp)
    os.replace(tmp, path)  # atomic, as the exporter replaces marts
    return path


def dim_symbol(*symbols: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "symbol": [*symbols, symbols[0]],
            "is_current": [True] * len(symbols) + [False],  # an old version of the first
            "symbol_name": [f"{s} Inc." for s in symbols] + ["old name"],
            "trading_days": [10] * len(symbols) + [5],
        }
    )


def monthly(symbol: str, closes: list[float]) -> pl.DataFrame:
    starts = [date(2024, m, 1) for m in range(1, len(closes) + 1)]
    return pl.DataFrame(
        {
            "symbol": [symbol] * len(closes),
            "period_start": starts,
            "period_label": [d.strftime("%Y-%m") for d in starts],
            "close": closes,
        }
    )


@pytest.fixture
def gold(settings: Settings) -> GoldCache:
    return GoldCache(settings)


def test_symbols_are_the_current_versions_sorted(settings: Settings, gold: GoldCache) -> None:
    write_mart(settings, "dim_symbol", dim_symbol("MSFT", "AAPL"))
    frame = queries.current_symbols(gold)
    assert frame["symbol"].to_list() == ["AAPL", "MSFT"]
    assert "old name" not in frame["symbol_name"].to_list()
    assert queries.known_symbols(gold) == {"AAPL", "MSFT"}


def test_before_a_build_nothing_is_known_and_marts_are_missing(gold: GoldCache) -> None:
    assert queries.known_symbols(gold) == set()
    with pytest.raises(MartMissingError) as missing:
        queries.current_symbols(gold)
    assert missing.value.model == "dim_symbol"
    # An unknown symbol is reported before the missing mart (the API's 404 says which).
    with pytest.raises(queries.UnknownSymbolError):
        queries.aggregates(gold, "MSFT", "monthly")


def test_aggregates_of_one_symbol_within_the_days_asked(
    settings: Settings, gold: GoldCache
) -> None:
    write_mart(settings, "dim_symbol", dim_symbol("MSFT", "AAPL"))
    both = pl.concat([monthly("MSFT", [1.0, 2.0, 3.0, 4.0]), monthly("AAPL", [9.0, 9.0])])
    write_mart(settings, "agg_bars_monthly", both.reverse())
    frame = queries.aggregates(gold, "MSFT", "monthly", date(2024, 2, 1), date(2024, 3, 1))
    assert frame["period_label"].to_list() == ["2024-02", "2024-03"]  # bounds included, sorted
    assert set(frame["symbol"]) == {"MSFT"}
    with pytest.raises(MartMissingError):
        queries.aggregates(gold, "MSFT", "weekly")
    with pytest.raises(queries.UnknownSymbolError) as unknown:
        queries.aggregates(gold, "IBM", "monthly")
    assert unknown.value.symbol == "IBM"


def test_period_returns_are_close_over_previous_close() -> None:
    frame = queries.period_returns(monthly("MSFT", [100.0, 110.0, 99.0]))
    returns = frame["period_return"].to_list()
    assert returns[0] is None
    assert returns[1] == pytest.approx(0.10)
    assert returns[2] == pytest.approx(99 / 110 - 1)


def test_a_rebuilt_mart_is_read_again(settings: Settings, gold: GoldCache) -> None:
    write_mart(settings, "dim_symbol", dim_symbol("AAPL"))
    first = gold.version("dim_symbol")
    assert queries.known_symbols(gold) == {"AAPL"}
    write_mart(settings, "dim_symbol", dim_symbol("AAPL", "MSFT", "IBM"))
    assert gold.version("dim_symbol") != first
    assert queries.known_symbols(gold) == {"AAPL", "IBM", "MSFT"}
    assert queries.gold_version(gold, "dim_symbol", "fct_anomalies")[1] is None


def test_anomalies_keep_their_sentence_and_json_gets_no_nan(
    settings: Settings, gold: GoldCache
) -> None:
    write_mart(settings, "dim_symbol", dim_symbol("MSFT"))
    write_mart(
        settings,
        "fct_anomalies",
        pl.DataFrame(
            {
                "symbol": ["MSFT", "MSFT"],
                "session_date": [date(2024, 1, 3), date(2024, 1, 2)],
                "rule_id": ["gap", "volume_spike"],
                "measured_value": [math.nan, 9.4],
                "explanation": ["Opened 12% above the previous close.", "Volume 9.4x."],
            }
        ),
    )
    rows = queries.records(queries.anomalies(gold, "MSFT"))
    assert [r["session_date"] for r in rows] == [date(2024, 1, 2), date(2024, 1, 3)]
    assert rows[1]["measured_value"] is None
    assert rows[1]["explanation"] == "Opened 12% above the previous close."


def test_information_bars_of_a_symbol_gold_has_only_as_bars(
    settings: Settings, gold: GoldCache
) -> None:
    # ES has information bars but is not in dim_symbol (no daily bars): still served.
    write_mart(settings, "dim_symbol", dim_symbol("MSFT"))
    write_mart(
        settings,
        "fct_bars_info",
        pl.DataFrame(
            {
                "series_key": ["b", "a", "a"],
                "symbol": ["ES"] * 3,
                "kind": ["dollar", "tick", "tick"],
                "bar_number": [1, 2, 1],
                "bar_date": [date(2024, 1, 2)] * 3,
            }
        ),
    )
    frame = queries.bars_info(gold, "ES")
    assert frame.select("series_key", "bar_number").rows() == [("a", 1), ("a", 2), ("b", 1)]
    assert queries.bars_info(gold, "ES", "dollar").height == 1
    assert queries.bars_info(gold, "MSFT").is_empty()  # known, no bars
    with pytest.raises(queries.UnknownSymbolError):
        queries.bars_info(gold, "NOPE")


def _quarantine(lake: Lake, ingest_id: str, rules: list[str], dataset: str = "bars") -> None:
    n = len(rules)
    bad = pa.table(
        {
            "dataset": [dataset] * n,
            "ingest_id": [ingest_id] * n,
            "source_row": list(range(2, n + 2)),
            "symbol": ["MSFT"] * n,
            "rule_id": rules,
            "severity": ["ERROR"] * n,
            "message": [f"broke {r}" for r in rules],
            "raw": [f'{{"line": "row {i}"}}' for i in range(n)],
        },
        schema=schemas.QUARANTINE,
    )
    publish_ingest(
        lake,
        dataset=dataset,
        source="test",
        ingest_id=ingest_id,
        rows=schemas.schema_of(dataset).empty_table(),
        quarantined=bad,
        rows_in=n,
        flagged_by_rule={"volume.zero": 2},
    )


def test_quality_summary_by_dataset_and_rule_with_examples(lake: Lake) -> None:
    _quarantine(lake, "i1", ["price.range"] * 4 + ["row.null"])
    _quarantine(lake, "i2", ["ts.unsorted"], dataset="trades")
    summary = queries.quality_summary(lake, examples=2)
    assert summary["total"] == 6
    got = [(r["dataset"], r["rule_id"], r["rows"], len(r["examples"])) for r in summary["rules"]]
    assert got == [
        ("bars", "price.range", 4, 2),
        ("bars", "row.null", 1, 1),
        ("trades", "ts.unsorted", 1, 1),
    ]
    assert summary["rules"][0]["examples"][0]["raw"] == '{"line": "row 0"}'
    only = queries.quality_summary(lake, "trades", examples=2)
    assert only["total"] == 1
    totals = queries.silver_totals(lake)
    assert totals.select("dataset", "rows_in", "rows_quarantined", "rows_flagged").rows() == [
        ("bars", 5, 5, 2),
        ("trades", 1, 1, 2),
    ]


def test_an_empty_lake_has_nothing_quarantined(lake: Lake) -> None:
    assert queries.quality_summary(lake, examples=3) == {"total": 0, "rules": []}
    assert queries.silver_totals(lake).is_empty()
    assert queries.run_summaries(lake, limit=5) == []


def test_runs_newest_first_failed_when_a_step_failed(lake: Lake) -> None:
    ok = Run(lake, "20240101T000000Z-aaaaaa")
    with ok.step("ingest.csv_daily", "a.csv") as row:
        row.rows_in = 3
    with ok.step("build", "dbt"):
        pass
    bad = Run(lake, "20240102T000000Z-bbbbbb")
    with pytest.raises(RuntimeError), bad.step("build", "dbt"):
        raise RuntimeError("model failed")
    runs = queries.run_summaries(lake, limit=10, running={"20240103T000000Z-cccccc"})
    assert [(r["run_id"][:8], r["status"]) for r in runs] == [
        ("20240103", "running"),
        ("20240102", "failed"),
        ("20240101", "ok"),
    ]
    assert [s["step"] for s in runs[2]["steps"]] == ["ingest.csv_daily", "build"]
    assert "model failed" in runs[1]["steps"][0]["error"]
    assert len(queries.run_summaries(lake, limit=1)) == 1


def test_versions_change_when_the_lake_is_written(lake: Lake) -> None:
    quarantine, ledger = queries.quarantine_version(lake), queries.ledger_version(lake)
    _quarantine(lake, "i1", ["price.range"])
    assert queries.quarantine_version(lake) != quarantine
    with Run(lake).step("build", "dbt"):
        pass
    assert queries.ledger_version(lake) != ledger
    same = queries.quarantine_version(lake)
    assert queries.quarantine_version(lake) == same  # nothing written: the same key


def test_window_start_is_clamped_to_the_data() -> None:
    last, first = date(2024, 12, 31), date(2024, 6, 1)
    assert queries.window_start(last, 365, first) == first
    assert queries.window_start(last, 31, first) == last - timedelta(days=30)
    assert queries.window_start(last, None, first) == first


def test_interval_lengths_order_intervals() -> None:
    got = sorted(["1d", "1m", "1w", "15m", "1h", "1mo"], key=queries.interval_seconds)
    assert got == ["1m", "15m", "1h", "1d", "1w", "1mo"]
