"""Continuous front-month futures: daily bars per contract, roll schedule, back-adjustment.

Pure steps on frames: contract resolution, splice and adjustment here, the roll schedule in
:mod:`marketlake.bars.roll`; :mod:`marketlake.bars.contract_bars` makes the daily bars from silver
trades and :mod:`marketlake.bars.continuous_io` writes the results. The definitions:

- Daily bars per contract and session (sessions as in :mod:`marketlake.bars.contracts`): open and
  close are the first and last trade by time (ties broken by ``sequence``, or by the row order in
  the silver file when the source has none), high and low the extremes, volume the sum of sizes.
- The chain: the contracts found, in order of last trading day. A contract's bars after its last
  trading day are never used.
- Roll ``volume``: on the first session, after the previous roll and on or before the front's
  last trading day, on which the next contract's volume exceeds the front's (``crossover``);
  without a crossover, on the last session both traded on or before that day (``last_day``).
- Roll ``days:N``: on the session N sessions before the front's last trading day (``days``), or
  the first later one both traded on; if they traded together only earlier, on the last such
  session (``last_overlap``).
- The roll session is the first session on the new contract. The gap is measured on it: new
  close - old close (ratio: new / old). Contracts that never traded on one session (a vendor's
  front-only file) roll on the new contract's first session after the old one's last, and the
  gap is measured from the old contract's last close (``no_overlap``; ``from_close_date`` says
  when). A fallback roll (``last_day``, ``last_overlap``) needs the new contract to trade after
  it: when the data end before a roll is due, the series ends on the front.
- Adjust ``difference``: every price before a roll gets that roll's gap added (cumulatively, so
  the newest contract is unadjusted); ``ratio``: multiplied by the roll's ratio; ``none``
  (default, like Databento): raw prices spliced. Either way the adjusted series' change on a
  roll session equals the old contract's change that session (identity tested).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import polars as pl
import pyarrow as pa

from marketlake.bars.contracts import (
    Contract,
    ContractSpec,
    Sessions,
    expiry_time,
    last_trade_date,
    parse_contract,
)
from marketlake.bars.roll import ROLL_FRAME, RollRule, chain_order, roll_schedule
from marketlake.errors import ConfigError, LakeError
from marketlake.schemas import CONTINUOUS, CONTINUOUS_ROLLS, INSTRUMENTS

Adjustment = Literal["difference", "ratio", "none"]
ADJUSTMENTS: tuple[Adjustment, ...] = ("difference", "ratio", "none")

# The per-contract daily bars every pure step works on (one row per symbol, source, session).
DAILY_COLUMNS = (
    "symbol",
    "source",
    "session_date",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "trade_count",
)
PRICES = ("open", "high", "low", "close")


@dataclass(frozen=True)
class Resolved:
    """Daily bars with their contracts resolved, and what could not take part."""

    bars: pl.DataFrame  # DAILY_COLUMNS + contract, last_trade (date)
    contracts: pl.DataFrame  # contract, year, month, last_trade, expiry (UTC)
    excluded_trades: dict[str, int] = field(default_factory=dict)  # reason -> trades


def resolve_contracts(daily: pl.DataFrame, spec: ContractSpec, sessions: Sessions) -> Resolved:
    """Name the contract of every daily bar and drop the bars that cannot be used.

    Short years resolve per session (a 1-digit ``ESH4`` file may span two decades). Dropped, with
    their trade counts by reason: ``after_last_trade`` (a print after the contract's last trading
    day), ``outside_calendar`` (no session, or a contract month the calendar does not cover).

    Args:
        daily: Per-symbol daily bars (:data:`DAILY_COLUMNS`); symbols other than contract codes
            of ``spec`` are ignored by the caller.
        spec: The root's specification.
        sessions: The exchange sessions.

    Returns:
        The usable bars of contracts (``contract`` column added) and the contracts met.
    """
    excluded: dict[str, int] = {}
    no_session = daily.filter(pl.col("session_date").is_null())
    if no_session.height:
        excluded["outside_calendar"] = int(no_session["trade_count"].sum())
    daily = daily.filter(pl.col("session_date").is_not_null())
    keys = daily.select("symbol", pl.col("session_date").dt.year().alias("traded_in")).unique()
    rows = []
    for symbol, traded_in in keys.iter_rows():
        contract = parse_contract(symbol, spec, traded_in=traded_in)
        if contract is None:
            continue
        try:
            last = last_trade_date(contract, spec, sessions)
        except ValueError:
            last = None
        rows.append((symbol, traded_in, contract.code, contract.year, contract.month, last))
    mapping = pl.DataFrame(
        rows,
        schema={
            "symbol": pl.String,
            "traded_in": pl.Int32,
            "contract": pl.String,
            "year": pl.Int32,
            "month": pl.Int32,
            "last_trade": pl.Date,
        },
        orient="row",
    )
    joined = daily.with_columns(pl.col("session_date").dt.year().alias("traded_in")).join(
        mapping, on=["symbol", "traded_in"], how="inner"
    )
    clash = (
        joined.group_by("contract", "session_date")
        .agg(pl.col("symbol").unique().sort())
        .filter(pl.col("symbol").list.len() > 1)
    )
    if clash.height:
        first = clash.sort("session_date").row(0, named=True)
        raise LakeError(
            f"symbols {' and '.join(first['symbol'])} both name contract {first['contract']} "
            f"(session {first['session_date']}): their trades would be counted twice",
            hint="keep one naming of the contract in silver trades (re-ingest, or pass --source "
            "if they come from different sources)",
            symbol=first["contract"],
        )
    uncovered = joined.filter(pl.col("last_trade").is_null())
    late = joined.filter(pl.col("session_date") > pl.col("last_trade"))
    for reason, frame in (("outside_calendar", uncovered), ("after_last_trade", late)):
        if frame.height:
            excluded[reason] = excluded.get(reason, 0) + int(frame["trade_count"].sum())
    usable = joined.filter(pl.col("session_date") <= pl.col("last_trade"))
    contracts = (
        mapping.filter(pl.col("last_trade").is_not_null())
        .select("contract", "year", "month", "last_trade")
        .unique()
        .sort("last_trade", "contract")
    )
    expiries = [
        expiry_time(Contract(spec.root, year, month), spec, sessions)
        for year, month in contracts.select("year", "month").iter_rows()
    ]
    contracts = contracts.with_columns(pl.Series("expiry", expiries, pl.Datetime("ns", "UTC")))
    return Resolved(
        bars=usable.drop("traded_in", "year", "month").sort("contract", "session_date"),
        contracts=contracts,
        excluded_trades=excluded,
    )


def splice(bars: pl.DataFrame, rolls: pl.DataFrame) -> pl.DataFrame:
    """The front contract's bar on each session: the first contract until the first roll, then
    each roll's new contract from its roll session until the next roll."""
    order = chain_order(bars)
    if not order:
        return bars.clear()
    segments = pl.DataFrame(
        {
            "contract": [order[0], *rolls["to_contract"]],
            "start": [None, *rolls["roll_date"]],
            "end": [*rolls["roll_date"], None],
        },
        schema={"contract": pl.String, "start": pl.Date, "end": pl.Date},
    )
    return (
        bars.join(segments, on="contract", how="inner")
        .filter(
            (pl.col("start").is_null() | (pl.col("session_date") >= pl.col("start")))
            & (pl.col("end").is_null() | (pl.col("session_date") < pl.col("end")))
        )
        .drop("start", "end")
        .sort("session_date")
    )


def adjust(series: pl.DataFrame, rolls: pl.DataFrame, method: Adjustment) -> pl.DataFrame:
    """Back-adjust open/high/low/close for every roll after each session; adds ``raw_close``.

    ``difference`` adds the sum of the later rolls' gaps, ``ratio`` multiplies by the product of
    their ratios, ``none`` leaves prices as traded. The newest contract is never adjusted.

    Raises:
        ConfigError: ``ratio`` with a roll whose old close is not positive.
    """
    series = series.with_columns(pl.col("close").alias("raw_close"))
    if method == "none" or rolls.height == 0:
        return series
    roll_days = rolls["roll_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    days = series["session_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    later = np.searchsorted(roll_days, days, side="right")  # rolls on or before each session
    if method == "difference":
        gaps = rolls["gap"].to_numpy()
        suffix = np.append(np.cumsum(gaps[::-1])[::-1], 0.0)
        offset = pl.Series("offset", suffix[later])
        return series.with_columns(pl.col(p) + offset for p in PRICES)
    ratios = rolls["ratio"].to_numpy()
    if not np.all(np.isfinite(ratios) & (ratios > 0)):
        bad = rolls.filter(~(pl.col("ratio").is_finite() & (pl.col("ratio") > 0))).row(
            0, named=True
        )
        raise ConfigError(
            f"cannot ratio-adjust the roll of {bad['roll_date']}: close {bad['from_close']} "
            f"of {bad['from_contract']} is not positive",
            hint="use --adjust difference for a series with zero or negative prices",
        )
    suffix = np.append(np.cumprod(ratios[::-1])[::-1], 1.0)
    factor = pl.Series("factor", suffix[later])
    return series.with_columns(pl.col(p) * factor for p in PRICES)


@dataclass(frozen=True)
class Continuous:
    """A continuous series of one root from one source, ready for silver."""

    series: pa.Table  # CONTINUOUS
    rolls: pa.Table  # CONTINUOUS_ROLLS
    instruments: pa.Table  # INSTRUMENTS: the contracts found
    has_contracts: bool  # False: the trades carried only the root (already continuous)
    excluded_trades: dict[str, int] = field(default_factory=dict)


def build_continuous(
    daily: pl.DataFrame,
    *,
    spec: ContractSpec,
    sessions: Sessions,
    rule: RollRule,
    adjustment: Adjustment,
) -> Continuous:
    """Build the continuous front-month series of one root from its daily bars.

    When the trades carry only the root (``ES``, no contract column in the vendor file) the
    series is taken as already continuous: no rolls, prices as traded, ``roll_rule`` and
    ``adjustment`` both ``none``. When both exist, the contracts are used and the root's own
    trades are counted as ``root_without_contract``.

    Args:
        daily: Daily bars (:data:`DAILY_COLUMNS`) of one source; symbols are the root or codes
            of its contracts.
        spec: The root's specification.
        sessions: The exchange sessions covering the bars and the contracts' expiries.
        rule: The roll rule.
        adjustment: How earlier contracts' prices are adjusted.

    Returns:
        The series, its roll table and the contracts' instrument rows.
    """
    sources = daily["source"].unique().to_list()
    if len(sources) > 1:
        raise ValueError(f"build_continuous takes one source at a time, got {sources}")
    source = sources[0] if sources else ""
    root = spec.root
    own = daily.filter(pl.col("symbol") == root)
    of_contracts = daily.filter(pl.col("symbol") != root)
    excluded: dict[str, int] = {}
    if of_contracts.height == 0:
        outside = own.filter(pl.col("session_date").is_null())
        if outside.height:
            excluded["outside_calendar"] = int(outside["trade_count"].sum())
        series = adjust(
            own.filter(pl.col("session_date").is_not_null())
            .sort("session_date")
            .with_columns(pl.lit(None, pl.String).alias("contract")),
            pl.DataFrame(schema=ROLL_FRAME),
            "none",
        )
        rolls = pl.DataFrame(schema=ROLL_FRAME)
        rule_text, adjustment_text = "none", "none"
        contracts = pl.DataFrame(schema={"contract": pl.String, "expiry": pl.Datetime("ns", "UTC")})
    else:
        resolved = resolve_contracts(of_contracts, spec, sessions)
        excluded.update(resolved.excluded_trades)
        if own.height:
            excluded["root_without_contract"] = int(own["trade_count"].sum())
        rolls = roll_schedule(resolved.bars, rule, sessions)
        series = adjust(splice(resolved.bars, rolls), rolls, adjustment)
        rule_text, adjustment_text = str(rule), adjustment
        contracts = resolved.contracts
    return Continuous(
        series=_series_table(
            series, sessions, root=root, rule=rule_text, adjustment=adjustment_text, source=source
        ),
        rolls=_rolls_table(rolls, sessions, root=root, rule=rule_text, source=source),
        instruments=_instruments_table(contracts, spec),
        has_contracts=of_contracts.height > 0,
        excluded_trades=excluded,
    )


def _opens(sessions: Sessions, days: pl.Series) -> pl.Series:
    opens = sessions.opens_of(days.to_numpy().astype("datetime64[D]"))
    return pl.Series(opens.astype("datetime64[ns]")).dt.replace_time_zone("UTC")


def _series_table(
    series: pl.DataFrame, sessions: Sessions, *, root: str, rule: str, adjustment: str, source: str
) -> pa.Table:
    frame = series.select(
        _opens(sessions, series["session_date"]).alias("ts_event"),
        "session_date",
        pl.lit(root).alias("symbol"),
        "contract",
        *PRICES,
        "raw_close",
        pl.col("volume").cast(pl.Float64),
        pl.col("trade_count").cast(pl.Int64),
        pl.lit(adjustment).alias("adjustment"),
        pl.lit(rule).alias("roll_rule"),
        pl.lit(source).alias("source"),
    )
    return frame.to_arrow().cast(CONTINUOUS)


def _rolls_table(
    rolls: pl.DataFrame, sessions: Sessions, *, root: str, rule: str, source: str
) -> pa.Table:
    frame = rolls.select(
        _opens(sessions, rolls["roll_date"]).alias("ts_event"),
        "roll_date",
        pl.lit(root).alias("symbol"),
        *[c for c in ROLL_FRAME if c != "roll_date"],
        pl.lit(rule).alias("rule"),
        pl.lit(source).alias("source"),
    )
    return frame.to_arrow().cast(CONTINUOUS_ROLLS)


def _instruments_table(contracts: pl.DataFrame, spec: ContractSpec) -> pa.Table:
    frame = contracts.select(
        pl.col("contract").alias("symbol"),
        pl.lit(spec.root).alias("root"),
        pl.lit("future").alias("asset_class"),
        pl.lit(spec.venue).alias("venue"),
        pl.lit(spec.currency).alias("currency"),
        pl.lit(spec.multiplier).alias("multiplier"),
        pl.lit(spec.tick_size).alias("tick_size"),
        "expiry",
    )
    return frame.to_arrow().cast(INSTRUMENTS)
