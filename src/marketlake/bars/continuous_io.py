"""Continuous futures at the lake's edge: silver trades in; series, rolls, instruments out.

Daily bars per contract come from :mod:`marketlake.bars.contract_bars` (one streaming pass over
the trades, cached); the series from :func:`marketlake.bars.continuous.build_continuous`.

Writes, each file named by a build id of its variant, so re-running replaces exactly its own
rows (and removes partitions it no longer produces); the record under ``silver/_derived/`` is
written last::

    silver/continuous/symbol=ES/year=Y/<id>.parquet         id: root, rule, adjustment, source
    silver/continuous_rolls/symbol=ES/year=Y/<id>.parquet   id: root, rule, source
    silver/instruments/symbol=ESH24/year=2024/<id>.parquet  a contract's row (never removed)
    silver/_derived/<dataset>/<id>.json                     what the build wrote
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import polars as pl
import pyarrow as pa

from marketlake.bars.continuous import (
    ADJUSTMENTS,
    Adjustment,
    Continuous,
    build_continuous,
)
from marketlake.bars.contract_bars import (
    DERIVED_PREFIX,
    build_id,
    daily_bars,
    find_trade_files,
    partition_years,
)
from marketlake.bars.contracts import (
    calendar_span,
    load_sessions,
    spec_for,
)
from marketlake.bars.roll import parse_roll
from marketlake.config import Settings
from marketlake.errors import ConfigError, LakeError
from marketlake.lake import Lake, open_lake
from marketlake.lake.silver import SILVER, partition_dir
from marketlake.ops.ledger import Run
from marketlake.schemas import schema_of

log = logging.getLogger(__name__)


@dataclass
class ContinuousReport:
    """What one ``marketlake continuous`` build found and wrote."""

    root: str
    source: str
    rule: str  # volume, days:N; "none" when the trades had no contract column
    adjustment: str
    calendar: str
    has_contracts: bool
    trades_in: int
    sessions: int
    first_session: date | None
    last_session: date | None
    contracts: list[str]
    rolls: pa.Table
    excluded_trades: dict[str, int] = field(default_factory=dict)
    ignored_symbols: list[str] = field(default_factory=list)
    written: dict[str, list[str]] = field(default_factory=dict)  # dataset -> lake keys
    lake_url: str = ""
    run_id: str = ""


def _choose_source(daily: pl.DataFrame, root: str, source: str | None) -> str:
    found = daily.group_by("source").agg(pl.col("trade_count").sum()).sort("source")
    listing = ", ".join(f"{s} ({n:,} trades)" for s, n in found.iter_rows())
    if source is not None:
        if source not in found["source"].to_list():
            raise ConfigError(
                f"no {root} trades come from source {source!r}",
                hint=f"sources found: {listing}",
                symbol=root,
            )
        return source
    if found.height > 1:
        raise ConfigError(
            f"{root} trades come from {found.height} sources: {listing}",
            hint=f"pick one, e.g. --source {found['source'][0]} (all of them would count "
            "trades twice)",
        )
    return str(found["source"][0])


def publish_derived(
    lake: Lake, dataset: str, ident: str, table: pa.Table, *, time_column: str, prune: bool = True
) -> list[str]:
    """Write a derived dataset's rows as ``symbol=/year=`` partitions named ``<ident>.parquet``.

    With ``prune``, files of this id that the rows no longer fill are removed; the record is
    written last.

    Returns:
        The lake keys written.
    """
    schema = schema_of(dataset)
    frame = pl.from_arrow(table.cast(schema))
    assert isinstance(frame, pl.DataFrame)
    frame = frame.with_columns(pl.col(time_column).dt.year().alias("__year"))
    written: list[str] = []
    if frame.height:
        for (symbol, year), part in sorted(
            frame.partition_by("symbol", "__year", as_dict=True).items()
        ):
            key = f"{partition_dir(dataset, str(symbol), int(str(year)))}/{ident}.parquet"
            lake.write_parquet(key, part.drop("__year").to_arrow().cast(schema))
            written.append(key)
    if prune:
        for stale in set(lake.glob(f"{SILVER}/{dataset}/*/*/{ident}.parquet")) - set(written):
            lake.remove(stale)
    lake.write_json(
        f"{DERIVED_PREFIX}/{dataset}/{ident}.json",
        {
            "dataset": dataset,
            "build_id": ident,
            "rows": table.num_rows,
            "partitions": written,
            "built_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        },
    )
    return written


def _publish(lake: Lake, built: Continuous, root: str, source: str) -> dict[str, list[str]]:
    rule = built.series["roll_rule"][0].as_py() if built.series.num_rows else "none"
    adjustment = built.series["adjustment"][0].as_py() if built.series.num_rows else "none"
    return {
        "continuous": publish_derived(
            lake,
            "continuous",
            build_id("continuous", root, rule, adjustment, source),
            built.series,
            time_column="session_date",
        ),
        "continuous_rolls": publish_derived(
            lake,
            "continuous_rolls",
            build_id("continuous_rolls", root, rule, source),
            built.rolls,
            time_column="roll_date",
        ),
        # an instrument's row depends only on its code: kept even when a later build lacks it
        "instruments": publish_derived(
            lake,
            "instruments",
            build_id("instruments", root),
            built.instruments,
            time_column="expiry",
            prune=False,
        ),
    }


def make_continuous(
    settings: Settings,
    root: str,
    *,
    roll: str | None = None,
    adjust: str | None = None,
    source: str | None = None,
    recompute: bool = False,
    run: Run | None = None,
) -> ContinuousReport:
    """Build the continuous front-month series of ``root`` from silver trades, into silver.

    Args:
        settings: marketlake settings (``futures.*``: calendar and defaults).
        root: The futures root (``ES``).
        roll: ``volume`` or ``days:N`` (default ``futures.roll``).
        adjust: ``difference``, ``ratio`` or ``none`` (default ``futures.adjust``).
        source: Which trades' source to use; needed when the root's trades have several.
        recompute: Scan the trades again even when their daily bars are cached.
        run: The run to record the ledger row in; a new one by default.

    Returns:
        What was found and written.

    Raises:
        ConfigError: unknown root, roll rule or adjustment; several sources and no ``source``.
        LakeError: no silver trades of the root, or none usable.
    """
    spec = spec_for(root)
    root = spec.root
    futures = settings.futures
    rule = parse_roll(roll or futures.roll, default_days=futures.roll_days)
    adjustment = adjustment_of(adjust, settings)
    lake = open_lake(settings)
    run = run or Run(lake)
    with run.step("continuous", root) as row:
        files, ignored = find_trade_files(lake, spec)
        if not files:
            raise LakeError(
                f"no silver trades of {root} or its contracts ({root}H24, {root}M4...)",
                path=lake.url(f"{SILVER}/trades"),
                hint=f"ingest {root} trades first; `marketlake status` shows what was ingested",
                symbol=root,
            )
        years = partition_years(list(files))
        sessions = load_sessions(futures.calendar, *calendar_span(years[0], years[-1]))
        daily = daily_bars(lake, files, sessions, settings, root=root, recompute=recompute)
        chosen = _choose_source(daily, root, source)
        daily = daily.filter(pl.col("source") == chosen)
        built = build_continuous(
            daily,
            spec=spec,
            sessions=sessions,
            rule=rule,
            adjustment=adjustment,
        )
        if built.series.num_rows == 0:
            raise LakeError(
                f"none of the {root} trades can form a continuous series",
                hint=f"excluded trades by reason: {built.excluded_trades}; check the "
                "timestamps and contract codes of the ingested trades",
                symbol=root,
                source=chosen,
            )
        written = _publish(lake, built, root, chosen)
        trades_in = int(daily["trade_count"].sum())
        row.rows_in, row.rows_out = trades_in, built.series.num_rows
        row.details = {
            "source": chosen,
            "roll_rule": built.series["roll_rule"][0].as_py(),
            "adjustment": built.series["adjustment"][0].as_py(),
            "calendar": futures.calendar,
            "rolls": built.rolls.num_rows,
            "contracts": built.instruments.num_rows,
            "excluded_trades": built.excluded_trades,
            "ignored_symbols": ignored,
        }
    dates = built.series["session_date"]
    return ContinuousReport(
        root=root,
        source=chosen,
        rule=row.details["roll_rule"],
        adjustment=row.details["adjustment"],
        calendar=futures.calendar,
        has_contracts=built.has_contracts,
        trades_in=trades_in,
        sessions=built.series.num_rows,
        first_session=dates[0].as_py(),
        last_session=dates[-1].as_py(),
        contracts=built.instruments["symbol"].to_pylist(),
        rolls=built.rolls,
        excluded_trades=built.excluded_trades,
        ignored_symbols=ignored,
        written=written,
        lake_url=lake.url(""),
        run_id=run.run_id,
    )


def read_rolls(
    settings: Settings, root: str, *, rule: str | None = None, source: str | None = None
) -> pa.Table:
    """The roll tables stored in silver for ``root`` (of one rule / source when given).

    Args:
        settings: marketlake settings.
        root: The futures root.
        rule: ``volume``, ``days:N`` (normalised like ``--roll``); all rules by default.
        source: Only rolls built from this trades' source.

    Returns:
        ``CONTINUOUS_ROLLS`` rows ordered by rule, source and roll date.
    """
    spec = spec_for(root)
    lake = open_lake(settings)
    schema = schema_of("continuous_rolls")
    symbol_dir = partition_dir("continuous_rolls", spec.root, 0).rsplit("/", 1)[0]
    keys = lake.glob(f"{symbol_dir}/*/*.parquet")
    if not keys:
        return schema.empty_table()
    frame = pl.from_arrow(pa.concat_tables([lake.read_parquet(k).cast(schema) for k in keys]))
    assert isinstance(frame, pl.DataFrame)
    if rule is not None:
        wanted = str(parse_roll(rule, default_days=settings.futures.roll_days))
        frame = frame.filter(pl.col("rule") == wanted)
    if source is not None:
        frame = frame.filter(pl.col("source") == source)
    return frame.sort("rule", "source", "roll_date").to_arrow().cast(schema)


def adjustment_of(text: str | None, settings: Settings) -> Adjustment:
    """``text`` or the default adjustment, checked."""
    value = text or settings.futures.adjust
    if value not in ADJUSTMENTS:
        raise ConfigError(
            f"unknown adjustment {value!r}", hint="use --adjust difference, ratio or none"
        )
    return value  # type: ignore[return-value]
