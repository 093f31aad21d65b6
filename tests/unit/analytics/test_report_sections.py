"""The report's gold and sources sections: indicators, anomalies, sources, --symbols, absences."""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from marketlake import schemas
from marketlake.analytics.report import write_report
from marketlake.config import Settings, load_settings
from marketlake.errors import TerminalError
from marketlake.lake import open_lake
from marketlake.lake.bronze import land
from marketlake.lake.silver import publish_ingest
from marketlake.lake.store import Lake
from marketlake.lake.totals import lake_totals
from marketlake.ops.ledger import Run
from tests.integration.warehouse.sample_silver import daily_bars

# --- reading the page -------------------------------------------------------------------------


class _Tables(HTMLParser):
    """Every table of an HTML fragment as rows of cell texts (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def section(page: str, anchor: str) -> str:
    """The HTML of one section of the report."""
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', page, re.DOTALL)
    assert match, f"no section {anchor}"
    return match.group(1)


def tables(fragment: str) -> list[list[dict[str, str]]]:
    """The tables of a fragment, each as a list of {header: cell} rows."""
    parser = _Tables()
    parser.feed(fragment)
    return [[dict(zip(t[0], row, strict=True)) for row in t[1:]] for t in parser.tables]


def by_symbol(fragment: str) -> dict[str, str]:
    """The parts of a section under each ``<h3>`` heading, by heading."""
    parts = re.split(r"<h3>(.*?)</h3>", fragment)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


# --- gold written by hand ---------------------------------------------------------------------

LAST = date(2023, 6, 30)


def sessions(count: int) -> list[date]:
    """The last ``count`` weekdays up to LAST."""
    days: list[date] = []
    day = LAST
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


def indicators(symbol: str, count: int, start: float) -> pl.DataFrame:
    """fct_indicators_daily rows of one symbol: a smooth close and indicators in range."""
    n = range(count)
    close = [start * (1 + 0.1 * math.sin(i / 15)) for i in n]

    def after(first: int, values: list[float]) -> list[float | None]:
        return [v if i >= first else None for i, v in enumerate(values)]

    return pl.DataFrame(
        {
            "indicator_key": [f"{symbol}-{i}" for i in n],
            "symbol": [symbol] * count,
            "session_date": sessions(count),
            "day_index": list(n),
            "close": close,
            "volume": [1e6] * count,
            "simple_return": after(1, [0.001 * math.cos(i) for i in n]),
            "volatility_20d": after(20, [0.2] * count),
            "volatility_252d": after(252, [0.25] * count),
            "close_zscore_20d": after(20, [0.5] * count),
            "return_zscore_20d": after(21, [-1.25] * count),
            "volume_zscore_20d": after(20, [0.0] * count),
            "sma_20": after(19, [c * 0.99 for c in close]),
            "sma_50": after(49, [c * 0.98 for c in close]),
            "sma_200": after(199, [c * 0.97 for c in close]),
            "rsi_14": after(14, [50 + 30 * math.sin(i / 7) for i in n]),
            "macd": after(25, [math.sin(i / 10) for i in n]),
            "macd_signal": after(33, [math.sin((i - 3) / 10) for i in n]),
            "macd_histogram": after(33, [math.sin(i / 10) - math.sin((i - 3) / 10) for i in n]),
        }
    )


ANOMALIES = [
    # symbol, session, rule, measured, threshold
    ("AAA", LAST - timedelta(days=400), "gap", 0.9, 0.1),  # the most extreme (9x), long ago
    ("AAA", date(2023, 6, 1), "return_zscore", -5.2, 4.0),
    ("AAA", date(2023, 6, 1), "volume_spike", 6.0, 5.0),
    ("BBB", date(2023, 3, 1), "return_zscore", 12.0, 4.0),  # older than BBB's last 120 days
    ("CCC", date(2023, 6, 29), "stale_price", 5.0, 5.0),  # the most recent
]


def write_gold(settings: Settings) -> None:
    """fct_indicators_daily (AAA 400, BBB 300, CCC 60, DDD 5 sessions) and fct_anomalies."""
    gold = Path(settings.gold_uri)
    gold.mkdir(parents=True, exist_ok=True)
    pl.concat(
        [
            indicators("AAA", 400, 100.0),
            indicators("BBB", 300, 50.0),
            indicators("CCC", 60, 10.0),
            indicators("DDD", 5, 1.0),
        ]
    ).write_parquet(gold / "fct_indicators_daily.parquet")
    pl.DataFrame(
        [
            {
                "anomaly_key": f"k{i}",
                "symbol": s,
                "session_date": d,
                "rule_id": rule,
                "measured_value": value,
                "threshold": threshold,
                "explanation": f"{rule} of {s} on {d}: {value} against {threshold}.",
            }
            for i, (s, d, rule, value, threshold) in enumerate(ANOMALIES)
        ]
    ).write_parquet(gold / "fct_anomalies.parquet")


@pytest.fixture
def gold_settings(tmp_path: Path) -> Settings:
    settings = load_settings(
        data_dir=tmp_path / "data",
        analytics={"max_symbols": 2, "indicator_days": 120, "max_anomalies": 3},
    )
    write_gold(settings)
    return settings


# --- indicators -------------------------------------------------------------------------------


def test_indicators_chart_the_symbols_with_most_sessions_and_name_the_rest(
    gold_settings: Settings,
) -> None:
    result = write_report(gold_settings)
    page = result.path.read_text()
    part = section(page, "indicators")

    charts = by_symbol(part)
    assert list(charts) == ["AAA", "BBB"]  # max_symbols = 2, most sessions first
    assert "Left out, with their sessions: CCC (60), DDD (5);" in part
    assert all(chart.count("<svg") == 1 for chart in charts.values())
    assert result.figures == page.count("<svg") == 2
    # Each chart covers the last 120 calendar days of its symbol: from the first session after.
    first = min(d for d in sessions(400) if d > LAST - timedelta(days=120))
    assert f"AAA: daily close and indicators, {first} to {LAST}" in charts["AAA"]
    for drawn in ("SMA 20", "SMA 50", "SMA 200", "RSI(14)", "MACD(12,26,9)"):
        assert drawn in charts["AAA"], drawn
    [latest] = [t for t in tables(part) if t and "volatility 252d" in t[0]]
    assert [r["symbol"] for r in latest] == ["AAA", "BBB"]
    aaa = latest[0]
    assert aaa["last session"] == str(LAST)
    assert aaa["volatility 20d"] == "20.00%"
    assert aaa["volatility 252d"] == "25.00%"
    assert aaa["return z"] == "-1.25"
    assert aaa["RSI(14)"] == str(round(50 + 30 * math.sin(399 / 7), 1))


def test_anomalies_are_counted_listed_and_marked_on_the_close(gold_settings: Settings) -> None:
    page = write_report(gold_settings).path.read_text()
    part = section(page, "anomalies")

    rules, counts, recent, extreme = tables(part)
    assert {r["rule"]: r["sessions flagged"] for r in rules} == {
        "return_zscore": "2",
        "volume_spike": "1",
        "gap": "1",
        "stale_price": "1",
    }
    assert counts[0] == {
        "symbol": "AAA",
        "return_zscore": "1",
        "volume_spike": "1",
        "gap": "1",
        "stale_price": "0",
        "total": "3",
    }
    assert [r["symbol"] for r in counts] == ["AAA", "BBB", "CCC"]
    assert "Most recent (3 of 5)" in part  # analytics.max_anomalies = 3
    assert [(r["session"], r["symbol"]) for r in recent] == [
        ("2023-06-29", "CCC"),
        ("2023-06-01", "AAA"),
        ("2023-06-01", "AAA"),
    ]
    assert recent[0]["why"] == "stale_price of CCC on 2023-06-29: 5.0 against 5.0."
    assert [(r["symbol"], r["rule"], r["× threshold"]) for r in extreme] == [
        ("AAA", "gap", "9"),
        ("BBB", "return_zscore", "3"),
        ("AAA", "return_zscore", "1.3"),
    ]
    charts = by_symbol(section(page, "indicators"))
    # AAA's flags of 2023-06-01 are in its window (a circle on the close, in the legend);
    # BBB's flag of 2023-03-01 is older than BBB's last 120 days: nothing to mark.
    assert ">anomaly<" in charts["AAA"]
    assert ">anomaly<" not in charts["BBB"]


def test_symbols_restrict_the_gold_sections(gold_settings: Settings) -> None:
    page = write_report(gold_settings, symbols=["CCC", "DDD", "ZZZ"]).path.read_text()

    indicators_part = section(page, "indicators")
    charts = by_symbol(indicators_part)
    assert list(charts) == ["CCC", "DDD"]  # asked for: shown however few their sessions
    assert charts["CCC"].count("<svg") == 1
    assert "<svg" not in charts["DDD"]
    assert "DDD has 5 sessions in its last 120 days: too few to chart" in charts["DDD"]
    assert "No daily indicators for ZZZ" in indicators_part
    assert "Left out" not in indicators_part
    [latest] = [t for t in tables(indicators_part) if t and "volatility 252d" in t[0]]
    assert [r["symbol"] for r in latest] == ["CCC", "DDD"]
    assert latest[0]["volatility 252d"] == "—"  # 60 sessions: no 252-day window yet
    part = section(page, "anomalies")
    _, counts, every = tables(part)  # one flag: a single list, no "most extreme" repeat
    assert [r["symbol"] for r in counts + every] == ["CCC"] * 2
    assert "Every flagged session (1), most recent first" in part
    assert "Most extreme" not in part
    assert "AAA" not in page
    assert "BBB" not in page


def test_missing_marts_say_what_to_run_and_the_rest_is_written(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    gold = Path(settings.gold_uri)
    gold.mkdir(parents=True)
    # An older build: daily marts exported, but no indicators nor anomalies.
    pl.DataFrame({"symbol": ["AAA"], "period_start": [LAST], "close": [1.0]}).write_parquet(
        gold / "agg_bars_monthly.parquet"
    )

    result = write_report(settings)

    page = result.path.read_text()
    for anchor, mart in (("indicators", "fct_indicators_daily"), ("anomalies", "fct_anomalies")):
        part = section(page, anchor)
        assert f"No {anchor} in gold ({settings.gold_uri}/{mart}.parquet)" in part
        assert "run `marketlake build`" in part
    assert "<h2>Bar statistics</h2>" in page
    assert "gold" not in result.absent  # gold exists: only these marts are missing


def test_symbols_without_anomalies_say_so(gold_settings: Settings) -> None:
    page = write_report(gold_settings, symbols=["ZZZ"]).path.read_text()
    assert "No session broke an anomaly rule for ZZZ" in section(page, "anomalies")
    assert "Gold holds no daily indicators for ZZZ" in section(page, "indicators")


# --- sources ----------------------------------------------------------------------------------

INGEST_RUN = "20200101T000000Z-aaaaaa"  # sorts before any run a test starts now


def deliver_daily(lake: Lake, symbol: str, days: list[date], *, bad: int) -> str:
    """Land a csv_daily delivery of ``symbol`` and publish it with ``bad`` quarantined rows."""
    entry, _ = land(
        lake,
        symbol.encode(),
        source="csv_daily",
        logical_key=f"{symbol}.csv",
        original_name=f"{symbol}.csv",
        symbol=symbol,
    )
    rows = daily_bars(symbol, days, seed=3, source="csv_daily", ingest_id=entry.ingest_id)
    quarantined = pa.table(
        {
            "dataset": ["bars"] * bad,
            "ingest_id": [entry.ingest_id] * bad,
            "source_row": list(range(bad)),
            "symbol": [symbol] * bad,
            "rule_id": ["price.range"] * bad,
            "severity": ["ERROR"] * bad,
            "message": ["close below 0.01"] * bad,
            "raw": ['{"close": "-1"}'] * bad,
        },
        schema=schemas.QUARANTINE,
    )
    publish_ingest(
        lake,
        dataset="bars",
        source="csv_daily",
        ingest_id=entry.ingest_id,
        rows=rows,
        quarantined=quarantined,
        rows_in=rows.num_rows + bad,
        flagged_by_rule={},
    )
    return entry.ingest_id


def deliver_ticks(lake: Lake) -> str:
    """An HDF5 delivery (manifest source hdf5_ticks; record source hdf5:tick/trades)."""
    entry, _ = land(
        lake,
        b"ticks",
        source="hdf5_ticks",
        logical_key="ES.h5",
        original_name="ES.h5",
        symbol="ES",
    )
    ts = [1_640_000_000_000_000_000 + i * 1_000_000_000 for i in range(5)]
    values = {
        "ts_event": ts,
        "symbol": ["ESH2"] * 5,
        "price": [4700.0] * 5,
        "size": [1.0] * 5,
        "source": ["hdf5"] * 5,
        "ingest_id": [entry.ingest_id] * 5,
    }
    rows = pa.table(
        {f.name: pa.array(values.get(f.name, [None] * 5), f.type) for f in schemas.TRADES},
        schema=schemas.TRADES,
    )
    publish_ingest(
        lake,
        dataset="trades",
        source="hdf5:tick/trades",
        ingest_id=entry.ingest_id,
        rows=rows,
        quarantined=schemas.QUARANTINE.empty_table(),
        rows_in=5,
        flagged_by_rule={},
    )
    return entry.ingest_id


@pytest.fixture
def sourced(settings: Settings) -> Settings:
    """Two csv_daily deliveries, one HDF5 delivery, and an ingest run whose HDF5 step failed."""
    lake = open_lake(settings)
    aaa = sessions(40)
    deliver_daily(lake, "AAA", aaa, bad=2)
    deliver_daily(lake, "BBB", [d - timedelta(days=365) for d in aaa], bad=0)
    deliver_ticks(lake)
    run = Run(lake, run_id=INGEST_RUN)
    with run.step("ingest.csv_daily", "AAA.csv"):
        pass
    with pytest.raises(TerminalError), run.step("ingest.hdf5_ticks", "ES.h5"):
        raise TerminalError("ES.h5 has no key tick/trades")
    return settings


def test_sources_sum_the_ingest_records_and_name_the_last_run(sourced: Settings) -> None:
    lake = open_lake(sourced)
    write_report(sourced, run=Run(lake))  # a report-only run: not "the last run"
    page = write_report(sourced, run=Run(lake)).path.read_text()
    part = section(page, "sources")

    data, runs, failed = tables(part)
    assert [r["source"] for r in data] == ["csv_daily", "hdf5_ticks"]  # the manifest's names
    for row, source in zip(data, ("csv_daily", "hdf5"), strict=True):
        totals = lake_totals(sourced, source=source)
        numbers = [row["rows in"], row["in silver"], row["quarantined"]]
        assert numbers == [
            f"{totals.rows_in:,}",
            f"{totals.rows_out:,}",
            f"{totals.rows_quarantined:,}",
        ]
    csv = data[0]
    assert (csv["deliveries"], csv["quarantined"], csv["datasets"]) == ("2", "2", "bars")
    assert csv["data from"] == str(sessions(40)[0] - timedelta(days=365))
    assert csv["data to"] == str(LAST)
    assert (data[1]["deliveries"], data[1]["datasets"]) == ("1", "trades")
    assert data[1]["data from"] == data[1]["data to"] == "2021-12-20"
    assert {r["source"]: (r["last run"], r["status"]) for r in runs} == {
        "csv_daily": (INGEST_RUN, "ok"),
        "hdf5_ticks": (INGEST_RUN, "failed"),
    }
    assert runs[1]["error"] == "ES.h5 has no key tick/trades"
    assert f"Last run in the ledger: {INGEST_RUN}" in part
    assert "2 steps, 1 ok, 0 skipped, 1 failed" in part
    assert failed == [
        {"step": "ingest.hdf5_ticks", "target": "ES.h5", "error": "ES.h5 has no key tick/trades"}
    ]


def test_sources_of_some_symbols_count_only_their_deliveries(sourced: Settings) -> None:
    page = write_report(sourced, symbols=["AAA"]).path.read_text()
    data = tables(section(page, "sources"))[0]

    assert [(r["source"], r["deliveries"], r["quarantined"]) for r in data] == [
        ("csv_daily", "1", "2")
    ]
    assert data[0]["rows in"] == str(40 + 2)
    assert data[0]["data from"] == str(sessions(40)[0])
    # The quality section counts the same ingests: AAA's delivery, not BBB's nor the ticks'.
    totals = tables(section(page, "quality"))[0]
    assert [(r["dataset"], r["ingests"], r["rows in"]) for r in totals] == [("bars", "1", "42")]


def test_sources_of_an_empty_lake_say_what_to_run(settings: Settings) -> None:
    part = section(write_report(settings).path.read_text(), "sources")
    assert "Nothing landed in bronze yet: ingest a file" in part
    assert "The run ledger is empty" in part
