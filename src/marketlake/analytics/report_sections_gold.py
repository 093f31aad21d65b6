"""The report's gold sections: daily indicators per symbol, and the anomalies gold flagged.

Pure: frames in, HTML text out (the figure comes from ``report_figures_gold``).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from marketlake.analytics import report_figures_gold as figures
from marketlake.analytics import report_html as html
from marketlake.analytics.report_data import ReportInputs
from marketlake.analytics.report_gold import ANOMALIES, INDICATORS, IndicatorInputs
from marketlake.analytics.report_sections import SECTION_TITLES, for_symbols
from marketlake.config import Settings

MIN_CHART_SESSIONS = 15  # RSI(14) has its first value at the 15th session
MAX_NAMED = 30  # symbols named in the "left out" sentence before "(+N more)"
MAX_COUNT_ROWS = 50  # symbols in the anomaly counts table (the most flagged first)
# What each rule of fct_anomalies flags, as a reader needs it (thresholds come from the rows).
ANOMALY_RULES = {
    "return_zscore": "a return that many standard deviations from the mean of the 20 before it",
    "volume_spike": "a volume that many times the average of the 20 sessions before it",
    "gap": "an open that far (as a fraction) from the previous close",
    "stale_price": "a close unchanged for that many sessions in a row",
}
BUILD_HINT = "run `marketlake build` to build the warehouse and export its marts to gold"


def indicators_section(inputs: ReportInputs, settings: Settings) -> html.Section:
    """Latest values per symbol, then close/SMA, RSI and MACD over the last year of each."""
    days = settings.analytics.indicator_days
    explanation = (
        f"Gold's daily indicators (fct_indicators_daily) over each symbol's last {days} days: "
        "the close with its simple moving averages of 20, 50 and 200 sessions (the close above "
        "a rising SMA 200 is a long up-trend; SMA 20 crossing SMA 50 marks a turn of the short "
        "one); RSI(14), which reads above 70 as overbought and below 30 as oversold; and MACD "
        "(EMA 12 minus EMA 26) with its 9-session signal line, the shaded area being their "
        "difference (green while momentum rises). Red circles mark sessions flagged in the "
        "Anomalies section. Volatilities are annualised; a z-score compares a session with the "
        "20 before it."
    )
    found = inputs.indicators
    if found is None:
        body = html.absent(
            f"No indicators in gold ({mart_url(inputs, INDICATORS)}): {BUILD_HINT}, "
            "then write the report again."
        )
    elif not found.symbols:
        body = html.absent(
            f"Gold holds no daily indicators{for_symbols(inputs)}: they are computed from daily "
            "bars (interval 1d); ingest daily data (`marketlake ingest csv PATH`), run "
            "`marketlake build`, then write the report again."
        )
    else:
        body = _symbols_note(found, settings) + latest_table(found)
        flagged = inputs.anomalies if inputs.anomalies is not None else _no_anomalies()
        for symbol in found.symbols:
            window = found.window.filter(pl.col("symbol") == symbol)
            body += html.heading(symbol)
            if window.height < MIN_CHART_SESSIONS:
                body += html.absent(
                    f"{symbol} has {window.height} sessions in its last {days} days: too few "
                    f"to chart (at least {MIN_CHART_SESSIONS}: RSI(14) starts at the 15th "
                    "session); its latest values are in the table."
                )
                continue
            body += html.figure(
                figures.indicator_panels(
                    window, flagged.filter(pl.col("symbol") == symbol), symbol
                ),
                f"{symbol}: top, the close (dark blue) with SMA 20, 50 and 200; middle, RSI(14) "
                "with the 30 and 70 lines; bottom, MACD (blue), its signal (pink) and their "
                "difference (shaded). A moving average starts once its window is full.",
            )
    return html.Section("indicators", SECTION_TITLES["indicators"], explanation, body)


def _symbols_note(found: IndicatorInputs, settings: Settings) -> str:
    """Which symbols were asked for but have no indicators, and which were left out."""
    note = ""
    if found.missing:
        note += html.absent(
            f"No daily indicators for {', '.join(found.missing)}: gold computes them from daily "
            "bars only (tick data and futures have none)."
        )
    if found.left_out:
        named = [f"{s} ({found.sessions[s]:,})" for s in found.left_out[:MAX_NAMED]]
        more = len(found.left_out) - len(named)
        note += html.paragraph(
            f"Charted: the {len(found.symbols)} symbols with the most sessions (setting "
            f"analytics.max_symbols = {settings.analytics.max_symbols}). Left out, with their "
            f"sessions: {', '.join(named)}" + (f" (+{more} more)" if more > 0 else "") + "; "
            "choose with --symbols."
        )
    return note


def latest_table(found: IndicatorInputs) -> str:
    """One row per charted symbol: its last session's close, return, volatilities, z-scores."""
    rows = [
        [
            r["symbol"],
            r["session_date"],
            r["close"],
            _percent(r["simple_return"]),
            _percent(r["volatility_20d"]),
            _percent(r["volatility_252d"]),
            _round(r["close_zscore_20d"]),
            _round(r["return_zscore_20d"]),
            _round(r["volume_zscore_20d"]),
            _round(r["rsi_14"], 1),
        ]
        for r in found.latest.iter_rows(named=True)
    ]
    return html.table(
        [
            "symbol",
            "last session",
            "close",
            "return",
            "volatility 20d",
            "volatility 252d",
            "close z",
            "return z",
            "volume z",
            "RSI(14)",
        ],
        rows,
    )


def anomalies_section(inputs: ReportInputs, settings: Settings) -> html.Section:
    """Anomalies by rule and by symbol, then the most recent and the most extreme."""
    explanation = (
        "Sessions gold flagged in the daily series (fct_anomalies), each with the rule that "
        "fired, what it measured against which threshold (settings warehouse.gold.*), and a "
        "sentence saying why. A flag is a question, not a verdict: a price 100 times off is a "
        "bad print that passed validation, a gap after earnings is the market."
    )
    anomalies = inputs.anomalies
    if anomalies is None:
        body = html.absent(
            f"No anomalies in gold ({mart_url(inputs, ANOMALIES)}): {BUILD_HINT}, then "
            "write the report again."
        )
    elif anomalies.height == 0:
        body = html.paragraph(
            f"No session broke an anomaly rule{for_symbols(inputs)} (or gold holds no daily "
            "bars for them)."
        )
    else:
        limit = settings.analytics.max_anomalies
        body = rules_table(anomalies) + counts_table(anomalies)
        flags = anomalies.with_columns(
            times=(pl.col("measured_value").abs() / pl.col("threshold").abs())
        )
        recent = flags.sort(["session_date", "symbol", "rule_id"], descending=[True, False, False])
        if flags.height <= limit:  # one list holds them all
            body += html.heading(f"Every flagged session ({flags.height}), most recent first")
            body += _anomaly_rows(recent, times=True)
        else:
            body += html.heading(f"Most recent ({limit} of {flags.height})")
            body += _anomaly_rows(recent.head(limit))
            extreme = flags.sort(["times", "session_date"], descending=True, nulls_last=True)
            body += html.heading(
                f"Most extreme ({limit} of {flags.height}): measured value / threshold"
            )
            body += _anomaly_rows(extreme.head(limit), times=True)
    return html.Section("anomalies", SECTION_TITLES["anomalies"], explanation, body)


def rules_table(anomalies: pl.DataFrame) -> str:
    """Each rule: what it flags, its threshold, sessions flagged, symbols concerned."""
    by_rule = anomalies.group_by("rule_id").agg(
        threshold=pl.col("threshold").first(),
        flags=pl.len(),
        symbols=pl.col("symbol").n_unique(),
    )
    seen = {r["rule_id"]: r for r in by_rule.iter_rows(named=True)}
    rows = []
    for rule in [*ANOMALY_RULES, *sorted(set(seen) - set(ANOMALY_RULES))]:
        r = seen.get(rule, {})
        description = ANOMALY_RULES.get(rule, "—")
        rows.append([rule, description, r.get("threshold"), r.get("flags", 0), r.get("symbols", 0)])
    return html.table(
        ["rule", "flags a session with", "threshold", "sessions flagged", "symbols"], rows
    )


def counts_table(anomalies: pl.DataFrame) -> str:
    """Sessions flagged per symbol and rule, the most flagged symbols first."""
    rules = [*ANOMALY_RULES, *sorted(set(anomalies["rule_id"].unique()) - set(ANOMALY_RULES))]
    counts = anomalies.group_by("symbol", "rule_id").len()
    per_symbol: dict[str, dict[str, int]] = {}
    for r in counts.iter_rows(named=True):
        per_symbol.setdefault(r["symbol"], {})[r["rule_id"]] = r["len"]
    ranked = sorted(per_symbol.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    rows: list[list[Any]] = [
        [symbol, *(by.get(rule, 0) for rule in rules), sum(by.values())]
        for symbol, by in ranked[:MAX_COUNT_ROWS]
    ]
    text = html.table(["symbol", *rules, "total"], rows)
    if len(ranked) > MAX_COUNT_ROWS:
        rest = ranked[MAX_COUNT_ROWS:]
        text += html.paragraph(
            f"+{len(rest)} more symbols with {sum(sum(b.values()) for _, b in rest):,} flags."
        )
    return text


def _anomaly_rows(rows: pl.DataFrame, *, times: bool = False) -> str:
    headers = ["session", "symbol", "rule", *(["× threshold"] if times else []), "why"]
    return html.table(
        headers,
        [
            [
                r["session_date"],
                r["symbol"],
                r["rule_id"],
                *([_round(r["times"], 1)] if times else []),
                r["explanation"],
            ]
            for r in rows.iter_rows(named=True)
        ],
    )


def mart_url(inputs: ReportInputs, mart: str) -> str:
    """Where an exported mart is (or would be)."""
    return f"{inputs.gold_url.rstrip('/')}/{mart}.parquet"


def _no_anomalies() -> pl.DataFrame:
    return pl.DataFrame(schema={"symbol": pl.String, "session_date": pl.Date})


def _percent(value: float | None) -> html.Percent | None:
    return None if value is None else html.Percent(value)


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)
