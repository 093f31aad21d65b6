"""The sections of the report: each a title, one sentence on how to read it, and a body.

Pure: frames and statistics in, HTML text out (figures come from ``report_figures``).
"""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np
import polars as pl

from marketlake.analytics import report_figures as figures
from marketlake.analytics import report_html as html
from marketlake.analytics.bar_stats import BarStatistics, series_returns
from marketlake.analytics.report_data import ReportInputs
from marketlake.config import Settings

MAX_REBASED_SYMBOLS = 20  # more lines than this make the rebased-closes figure unreadable
# Every section, in the order the page shows them (anchor -> title).
SECTION_TITLES = {
    "coverage": "Coverage",
    "sources": "Sources",
    "quality": "Data quality",
    "daily": "Daily bars (gold)",
    "indicators": "Indicators (gold)",
    "anomalies": "Anomalies (gold)",
    "bar-statistics": "Bar statistics",
    "continuous": "Continuous futures contract",
}


def coverage_section(inputs: ReportInputs) -> html.Section:
    """Datasets, files, rows, symbols and time spans of silver."""
    rows = []
    for c in inputs.coverage:
        symbols = ", ".join(c.symbols[:8]) + (
            f" (+{len(c.symbols) - 8})" if len(c.symbols) > 8 else ""
        )
        rows.append(
            [c.name, c.files, c.rows, symbols or "—", c.first, c.last]
            if c.files
            else [
                c.name,
                0,
                0,
                html.Raw(f"<em>absent{escape(for_symbols(inputs))}</em>"),
                None,
                None,
            ]
        )
    body = html.table(["dataset", "files", "rows", "symbols", "from", "to"], rows)
    body += html.paragraph(f"Lake: {inputs.lake_url}")
    return html.Section(
        "coverage",
        SECTION_TITLES["coverage"],
        "Each silver dataset with its files, rows, symbols and the dates its rows cover; a "
        "dataset marked absent has not been produced yet (for these symbols), so the sections "
        "built on it say so instead of showing figures.",
        body,
    )


def quality_section(inputs: ReportInputs) -> html.Section:
    """Rows in, kept and quarantined per dataset, and rows per validation rule."""
    if not inputs.quality_totals:
        body = html.absent(
            f"No ingest has been published yet{for_symbols(inputs)}: nothing was validated."
        )
    else:
        totals = [
            [
                t.dataset,
                t.ingests,
                t.rows_in,
                t.rows_out,
                t.rows_quarantined,
                f"{100 * t.rows_quarantined / t.rows_in:.2f}%" if t.rows_in else "—",
            ]
            for t in inputs.quality_totals
        ]
        body = html.table(
            ["dataset", "ingests", "rows in", "rows in silver", "quarantined", "share"], totals
        )
        if inputs.quality:
            lines = [
                [
                    q.dataset,
                    q.rule_id,
                    "quarantined" if q.severity == "ERROR" else "kept, flagged",
                    q.rows,
                    q.description,
                ]
                for q in inputs.quality
            ]
            body += html.table(["dataset", "rule", "outcome", "rows", "what it means"], lines)
        else:
            body += html.paragraph("No row broke a rule.")
        if inputs.symbols:
            body += html.paragraph(
                f"Limited to the ingests holding rows{for_symbols(inputs)}; their counts are "
                "whole (an ingest of many symbols counts the rows of all of them)."
            )
    return html.Section(
        "quality",
        SECTION_TITLES["quality"],
        "Every input row is either in silver or quarantined with the rule it broke (never "
        "silently dropped); quarantined rows keep their original text, flagged rows stay in "
        "silver with a warning, and `marketlake quality` shows examples of each rule.",
        body,
    )


def daily_section(inputs: ReportInputs) -> html.Section:
    """The daily-bar marts exported to gold: per symbol, and monthly closes rebased."""
    symbols = inputs.gold.get("dim_symbol")
    monthly = inputs.gold.get("agg_bars_monthly")
    if symbols is None:
        body = html.absent(
            f"No daily-bar marts in gold ({inputs.gold_url}): run `marketlake build` to build "
            "the warehouse, then write the report again."
        )
    elif symbols.height == 0:
        body = html.absent(
            "The warehouse holds no daily bars (gold dim_symbol is empty"
            + (" for these symbols" if inputs.symbols else "")
            + "): ingest daily data (`marketlake ingest csv PATH`), run `marketlake build`, "
            "then write the report again."
        )
    else:
        last = (
            monthly.sort("period_start").group_by("symbol").agg(pl.col("close").last())
            if monthly is not None
            else pl.DataFrame(
                {"symbol": [], "close": []}, schema={"symbol": pl.String, "close": pl.Float64}
            )
        )
        if "is_current" in symbols.columns:  # dim_symbol is SCD type 2: one row per version
            symbols = symbols.filter(pl.col("is_current"))
        joined = symbols.join(last, on="symbol", how="left").sort("symbol")
        rows = [
            [
                r["symbol"],
                r["first_session_date"],
                r["last_session_date"],
                r["trading_days"],
                r.get("sources"),
                r["close"],
            ]
            for r in joined.iter_rows(named=True)
        ]
        body = html.table(
            [
                "symbol",
                "first session",
                "last session",
                "sessions",
                "sources",
                "last monthly close",
            ],
            rows,
        )
        if monthly is not None and monthly.height:
            shown = sorted(monthly["symbol"].unique().to_list())[:MAX_REBASED_SYMBOLS]
            body += html.figure(
                figures.rebased_closes(monthly.filter(pl.col("symbol").is_in(shown))),
                "Each line is a symbol's monthly close divided by its first month's close, times "
                "100: 150 means 50% above where it started; lines that move together moved "
                f"together in the market (at most {MAX_REBASED_SYMBOLS} symbols are drawn).",
            )
    return html.Section(
        "daily",
        SECTION_TITLES["daily"],
        "The daily bars as the warehouse publishes them (gold Parquet exports): the sessions "
        "each symbol covers and how its price moved, month by month.",
        body,
    )


def bar_statistics_section(
    inputs: ReportInputs, stats: BarStatistics | None, settings: Settings
) -> html.Section:
    """The comparison of bar kinds: summary table, then four figures per symbol."""
    explanation = (
        "Bars sampled by activity (tick, volume, dollar) are expected to give steadier counts "
        "per week, less serial correlation and returns closer to normal than time bars; each "
        "row and figure compares the kinds per symbol (a series = symbol x kind x threshold x "
        "source; complete bars only; log returns close to close within a series; UTC weeks "
        "and months)."
    )
    if stats is None:
        body = html.absent(
            f"No information-driven or time bars in silver{for_symbols(inputs)} "
            "(silver/bars_info is empty): build them from trades, e.g. "
            "`marketlake bars --kind dollar --bars-per-day 50` and the "
            "same for --kind tick, volume and time, then write the report again."
        )
        return html.Section("bar-statistics", SECTION_TITLES["bar-statistics"], explanation, body)
    body = summary_table(stats, settings) + html.paragraph(
        "Read the table per symbol: the lowest CV of weekly counts (rank 1) is the steadiest "
        "sampler; a Jarque-Bera p-value below 0.05 rejects normal returns; a Ljung-Box p-value "
        "below 0.05 means the returns are serially correlated at some lag up to "
        f"{settings.analytics.acf_lags}."
    )
    returns = series_returns(stats.returns)
    for symbol in sorted(stats.stability["symbol"].unique().to_list()):
        body += symbol_figures(symbol, stats, returns, settings)
    return html.Section("bar-statistics", SECTION_TITLES["bar-statistics"], explanation, body)


def summary_table(stats: BarStatistics, settings: Settings) -> str:
    """One row per series: weekly-count stability, monthly variance stability, return tests."""
    keys = ["symbol", "kind", "threshold", "source"]
    acf1 = stats.acf.filter(pl.col("lag") == 1).select(*keys, acf1="acf")
    joined = (
        stats.stability.join(stats.tests, on=keys, how="left", nulls_equal=True)
        .join(acf1, on=keys, how="left", nulls_equal=True)
        .sort("symbol", "stability_rank", "kind", "threshold")
    )
    rows = [
        [
            r["symbol"],
            r["kind"],
            figures.threshold_text(r["kind"], r["threshold"]),
            r["source"],
            r["bar_count"],
            r["weeks"],
            r["mean_weekly_count"],
            r["cv_weekly_count"],
            r["stability_rank"],
            r["cv_monthly_variance"],
            r["n"],
            r["std"],
            r["skew"],
            r["excess_kurtosis"],
            html.Raw(html.fmt_pvalue(r["jb_pvalue"])),
            html.Raw(html.fmt_pvalue(r["lb_pvalue"])),
            r["acf1"],
        ]
        for r in joined.iter_rows(named=True)
    ]
    return html.table(
        [
            "symbol",
            "kind",
            "threshold",
            "source",
            "bars",
            "weeks",
            "bars/week",
            "CV weekly count",
            "rank",
            "CV monthly variance",
            "returns",
            "std return",
            "skew",
            "excess kurtosis",
            "Jarque-Bera p",
            f"Ljung-Box p ({settings.analytics.acf_lags} lags)",
            "ACF lag 1",
        ],
        rows,
        compact=True,
    )


def symbol_figures(
    symbol: str,
    stats: BarStatistics,
    returns: dict[tuple[Any, ...], np.ndarray],
    settings: Settings,
) -> str:
    """The four bar-statistics figures of one symbol."""
    mine = pl.col("symbol") == symbol
    body = html.heading(symbol)
    body += html.figure(
        figures.weekly_counts(stats.weekly.filter(mine), symbol),
        "Weekly bar counts: each line is one series' bars per ISO week divided by its own "
        "average week, so kinds of different sizes share one scale; the flatter the line, the "
        "steadier the sampling (time bars are flat by construction when trading hours are).",
    )
    acf = stats.acf.filter(mine)
    if acf.height:
        body += html.figure(
            figures.acf_panels(acf, symbol),
            f"Autocorrelation of returns at lags 1..{settings.analytics.acf_lags} bars, one panel "
            "per series: the grey band is ±1.96/√n, where white noise falls 95% of the time; "
            "stems outside it are serial correlation (the next bar's return partly predictable).",
        )
    else:
        body += html.absent(
            f"No series of {symbol} has {settings.analytics.min_returns} returns or more "
            "(setting analytics.min_returns): no autocorrelation or normality figures."
        )
    body += html.figure(
        figures.monthly_variance(stats.monthly.filter(mine), symbol),
        "Monthly variance of returns, each series divided by its average month: a line that "
        "stays near 1 has a stable variance; swings mean volatility regimes the sampling did "
        "not absorb (the CV of monthly variance in the table sums this up).",
    )
    mine_returns = {
        (str(kind), float(threshold), None if source is None else str(source)): values
        for (of, kind, threshold, source), values in returns.items()
        if of == symbol and len(values) >= settings.analytics.min_returns
    }
    if mine_returns:
        body += html.figure(
            figures.return_histograms(mine_returns, symbol, bins=settings.analytics.histogram_bins),
            "Histogram of each series' returns in standard deviations against the standard normal "
            "curve (log scale, so the tails show): mass above the curve far from 0 is fat tails, "
            "which the excess kurtosis and the Jarque-Bera test in the table measure.",
        )
    return body


def for_symbols(inputs: ReportInputs) -> str:
    """`` for ES, NQ`` when the report is limited to symbols."""
    return f" for {', '.join(inputs.symbols)}" if inputs.symbols else ""
