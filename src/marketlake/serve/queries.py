"""What the HTTP API and the dashboard read: plain functions over gold, silver and the ledger.

The API's routes and the dashboard's pages both call these, so a chart shows exactly what a
route serves. Gold marts come from their Parquet exports (:class:`GoldCache`), bars through the
loader, quarantine and runs from the lake: nothing here opens the warehouse file, so readers go
on while a ``marketlake build`` holds its lock. No web framework is imported here; errors are
:class:`MartMissingError` (no build yet) and :class:`UnknownSymbolError`, which the API turns
into 404s and the dashboard into a sentence saying what to run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, Literal
from urllib.parse import unquote

import polars as pl

from marketlake.config import Settings
from marketlake.lake.silver import (
    QUARANTINE_PREFIX,
    RECORD_PREFIX,
    SILVER,
    read_quarantine,
    read_records,
)
from marketlake.lake.store import Lake, open_lake
from marketlake.lake.totals import sum_records
from marketlake.ops.ledger import LEDGER_PREFIX, read_ledger
from marketlake.serve.gold import GoldCache, MartMissingError
from marketlake.serve.loader import read_bars, scan_bars
from marketlake.serve.partitions import list_files

Period = Literal["weekly", "monthly", "quarterly", "yearly"]
PERIODS: tuple[Period, ...] = ("weekly", "monthly", "quarterly", "yearly")
SMA_WINDOWS = (20, 50, 200)
Version = tuple[Any, ...]


class UnknownSymbolError(LookupError):
    """A symbol gold does not know (not in ``dim_symbol``, or no build yet)."""

    def __init__(self, symbol: str) -> None:
        super().__init__(symbol)
        self.symbol = symbol


@dataclass(frozen=True)
class Reader:
    """Where reads go: the settings, the lake (silver, quarantine, ledger) and gold."""

    settings: Settings
    lake: Lake
    gold: GoldCache


def open_reader(settings: Settings) -> Reader:
    """A reader over the lake and gold exports of ``settings``."""
    return Reader(settings=settings, lake=open_lake(settings), gold=GoldCache(settings))


# --- gold marts (the API's routes) -------------------------------------------------------------


def records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts, NaN as None (JSON has no NaN)."""
    floats = [n for n, t in frame.schema.items() if t.is_float()]
    if floats:
        frame = frame.with_columns(pl.col(floats).fill_nan(None))
    return frame.to_dicts()


def between(
    frame: pl.DataFrame, column: str, first: date | None, last: date | None
) -> pl.DataFrame:
    """Rows whose ``column`` lies in ``[first, last]`` (None: unbounded)."""
    if first is not None:
        frame = frame.filter(pl.col(column) >= first)
    if last is not None:
        frame = frame.filter(pl.col(column) <= last)
    return frame


def known_symbols(gold: GoldCache) -> set[str]:
    """Symbols of gold's ``dim_symbol``, empty before the first build."""
    try:
        return set(gold.mart("dim_symbol")["symbol"].to_list())
    except MartMissingError:
        return set()


def current_symbols(gold: GoldCache) -> pl.DataFrame:
    """Current rows of ``dim_symbol`` (reference data and daily-bar coverage), by symbol.

    Raises:
        MartMissingError: no build yet.
    """
    return gold.mart("dim_symbol").filter(pl.col("is_current")).sort("symbol")


def symbol_mart(gold: GoldCache, model: str, symbol: str) -> pl.DataFrame:
    """The rows of ``symbol`` in the mart ``model``.

    Raises:
        UnknownSymbolError: gold does not know the symbol (checked first).
        MartMissingError: the mart has not been exported.
    """
    if symbol not in known_symbols(gold):
        raise UnknownSymbolError(symbol)
    return gold.mart(model).filter(pl.col("symbol") == symbol)


def aggregates(
    gold: GoldCache,
    symbol: str,
    period: Period,
    first: date | None = None,
    last: date | None = None,
) -> pl.DataFrame:
    """Daily bars rolled up by ``period`` (``agg_bars_<period>``), selected on the period start."""
    frame = symbol_mart(gold, f"agg_bars_{period}", symbol)
    return between(frame, "period_start", first, last).sort("period_start")


def indicators(
    gold: GoldCache, symbol: str, first: date | None = None, last: date | None = None
) -> pl.DataFrame:
    """Daily indicators of ``symbol`` (``fct_indicators_daily``) by session."""
    frame = symbol_mart(gold, "fct_indicators_daily", symbol)
    return between(frame, "session_date", first, last).sort("session_date")


def anomalies(
    gold: GoldCache, symbol: str, first: date | None = None, last: date | None = None
) -> pl.DataFrame:
    """Flagged sessions of ``symbol`` (``fct_anomalies``), each with its sentence."""
    frame = symbol_mart(gold, "fct_anomalies", symbol)
    return between(frame, "session_date", first, last).sort("session_date", "rule_id")


def bars_info(
    gold: GoldCache,
    symbol: str,
    kind: str | None = None,
    first: date | None = None,
    last: date | None = None,
) -> pl.DataFrame:
    """Information-driven bars of ``symbol`` (``fct_bars_info``) in series and bar order.

    Raises:
        MartMissingError: no build yet.
        UnknownSymbolError: no bars and the symbol is not in ``dim_symbol``.
    """
    frame = gold.mart("fct_bars_info").filter(pl.col("symbol") == symbol)
    if frame.is_empty() and symbol not in known_symbols(gold):
        raise UnknownSymbolError(symbol)
    if kind is not None:
        frame = frame.filter(pl.col("kind") == kind)
    return between(frame, "bar_date", first, last).sort("series_key", "bar_number")


# --- quarantine and runs -----------------------------------------------------------------------


def quality_summary(lake: Lake, dataset: str | None = None, *, examples: int) -> dict[str, Any]:
    """Quarantined rows by dataset and rule, with the first ``examples`` original rows of each.

    Returns:
        ``{"total": rows, "rules": [{"dataset", "rule_id", "rows", "examples": [...]}]}``.
    """
    frame = pl.from_arrow(read_quarantine(lake, dataset))
    assert isinstance(frame, pl.DataFrame)
    rules = []
    if frame.height:
        groups = frame.group_by("dataset", "rule_id", maintain_order=True).agg(
            pl.len().alias("rows"),
            pl.struct("ingest_id", "source_row", "symbol", "message", "raw")
            .head(examples)
            .alias("examples"),
        )
        rules = groups.sort("dataset", "rule_id").to_dicts()
    return {"total": frame.height, "rules": rules}


def silver_totals(lake: Lake) -> pl.DataFrame:
    """Per silver dataset: ingests, rows in, rows in silver, quarantined and flagged rows."""
    by_dataset: dict[str, list[Any]] = {}
    for record in read_records(lake):
        by_dataset.setdefault(record.dataset, []).append(record)
    rows = []
    for dataset, group in sorted(by_dataset.items()):
        totals = sum_records(group)
        rows.append(
            {
                "dataset": dataset,
                "ingests": totals.ingests,
                "rows_in": totals.rows_in,
                "rows_out": totals.rows_out,
                "rows_quarantined": totals.rows_quarantined,
                "rows_flagged": sum(totals.flagged_by_rule.values()),
            }
        )
    schema = {"dataset": pl.String} | dict.fromkeys(
        ["ingests", "rows_in", "rows_out", "rows_quarantined", "rows_flagged"], pl.Int64
    )
    return pl.DataFrame(rows, schema=schema)


def run_summaries(
    lake: Lake, *, limit: int, running: frozenset[str] | set[str] = frozenset()
) -> list[dict[str, Any]]:
    """The newest ``limit`` runs of the ledger, newest first, each with its steps in order.

    Args:
        lake: Where the ledger is.
        limit: How many runs.
        running: Runs started but not finished (shown ``running`` even without a step yet).
    """
    runs: dict[str, list[dict[str, Any]]] = {}
    for row in read_ledger(lake, last_runs=limit):
        runs.setdefault(row.run_id, []).append(asdict(row))
    summaries = [
        {
            "run_id": run_id,
            "status": _status(run_id, steps, running),
            "started_at": min(s["started_at"] for s in steps),
            "steps": sorted(steps, key=lambda s: s["seq"]),
        }
        for run_id, steps in runs.items()
    ]
    summaries += [
        {"run_id": r, "status": "running", "started_at": r, "steps": []}
        for r in sorted(set(running) - set(runs), reverse=True)
    ]
    return sorted(summaries, key=lambda s: s["run_id"], reverse=True)[:limit]


def _status(run_id: str, steps: list[dict[str, Any]], running: frozenset[str] | set[str]) -> str:
    if run_id in running:
        return "running"
    return "failed" if any(s["status"] == "failed" for s in steps) else "ok"


# --- versions: what changes when a build, an ingest or a run writes --------------------------


def lake_version(lake: Lake, pattern: str) -> Version:
    """(key, size, modification) of every object matching ``pattern``: a cache key that
    changes whenever one of them is written, added or removed."""
    found: dict[str, dict[str, Any]] = lake.fs.glob(lake.full(pattern), detail=True)
    stamps = []
    for path, info in found.items():
        modified = info.get("ETag") or info.get("mtime") or info.get("LastModified") or ""
        stamps.append((path, int(info.get("size") or 0), str(modified)))
    return tuple(sorted(stamps))


def silver_version(lake: Lake, dataset: str, symbol: str | None = None) -> Version:
    """The files of a silver dataset (of one symbol) with their sizes and versions."""
    return tuple(list_files(lake, dataset, None if symbol is None else [symbol], None))


def quarantine_version(lake: Lake) -> Version:
    """Changes when rows are quarantined or a delivery is re-processed."""
    quarantined = lake_version(lake, f"{QUARANTINE_PREFIX}/*/*.parquet")
    return quarantined + lake_version(lake, f"{RECORD_PREFIX}/*.json")


def ledger_version(lake: Lake) -> Version:
    """Changes when a step of a run is recorded (ledger rows are written once, never edited)."""
    return tuple(lake.glob(f"{LEDGER_PREFIX}/*/*.json"))


def gold_version(gold: GoldCache, *models: str) -> Version:
    """The current exports of ``models`` (None for one not built yet)."""
    return tuple(gold.version(m) for m in models)


# --- bars for charts ---------------------------------------------------------------------------


def silver_symbols(lake: Lake, dataset: str) -> list[str]:
    """Symbols with a partition in a silver dataset (``bars``, ``bars_info``...), sorted."""
    prefix = f"{SILVER}/{dataset}/symbol="
    names = {k[len(prefix) :].split("/", 1)[0] for k in lake.glob(f"{prefix}*")}
    return sorted(unquote(n) for n in names if n)


def silver_bytes(lake: Lake, dataset: str) -> dict[str, int]:
    """Bytes of Parquet per symbol in a silver dataset (one listing): which symbol has most."""
    sizes: dict[str, int] = {}
    for key, size, _ in list_files(lake, dataset, None, None):
        part = next((p for p in key.split("/") if p.startswith("symbol=")), None)
        if part is not None:
            symbol = unquote(part.removeprefix("symbol="))
            sizes[symbol] = sizes.get(symbol, 0) + size
    return sizes


def chart_symbols(reader: Reader) -> list[str]:
    """Symbols to chart: gold's symbols with daily bars and every symbol with bars in silver
    (one ingested since the last build included), sorted."""
    try:
        frame = current_symbols(reader.gold)
        gold = frame.filter(pl.col("trading_days").fill_null(0) > 0)["symbol"].to_list()
    except MartMissingError:
        gold = []
    return sorted({*gold, *silver_symbols(reader.lake, "bars")})


def interval_seconds(interval: str) -> float:
    """Length of a bar interval (``1m``, ``4h``, ``1d``, ``1w``, ``1mo``) in seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800, "mo": 2_629_746}
    number = "".join(ch for ch in interval if ch.isdigit())
    unit = interval[len(number) :]
    return float(number or 1) * units.get(unit, 86_400)


def bar_intervals(reader: Reader, symbol: str) -> list[str]:
    """The intervals silver holds bars of for ``symbol``, shortest first."""
    frame = scan_bars(symbol, interval=None, columns=["interval"], settings=reader.settings)
    found = frame.select(pl.col("interval").unique()).collect()["interval"].to_list()
    return sorted(found, key=interval_seconds)


def session_span(reader: Reader, symbol: str, interval: str) -> tuple[date, date] | None:
    """First and last session of ``symbol``'s bars of ``interval`` in silver (None: none)."""
    frame = scan_bars(symbol, interval=interval, columns=["session_date"], settings=reader.settings)
    row = frame.select(
        first=pl.col("session_date").min(), last=pl.col("session_date").max()
    ).collect()
    first, last = row["first"][0], row["last"][0]
    return None if first is None else (first, last)


_CANDLE = ["open", "high", "low", "close", "volume"]


def with_moving_averages(
    bars: pl.DataFrame, windows: tuple[int, ...] = SMA_WINDOWS
) -> pl.DataFrame:
    """``bars`` (in time order) with ``sma_<n>`` of the close over the last n bars.

    Null until n bars have been seen, as gold's ``fct_indicators_daily`` does.
    """
    return bars.with_columns(
        pl.col("close").rolling_mean(window_size=n, min_samples=n).alias(f"sma_{n}")
        for n in windows
    )


def daily_candles(reader: Reader, symbol: str) -> tuple[pl.DataFrame, str]:
    """Every daily bar of ``symbol`` with SMA 20/50/200, and where they came from.

    Gold (``fct_daily_bars``, one bar per session, with the SMAs of ``fct_indicators_daily``)
    once a build has run; before, silver's ``1d`` bars through the loader with the SMAs
    computed here (the last bar of a session kept when deliveries disagree on its open time).

    Returns:
        (``time`` (the session date), open, high, low, close, volume, sma_20/50/200; ``gold``
        or ``silver``).
    """
    smas = [f"sma_{n}" for n in SMA_WINDOWS]
    try:
        bars = symbol_mart(reader.gold, "fct_daily_bars", symbol)
        ind = symbol_mart(reader.gold, "fct_indicators_daily", symbol)
    except (MartMissingError, UnknownSymbolError):
        frame = read_bars(symbol, interval="1d", settings=reader.settings)
        frame = frame.unique("session_date", keep="last", maintain_order=True)
        frame = frame.select(pl.col("session_date").alias("time"), *_CANDLE)
        return with_moving_averages(frame), "silver"
    joined = bars.select(pl.col("session_date").alias("time"), *_CANDLE).join(
        ind.select(pl.col("session_date").alias("time"), *smas), on="time", how="left"
    )
    return joined.sort("time"), "gold"


def intraday_candles(
    reader: Reader, symbol: str, interval: str, first: date, last: date
) -> pl.DataFrame:
    """Bars of ``interval`` of the sessions ``first``..``last`` from silver (the loader), with
    SMAs over bars of that interval; ``time`` is the bar's open, UTC (tz-naive)."""
    frame = read_bars(symbol, first, last, interval=interval, settings=reader.settings)
    frame = frame.select(
        pl.col("ts_event").dt.convert_time_zone("UTC").dt.replace_time_zone(None).alias("time"),
        *_CANDLE,
    )
    return with_moving_averages(frame)


def window_start(last: date, days: int | None, first: date) -> date:
    """The first day of a window of ``days`` calendar days ending at ``last`` (None: all)."""
    if days is None:
        return first
    return max(first, last - timedelta(days=days - 1))


def period_returns(frame: pl.DataFrame) -> pl.DataFrame:
    """Aggregates with ``period_return``: close over the previous period's close, minus one."""
    previous = pl.col("close").shift(1)
    return frame.sort("period_start").with_columns(
        period_return=pl.when(previous > 0).then(pl.col("close") / previous - 1)
    )
