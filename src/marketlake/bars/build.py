"""Build bar series from silver trades into silver ``bars_info``: one symbol at a time, streamed.

Per symbol: find its trades files and the one source to use, derive the threshold if a number of
bars per day was asked for (one streamed pass), then stream the trades through the kernel in
chunks of ``bars.chunk_rows`` (state carried), writing each finished year of bars. One ledger row
(step ``bars``) per symbol.

Idempotent and resumable: a series is named by its run key (``spec.py``); its record
(``silver/_bars_runs/symbol=<S>/<run_key>.json``: what went in, what came out) is removed before
the files are rewritten and written last. So a run over unchanged trades with the same
parameters is skipped, and a run that crashed midway has no record and is redone in full.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from urllib.parse import quote

from marketlake.bars.accumulator import check_threshold
from marketlake.bars.imbalance import ImbalanceParams
from marketlake.bars.reader import (
    TradeChunk,
    TradeFile,
    check_published,
    files_for,
    iter_trade_chunks,
    list_symbols,
    scan_trade_files,
    select_source,
)
from marketlake.bars.spec import KINDS, BarSpec
from marketlake.bars.threshold import DailyTotals, threshold_for_bars_per_day
from marketlake.bars.time_bars import parse_interval
from marketlake.bars.writer import SeriesWriter
from marketlake.config import Settings
from marketlake.errors import ConfigError, LakeError, MarketLakeError
from marketlake.lake import Lake, open_lake
from marketlake.lake.silver import SILVER
from marketlake.ops.ledger import Run

log = logging.getLogger(__name__)

RUNS_PREFIX = f"{SILVER}/_bars_runs"
Outcome = Literal["written", "unchanged", "empty", "failed"]


@dataclass(frozen=True)
class BarsRequest:
    """What the user asked for (the CLI's options).

    Args:
        kind: ``time``, ``tick``, ``volume``, ``dollar`` or ``imbalance``.
        threshold: The threshold (not for time bars).
        bars_per_day: Instead of ``threshold``: derive it per symbol (see ``threshold.py``).
        interval: Time bars only: ``1m``, ``5m``, ``1h``, ``1d``...
        start: First UTC day of trades used (inclusive).
        end: Last UTC day of trades used (inclusive).
        source: The trades' source, needed when a symbol has several.
    """

    kind: str
    threshold: float | None = None
    bars_per_day: float | None = None
    interval: str | None = None
    start: date | None = None
    end: date | None = None
    source: str | None = None

    def check(self) -> None:
        """Refuse contradictory options before any data is read.

        Raises:
            ConfigError: what is wrong and what to pass instead.
        """
        if self.kind not in KINDS:
            raise ConfigError(
                f"unknown bar kind {self.kind!r}", hint=f"use one of {', '.join(KINDS)}"
            )
        if self.kind == "time":
            if self.interval is None or self.threshold is not None or self.bars_per_day:
                raise ConfigError(
                    "time bars take --interval only",
                    hint="e.g. --kind time --interval 5m (no --threshold / --bars-per-day)",
                )
            parse_interval(self.interval)
        elif (self.threshold is None) == (self.bars_per_day is None) or self.interval:
            raise ConfigError(
                f"{self.kind} bars need exactly one of --threshold and --bars-per-day",
                hint="e.g. --threshold 1000000 or --bars-per-day 50 (--interval is for time bars)",
            )
        if self.threshold is not None:
            check_threshold(self.kind, self.threshold)
        if self.start and self.end and self.start > self.end:
            raise ConfigError(f"--from {self.start} is after --to {self.end}")

    @property
    def start_ns(self) -> int | None:
        """Start of the range, ns since the epoch (inclusive)."""
        return _ns(self.start) if self.start else None

    @property
    def end_ns(self) -> int | None:
        """End of the range, ns since the epoch (exclusive: the day after ``end``)."""
        return _ns(self.end + timedelta(days=1)) if self.end else None


def _ns(day: date) -> int:
    return int(datetime.combine(day, time(), UTC).timestamp()) * 1_000_000_000


@dataclass
class SymbolBars:
    """What building one series of one symbol did."""

    symbol: str
    outcome: Outcome
    kind: str
    threshold: float | None = None
    source: str | None = None
    run_key: str | None = None
    label: str = ""  # for people: "dollar 5e+07", "time 5m"
    trades: int = 0
    bars: int = 0
    incomplete: int = 0
    partitions: list[str] = field(default_factory=list)
    derived: dict[str, float] = field(default_factory=dict)
    error: MarketLakeError | None = None


@dataclass
class BarsReport:
    """What one ``bars`` command did, symbol by symbol."""

    run_id: str
    symbols: list[SymbolBars] = field(default_factory=list)

    @property
    def failed(self) -> list[SymbolBars]:
        """The symbols whose bars could not be built."""
        return [s for s in self.symbols if s.outcome == "failed"]


def record_key(symbol: str, run_key: str) -> str:
    """Where the record of one series lives."""
    return f"{RUNS_PREFIX}/symbol={quote(symbol, safe='')}/{run_key}.json"


def _fingerprint(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _Job:
    """One symbol's inputs: where, what, and which files of which source."""

    lake: Lake
    settings: Settings
    request: BarsRequest
    symbol: str
    source: str
    files: list[TradeFile]

    def chunks(self) -> Iterator[TradeChunk]:
        return iter_trade_chunks(
            self.lake,
            self.files,
            symbol=self.symbol,
            source=self.source,
            start_ns=self.request.start_ns,
            end_ns=self.request.end_ns,
            chunk_rows=self.settings.bars.chunk_rows,
        )

    def inputs(self) -> list[Any]:
        """What the output depends on besides the parameters: range and files."""
        files = [(f.key, f.rows, f.ts_min, f.ts_max) for f in self.files]
        return [self.source, self.request.start_ns, self.request.end_ns, files]


def _derive_threshold(job: _Job) -> tuple[float, dict[str, float]]:
    """Threshold from --bars-per-day: one streamed pass, cached by inputs in the lake."""
    request = job.request
    assert request.bars_per_day is not None
    digits = job.settings.bars.threshold_digits
    measure = "tick" if request.kind == "imbalance" else request.kind
    inputs = _fingerprint(measure, request.bars_per_day, digits, job.inputs())
    cache = f"{RUNS_PREFIX}/symbol={quote(job.symbol, safe='')}/derived-{inputs}.json"
    if job.lake.exists(cache):
        cached = job.lake.read_json(cache)
        return float(cached["threshold"]), cached["derived"]
    totals = DailyTotals()
    for chunk in job.chunks():
        totals.add(chunk.ts, chunk.price, chunk.size)
    threshold = threshold_for_bars_per_day(
        totals, kind=request.kind, bars_per_day=request.bars_per_day, digits=digits
    )
    derived = {
        "bars_per_day": request.bars_per_day,
        "median_daily": totals.median(request.kind),
        "days": float(len(totals.days)),
    }
    job.lake.write_json(cache, {"threshold": threshold, "derived": derived})
    return threshold, derived


def _compute(job: _Job, spec: BarSpec, result: SymbolBars) -> None:
    """Stream the trades through the kernel and write the bars, a year at a time."""
    accumulator = spec.accumulator(job.settings.bars)
    writer = SeriesWriter(job.lake, job.symbol, spec)
    for chunk in job.chunks():
        result.trades += len(chunk)
        writer.add(accumulator.push(chunk.ts, chunk.price, chunk.size))
    last = accumulator.flush()
    writer.add(last, complete=False)
    result.partitions = writer.close()
    result.bars, result.incomplete = writer.rows, len(last)


def build_symbol(
    lake: Lake,
    settings: Settings,
    request: BarsRequest,
    symbol: str,
    *,
    recompute: bool = False,
    run: Run,
) -> SymbolBars:
    """Build one series of one symbol (see :func:`build_bars`); errors are caught per symbol."""
    result = SymbolBars(symbol=symbol, outcome="failed", kind=request.kind)
    try:
        with run.step("bars", f"{symbol} {request.kind}") as row:
            all_files = scan_trade_files(lake, symbol)
            source = select_source(all_files, symbol=symbol, source=request.source)
            files = files_for(
                all_files, source=source, start_ns=request.start_ns, end_ns=request.end_ns
            )
            check_published(lake, files, symbol=symbol)
            result.source = source
            row.details = {"source": source}
            if not files:
                row.status, result.outcome = "skipped", "empty"
                return result
            job = _Job(lake, settings, request, symbol, source, files)
            if request.kind == "time":
                threshold = float(parse_interval(request.interval or ""))
            elif request.threshold is not None:
                threshold = float(request.threshold)
            else:
                threshold, result.derived = _derive_threshold(job)
            spec = BarSpec(request.kind, threshold, source)
            result.threshold, result.run_key, result.label = threshold, spec.run_key, spec.label
            row.target = f"{symbol} {spec.label}"
            row.details |= {"run_key": spec.run_key, **result.derived}
            imbalance = ImbalanceParams.from_settings(threshold, settings.bars)
            fingerprint = _fingerprint(
                spec.run_key, asdict(imbalance) if spec.kind == "imbalance" else None, job.inputs()
            )
            rkey = record_key(symbol, spec.run_key)
            if not recompute and _unchanged(lake, rkey, fingerprint, result):
                row.status, row.rows_in, row.rows_out = "skipped", result.trades, result.bars
                return result
            lake.remove(rkey)  # from here on, a crash leaves no record: the next run redoes it
            _compute(job, spec, result)
            lake.write_json(
                rkey,
                {
                    "fingerprint": fingerprint,
                    "symbol": symbol,
                    "kind": spec.kind,
                    "threshold": threshold,
                    "source": source,
                    "start": request.start,
                    "end": request.end,
                    "derived": result.derived,
                    "trades": result.trades,
                    "bars": result.bars,
                    "incomplete": result.incomplete,
                    "partitions": result.partitions,
                    "run_id": run.run_id,
                    "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                },
            )
            result.outcome = "written"
            row.rows_in, row.rows_out = result.trades, result.bars
            row.details |= {"incomplete": result.incomplete, "partitions": len(result.partitions)}
    except MarketLakeError as exc:
        result.error = exc
        log.warning("bars failed: %s", exc, extra={"symbol": symbol})
    return result


def _unchanged(lake: Lake, rkey: str, fingerprint: str, result: SymbolBars) -> bool:
    """Whether the series was built from the same inputs before and is whole; fills ``result``."""
    if not lake.exists(rkey):
        return False
    record = lake.read_json(rkey)
    if record["fingerprint"] != fingerprint or not all(
        lake.exists(k) for k in record["partitions"]
    ):
        return False
    result.outcome = "unchanged"
    result.trades, result.bars = record["trades"], record["bars"]
    result.incomplete, result.partitions = record["incomplete"], record["partitions"]
    return True


def build_bars(
    settings: Settings,
    request: BarsRequest,
    *,
    symbols: list[str] | None = None,
    recompute: bool = False,
    run: Run | None = None,
    on_symbol: Callable[[SymbolBars], None] | None = None,
) -> BarsReport:
    """Compute bars from silver trades into silver ``bars_info``, symbol by symbol.

    Args:
        settings: marketlake settings (``bars.*``).
        request: Kind, threshold or bars per day or interval, range, source.
        symbols: The symbols; every symbol with silver trades by default.
        recompute: Rebuild series even when their inputs and parameters did not change.
        run: The run to record ledger rows in; a new one by default.
        on_symbol: Called after each symbol (progress display).

    Returns:
        One result per symbol; failures carry their error and do not stop the others.

    Raises:
        ConfigError: contradictory options.
        LakeError: there are no silver trades at all.
    """
    request.check()
    lake = open_lake(settings)
    run = run or Run(lake)
    available = list_symbols(lake)
    if not available:
        raise LakeError(
            "there are no silver trades to build bars from",
            path=lake.url(f"{SILVER}/trades"),
            hint="ingest tick data first (marketlake ingest ...)",
        )
    report = BarsReport(run_id=run.run_id)
    for symbol in symbols or available:
        if symbol not in available:
            result = SymbolBars(symbol=symbol, outcome="failed", kind=request.kind)
            result.error = ConfigError(
                f"no silver trades for symbol {symbol}",
                hint=f"symbols with trades: {', '.join(available[:20])}",
            )
            with suppress(ConfigError), run.step("bars", f"{symbol} {request.kind}"):
                raise result.error
        else:
            result = build_symbol(lake, settings, request, symbol, recompute=recompute, run=run)
        report.symbols.append(result)
        if on_symbol is not None:
            on_symbol(result)
    return report
