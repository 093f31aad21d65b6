"""Compose Alpha Vantage with the lake: call -> bronze -> parse -> validate -> silver.

Each series (function x symbol, plus the output size of a daily series) is one logical key: the
raw reply lands in bronze before it is parsed, and a newer download of the same series
*supersedes* the older delivery, whose silver rows are retracted (no duplicated bars). Error
bodies never land. ``--from-bronze`` rebuilds silver from the landed replies without a call;
``--from-files`` ingests replies saved earlier. Calls count against a daily budget kept in the
lake (``_state/alphavantage/calls-<US/Eastern day>.json``), shared by every run of the day.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from marketlake.config import Settings
from marketlake.errors import MarketLakeError, SourceError
from marketlake.ingest import FileResult, IngestReport
from marketlake.lake import Lake, open_lake
from marketlake.lake.bronze import ManifestEntry, land, read_manifest
from marketlake.lake.deliveries import fill_row, prior_of, skip_row
from marketlake.lake.silver import publish_ingest
from marketlake.ops.ledger import LedgerRow, Run
from marketlake.quality.validate import Validated
from marketlake.sources.alphavantage import (
    FUNCTIONS,
    INTERVAL,
    SOURCE,
    Function,
    parse_series,
    read_series_info,
)
from marketlake.sources.alphavantage.client import (
    AlphaVantageClient,
    BudgetExhaustedError,
    DailyLimitError,
)

log = logging.getLogger(__name__)

STATE_PREFIX = "_state/alphavantage"
BUDGET_ZONE = ZoneInfo("America/New_York")  # Alpha Vantage's day is the US/Eastern day
SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-:^=_]{0,23}$")  # IBM, BRK-B, TSCO.LON, ^GSPC


def logical_key(function: str, symbol: str, output_size: str | None) -> str:
    """What a reply is a delivery of: ``TIME_SERIES_DAILY/IBM/full``."""
    return "/".join(p for p in (function, symbol, output_size) if p)


class CallBudget:
    """The daily call budget, counted across runs in the lake (one small JSON per day).

    Args:
        lake: Where the count lives.
        per_day: Calls allowed per US/Eastern day.
        now: The current time (aware).
    """

    def __init__(
        self,
        lake: Lake,
        per_day: int,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(BUDGET_ZONE),
    ) -> None:
        self.lake = lake
        self.per_day = per_day
        self._now = now

    def day(self) -> str:
        """Today's US/Eastern date (YYYY-MM-DD)."""
        return self._now().astimezone(BUDGET_ZONE).date().isoformat()

    def _key(self) -> str:
        return f"{STATE_PREFIX}/calls-{self.day()}.json"

    def used(self) -> int:
        """Calls counted today."""
        key = self._key()
        return int(self.lake.read_json(key)["calls"]) if self.lake.exists(key) else 0

    def left(self) -> int:
        """Calls left today."""
        return max(self.per_day - self.used(), 0)

    def _write(self, calls: int) -> None:
        self.lake.write_json(
            self._key(), {"day": self.day(), "timezone": "America/New_York", "calls": calls}
        )

    def spend(self) -> None:
        """Count one call (before it is made, so a crash never under-counts).

        Raises:
            BudgetExhaustedError: no call is left today.
        """
        used = self.used()
        if used >= self.per_day:
            raise BudgetExhaustedError(
                f"the daily budget of {self.per_day} Alpha Vantage calls is spent "
                f"({used} calls on the US/Eastern day {self.day()}); no call was made",
                source=SOURCE,
                hint="run again tomorrow, or raise sources.alphavantage.calls_per_day if your "
                "plan allows more; --from-bronze rebuilds silver without calls",
            )
        self._write(used + 1)

    def refund(self) -> None:
        """Give back one call that never reached the vendor (the connection failed)."""
        used = self.used()
        if used > 0:
            self._write(used - 1)

    def exhaust(self) -> None:
        """Alpha Vantage says the day's calls are spent: make no more calls today."""
        self._write(max(self.used(), self.per_day))


@dataclass
class AlphaVantageReport(IngestReport):
    """What one Alpha Vantage ingest did, series by series (``path``: ``FUNCTION:SYMBOL``)."""

    calls: int = 0  # HTTP calls made by this run
    calls_left: int | None = None  # calls left today after the run (None: no API call mode)
    budget_day: str | None = None


def _validate(
    parsed: pl.DataFrame, *, interval: str, ingest_id: str, settings: Settings
) -> Validated:
    """The daily-bar rules, plus the weekly columns (dividend) and the ``week.partial`` flag."""
    from marketlake.quality import validate_bars

    validated = validate_bars(
        parsed.drop("dividend", "partial_week"),
        dataset="bars",
        source=SOURCE,
        interval=interval,
        ingest_id=ingest_id,
        quality=settings.quality,
    )
    lost = validated.quarantined["source_row"].to_pylist()
    kept = parsed.filter(~pl.col("source_row").is_in(lost)).select(
        "session_date", "dividend", "partial_week"
    )  # one row per date: duplicates were quarantined
    silver = pl.from_arrow(validated.rows)
    assert isinstance(silver, pl.DataFrame)
    flag = pl.col("partial_week").fill_null(False)
    silver = (
        silver.drop("dividend")
        .join(kept, on="session_date", how="left", maintain_order="left")
        .with_columns(
            pl.when(flag & pl.col("quality_flags").is_not_null())
            .then(pl.col("quality_flags") + pl.lit(",week.partial"))
            .when(flag)
            .then(pl.lit("week.partial"))
            .otherwise(pl.col("quality_flags"))
            .alias("quality_flags")
        )
    )
    partial = int(silver["partial_week"].fill_null(False).sum())
    rows = silver.select(validated.rows.schema.names).to_arrow().cast(validated.rows.schema)
    flagged = dict(validated.flagged_by_rule) | ({"week.partial": partial} if partial else {})
    return Validated(rows=rows, quarantined=validated.quarantined, flagged_by_rule=flagged)


def _publish(
    lake: Lake,
    entry: ManifestEntry,
    data: bytes,
    *,
    settings: Settings,
    row: LedgerRow,
    result: FileResult,
    reprocess: bool,
) -> None:
    """Parse, validate and publish one landed reply (unless published or superseded already)."""
    result.ingest_id = entry.ingest_id
    row.details["ingest_id"] = entry.ingest_id
    prior = prior_of(lake, entry, reprocess=reprocess)
    if prior is not None:
        skip_row(row, prior, len(data))
        result.outcome, result.record = prior.outcome, prior.record
        return
    parsed = parse_series(data, symbol=result.symbol, path=result.path)
    validated = _validate(
        parsed.rows,
        interval=INTERVAL[parsed.info.function],
        ingest_id=entry.ingest_id,
        settings=settings,
    )
    result.record = publish_ingest(
        lake,
        dataset="bars",
        source=SOURCE,
        ingest_id=entry.ingest_id,
        rows=validated.rows,
        quarantined=validated.quarantined,
        rows_in=validated.rows_in,
        flagged_by_rule=validated.flagged_by_rule,
        supersedes=entry.supersedes,
    )
    result.outcome = "published"
    fill_row(row, result.record, len(data))


def _land_and_publish(
    lake: Lake,
    data: bytes,
    *,
    function: str,
    output_size: str | None,
    settings: Settings,
    row: LedgerRow,
    result: FileResult,
    reprocess: bool,
) -> None:
    symbol = result.symbol or ""
    entry, result.landed_new = land(
        lake,
        data,
        source=SOURCE,
        logical_key=logical_key(function, symbol, output_size),
        original_name=f"{symbol}.{function}.json",
        extension=".json",
        symbol=symbol,
    )
    _publish(lake, entry, data, settings=settings, row=row, result=result, reprocess=reprocess)


def check_symbols(symbols: list[str]) -> list[str]:
    """Upper-cased symbols, each once, in order.

    Raises:
        SourceError: a symbol that Alpha Vantage cannot know (no call is spent on it).
    """
    out: dict[str, None] = {}
    for raw in symbols:
        symbol = raw.strip().upper()
        if not SYMBOL_RE.match(symbol):
            raise SourceError(
                f"{raw!r} is not a symbol",
                source=SOURCE,
                hint="pass symbols as Alpha Vantage spells them, comma-separated: "
                "IBM,MSFT,TSCO.LON",
            )
        out[symbol] = None
    return list(out)


def ingest_alphavantage(
    symbols: list[str],
    *,
    function: Function,
    settings: Settings,
    reprocess: bool = False,
    run: Run | None = None,
    on_series: Callable[[FileResult], None] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> AlphaVantageReport:
    """Download series from Alpha Vantage, land each reply in bronze, publish it to silver bars.

    Args:
        symbols: The symbols, as Alpha Vantage spells them.
        function: ``TIME_SERIES_DAILY`` (interval ``1d``) or ``TIME_SERIES_WEEKLY_ADJUSTED``
            (``1w``, with adjusted close and dividend).
        settings: marketlake settings (``sources.alphavantage``: key, limits, retries).
        reprocess: Publish to silver again a reply that was published before.
        run: The run to record ledger rows in; a new one by default.
        on_series: Called after each symbol (progress display).
        sleep: How to wait on rate limits and back-off (default: ``time.sleep``).

    Returns:
        One result per symbol; a failed symbol carries its error and does not stop the others,
        except that once the daily budget is spent the remaining symbols fail without a call.

    Raises:
        ConfigError: no API key is set.
        SourceError: a symbol is malformed or the function unknown (before any call).
    """
    if function not in FUNCTIONS:
        raise SourceError(
            f"unknown function {function!r}",
            source=SOURCE,
            hint=f"use one of {', '.join(FUNCTIONS)}",
        )
    chosen = check_symbols(symbols)
    lake = open_lake(settings)
    run = run or Run(lake)
    av = settings.sources.alphavantage
    budget = CallBudget(lake, av.calls_per_day)
    report = AlphaVantageReport(run_id=run.run_id, budget_day=budget.day())
    output_size = av.outputsize if function == "TIME_SERIES_DAILY" else None
    with AlphaVantageClient(
        av, before_call=budget.spend, not_sent=budget.refund, sleep=sleep or time.sleep
    ) as client:
        exhausted: MarketLakeError | None = None
        for symbol in chosen:
            result = FileResult(path=f"{function}:{symbol}", outcome="failed", symbol=symbol)
            try:
                with run.step(f"ingest.{SOURCE}", result.path) as row:
                    if exhausted is not None:
                        raise exhausted
                    data = client.fetch(function, symbol, output_size=output_size)
                    _land_and_publish(
                        lake, data, function=function, output_size=output_size,
                        settings=settings, row=row, result=result, reprocess=reprocess,
                    )  # fmt: skip
            except (BudgetExhaustedError, DailyLimitError) as exc:
                if isinstance(exc, DailyLimitError):
                    budget.exhaust()
                exhausted = exhausted or BudgetExhaustedError(
                    f"not called: {exc.message}", source=SOURCE, hint=exc.hint
                )
                result.error = exc
            except MarketLakeError as exc:
                result.error = exc
                log.warning("alphavantage %s failed: %s", symbol, exc)
            report.files.append(result)
            if on_series is not None:
                on_series(result)
        report.calls = client.calls
    report.calls_left = budget.left()
    return report


def ingest_alphavantage_files(
    paths: list[Path],
    *,
    settings: Settings,
    reprocess: bool = False,
    run: Run | None = None,
    on_series: Callable[[FileResult], None] | None = None,
) -> AlphaVantageReport:
    """Ingest replies saved earlier (JSON files; a folder means every ``*.json`` inside).

    Each file is filed under the series its ``Meta Data`` names, the same logical key a
    download of that series has: a newer file (or download) supersedes an older one.

    Returns:
        One result per file; a file that is not a series reply fails alone.
    """
    lake = open_lake(settings)
    run = run or Run(lake)
    report = AlphaVantageReport(run_id=run.run_id)
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    for path in files:
        result = FileResult(path=str(path), outcome="failed")
        try:
            with run.step(f"ingest.{SOURCE}", str(path)) as row:
                try:
                    data = path.read_bytes()
                except OSError as exc:
                    raise SourceError(
                        f"cannot read the file: {exc.strerror}",
                        path=str(path),
                        hint="check the path",
                    ) from exc
                info = read_series_info(data, path=str(path))
                result.symbol = info.symbol
                _land_and_publish(
                    lake, data, function=info.function, output_size=info.output_size,
                    settings=settings, row=row, result=result, reprocess=reprocess,
                )  # fmt: skip
        except MarketLakeError as exc:
            result.error = exc
            log.warning("alphavantage file failed: %s", exc)
        report.files.append(result)
        if on_series is not None:
            on_series(result)
    if not files:
        report.files.append(
            FileResult(
                path=", ".join(map(str, paths)),
                outcome="failed",
                error=SourceError(
                    "no JSON file found", source=SOURCE, hint="pass files or a folder of *.json"
                ),
            )
        )
    return report


def rebuild_alphavantage(
    *,
    settings: Settings,
    symbols: list[str] | None = None,
    function: Function | None = None,
    run: Run | None = None,
    on_series: Callable[[FileResult], None] | None = None,
) -> AlphaVantageReport:
    """Rebuild silver from the replies landed in bronze: no call is made.

    The newest delivery of each series is published again (older ones stay superseded).

    Args:
        settings: marketlake settings.
        symbols: Only these symbols (default: every landed one).
        function: Only this function (default: both).
        run: The run to record ledger rows in; a new one by default.
        on_series: Called after each series.

    Returns:
        One result per series.
    """
    lake = open_lake(settings)
    run = run or Run(lake)
    report = AlphaVantageReport(run_id=run.run_id)
    wanted = set(check_symbols(symbols)) if symbols else None
    newest: dict[str, ManifestEntry] = {}
    for entry in read_manifest(lake, SOURCE):  # oldest first: the last one per key wins
        newest[entry.logical_key] = entry
    for key, entry in sorted(newest.items()):
        series_function, symbol = key.split("/")[:2]
        if (function and series_function != function) or (wanted and symbol not in wanted):
            continue
        result = FileResult(path=f"{series_function}:{symbol}", outcome="failed", symbol=symbol)
        try:
            with run.step(f"ingest.{SOURCE}", f"bronze {result.path}") as row:
                data = lake.read_bytes(entry.bronze_key)
                _publish(
                    lake, entry, data, settings=settings, row=row, result=result, reprocess=True
                )
        except MarketLakeError as exc:
            result.error = exc
        report.files.append(result)
        if on_series is not None:
            on_series(result)
    return report
