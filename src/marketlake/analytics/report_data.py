"""What the report reads: silver coverage, quality records, sources, gold, bars and futures.

The I/O edge of the report. Everything is read once into small frames and dataclasses;
datasets that do not exist yet come back empty or ``None``, never as an error, so a report can
be written at any stage of a lake's life and say plainly what is missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, unquote

import polars as pl

from marketlake.analytics.report_gold import (
    IndicatorInputs,
    read_anomalies,
    read_indicators,
    read_sources,
)
from marketlake.analytics.report_sources import SourcesInputs, Span, gather_sources, of_symbols
from marketlake.config import Settings
from marketlake.lake.bronze import read_manifest
from marketlake.lake.compact import ingest_of, live_keys
from marketlake.lake.silver import IngestRecord, read_records
from marketlake.lake.store import Lake, open_lake
from marketlake.quality.rules import RULES

log = logging.getLogger(__name__)

# The silver datasets the coverage section lists, in the order of the flow.
DATASETS = (
    "trades",
    "quotes",
    "bars",
    "indicators",
    "anomalies",
    "symbols",
    "bars_info",
    "continuous",
    "continuous_rolls",
    "instruments",
)
# The first of these a dataset has is the time its rows cover.
TIME_COLUMNS = ("session_date", "ts_event", "ts_end", "roll_date", "expiry")
BARS_INFO_COLUMNS = (
    "ts_start",
    "ts_end",
    "symbol",
    "kind",
    "threshold",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "tick_count",
    "complete",
)
GOLD_MARTS = ("dim_symbol", "agg_bars_monthly")


@dataclass(frozen=True)
class DatasetCoverage:
    """What one silver dataset holds."""

    name: str
    files: int
    rows: int
    symbols: list[str]
    first: date | None
    last: date | None
    spans: dict[str, Span] = field(default_factory=dict)  # ingest id -> dates its rows cover


@dataclass(frozen=True)
class QualityLine:
    """Rows of one dataset that broke one rule."""

    dataset: str
    rule_id: str
    severity: str  # ERROR: quarantined; WARNING: kept in silver, flagged
    rows: int
    description: str


@dataclass(frozen=True)
class QualityTotals:
    """Rows in, in silver and quarantined, per dataset, over every published ingest."""

    dataset: str
    ingests: int
    rows_in: int
    rows_out: int
    rows_quarantined: int


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows, read from the lake and gold."""

    generated_at: datetime
    data_dir: str
    lake_url: str
    gold_url: str
    symbols: list[str] | None  # the --symbols filter, None for all
    coverage: list[DatasetCoverage]
    quality_totals: list[QualityTotals]
    quality: list[QualityLine]
    gold: dict[str, pl.DataFrame] = field(default_factory=dict)  # mart -> rows, when exported
    bars_info: pl.DataFrame = field(default_factory=pl.DataFrame)
    continuous: pl.DataFrame | None = None
    rolls: pl.DataFrame | None = None
    indicators: IndicatorInputs | None = None  # None: fct_indicators_daily not in gold
    anomalies: pl.DataFrame | None = None  # None: fct_anomalies not in gold
    sources: SourcesInputs = field(default_factory=SourcesInputs)


def gather_inputs(settings: Settings, *, symbols: list[str] | None = None) -> ReportInputs:
    """Read everything the report needs.

    Args:
        settings: Where the lake and gold are.
        symbols: Only these symbols (bars, futures roots, daily bars); None for all.

    Returns:
        The report's inputs; absent datasets are empty or None.
    """
    lake = open_lake(settings)
    gold = Lake(settings.gold_uri, settings.storage_options())
    records, manifest = read_records(lake), read_manifest(lake)
    totals, quality = quality_summary(of_symbols(records, manifest, symbols)[0])
    coverage = [dataset_coverage(lake, name, symbols) for name in DATASETS]
    analytics = settings.analytics
    sources = gather_sources(
        lake,
        records,
        manifest,
        {ingest: span for c in coverage for ingest, span in c.spans.items()},
        read_sources(gold),
        symbols=symbols,
        ledger_runs=analytics.ledger_runs,
    )
    return ReportInputs(
        generated_at=datetime.now(UTC),
        data_dir=str(settings.data_dir.absolute()),
        lake_url=lake.url(""),
        gold_url=gold.url(""),
        symbols=symbols,
        coverage=coverage,
        quality_totals=totals,
        quality=quality,
        gold=read_gold(gold, symbols),
        bars_info=read_silver(lake, "bars_info", symbols, columns=BARS_INFO_COLUMNS),
        continuous=_or_none(read_silver(lake, "continuous", symbols)),
        rolls=_or_none(read_silver(lake, "continuous_rolls", symbols)),
        indicators=read_indicators(
            gold, symbols, days=analytics.indicator_days, max_symbols=analytics.max_symbols
        ),
        anomalies=read_anomalies(gold, symbols),
        sources=sources,
    )


def dataset_files(lake: Lake, dataset: str, symbols: list[str] | None = None) -> list[str]:
    """Lake keys of a silver dataset's Parquet files, only those of ``symbols`` when given."""
    # The live files only: inputs of a committed compaction not yet deleted are left out.
    keys = live_keys(lake, dataset)
    if symbols is None:
        return keys
    wanted = {f"symbol={quote(s, safe='')}" for s in symbols}
    # Files outside symbol= partitions cannot be told apart by path: keep them, filter rows.
    return [k for k in keys if (wanted & set(k.split("/"))) or ("/symbol=" not in k)]


def read_silver(
    lake: Lake,
    dataset: str,
    symbols: list[str] | None = None,
    *,
    columns: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Every row of a silver dataset (of ``symbols``), columns unified across files.

    Files written before a column existed get it as nulls, so older and newer writers mix.
    """
    frames = [_read_file(lake, key, columns) for key in dataset_files(lake, dataset, symbols)]
    if not frames:
        return pl.DataFrame()
    rows = pl.concat(frames, how="diagonal_relaxed")
    if symbols is not None and "symbol" in rows.columns:
        rows = rows.filter(pl.col("symbol").is_in(symbols))
    return rows


def _read_file(lake: Lake, key: str, columns: tuple[str, ...] | None) -> pl.DataFrame:
    if lake.is_local:
        # Read only the columns wanted, straight from disk (bars can be millions of rows).
        path = lake.full(key)
        present = pl.read_parquet_schema(path)
        wanted = [c for c in columns if c in present] if columns else None
        return pl.read_parquet(path, columns=wanted)
    frame = pl.from_arrow(lake.read_parquet(key))
    assert isinstance(frame, pl.DataFrame)
    return frame.select([c for c in columns if c in frame.columns]) if columns else frame


def read_gold(gold: Lake, symbols: list[str] | None) -> dict[str, pl.DataFrame]:
    """The gold marts the report summarises, those that were exported."""
    marts: dict[str, pl.DataFrame] = {}
    for mart in GOLD_MARTS:
        key = f"{mart}.parquet"
        if not gold.exists(key):
            continue
        frame = pl.from_arrow(gold.read_parquet(key))
        assert isinstance(frame, pl.DataFrame)
        if symbols is not None:
            frame = frame.filter(pl.col("symbol").is_in(symbols))
        marts[mart] = frame
    return marts


def dataset_coverage(lake: Lake, dataset: str, symbols: list[str] | None) -> DatasetCoverage:
    """Files, rows, symbols and time span of a dataset, from Parquet footers only.

    Reading footers (row counts, min/max statistics) costs one small read per file however
    many rows a file holds, so this stays fast on hundreds of millions of trades.
    """
    import pyarrow.parquet as pq

    keys = dataset_files(lake, dataset, symbols)
    rows = 0
    found: set[str] = set()
    spans: dict[str, Span] = {}
    for key in keys:
        parts = key.split("/")
        found.update(unquote(p.removeprefix("symbol=")) for p in parts if p.startswith("symbol="))
        with lake.fs.open(lake.full(key), "rb") as handle:
            meta = pq.read_metadata(handle)
        rows += meta.num_rows
        ingest = ingest_of(key)
        spans[ingest] = _widen(spans.get(ingest, (None, None)), _time_span(meta))
    first, last = (None, None)
    for span in spans.values():
        first, last = _widen((first, last), span)
    return DatasetCoverage(
        name=dataset,
        files=len(keys),
        rows=rows,
        symbols=sorted(found),
        first=first,
        last=last,
        spans=spans,
    )


def _widen(span: Span, other: Span) -> Span:
    """The smallest span holding both (a missing end is ignored)."""
    firsts = [d for d in (span[0], other[0]) if d is not None]
    lasts = [d for d in (span[1], other[1]) if d is not None]
    return min(firsts, default=None), max(lasts, default=None)


def _time_span(meta: Any) -> tuple[date | None, date | None]:
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    column = next((names.index(c) for c in TIME_COLUMNS if c in names), None)
    if column is None:
        return None, None
    lows, highs = [], []
    for group in range(meta.num_row_groups):
        stats = meta.row_group(group).column(column).statistics
        if stats is not None and stats.has_min_max:
            lows.append(_as_date(stats.min))
            highs.append(_as_date(stats.max))
    return min(lows, default=None), max(highs, default=None)


def _as_date(value: Any) -> date:
    # Timestamps come back as datetime-like objects, dates as dates.
    return value.date() if hasattr(value, "date") else value  # type: ignore[no-any-return]


def quality_summary(
    records: list[IngestRecord],
) -> tuple[list[QualityTotals], list[QualityLine]]:
    """Rows in / out / quarantined per dataset and rows per rule, over the ingest records."""
    totals: dict[str, list[int]] = {}
    by_rule: dict[tuple[str, str, str], int] = {}
    for record in records:
        sums = totals.setdefault(record.dataset, [0, 0, 0, 0])
        sums[0] += 1
        sums[1] += record.rows_in
        sums[2] += record.rows_out
        sums[3] += record.rows_quarantined
        for severity, counts in (
            ("ERROR", record.quarantined_by_rule),
            ("WARNING", record.flagged_by_rule),
        ):
            for rule, n in counts.items():
                key = (record.dataset, severity, rule)
                by_rule[key] = by_rule.get(key, 0) + n
    lines = [
        QualityLine(
            dataset=dataset,
            rule_id=rule,
            severity=severity,
            rows=n,
            description=RULES[rule].description if rule in RULES else "(rule not in catalogue)",
        )
        for (dataset, severity, rule), n in sorted(by_rule.items())
    ]
    return [QualityTotals(d, *sums) for d, sums in sorted(totals.items())], lines


def _or_none(frame: pl.DataFrame) -> pl.DataFrame | None:
    return frame if frame.height else None
