"""The report's figures: matplotlib (Agg, no pyplot state) rendered to inline SVG.

Each function takes small frames and returns one ``<svg>`` element as text, ready to paste
into HTML: no XML prologue, no metadata, no namespace URLs, and ids prefixed so that many
figures can share one page. Colours follow the bar kind, so a kind looks the same in every
figure.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

KIND_COLOURS = {
    "time": "#4d4d4d",
    "tick": "#1f77b4",
    "volume": "#ff7f0e",
    "dollar": "#2ca02c",
    "imbalance": "#9467bd",
}
LINE_STYLES = ("-", "--", ":", "-.")
WIDTH_IN = 9.0
PANEL_IN = (4.2, 2.8)
RC: dict[Any, Any] = {
    "svg.fonttype": "none",  # text stays text: smaller, searchable, no embedded glyphs
    "svg.hashsalt": "marketlake",  # stable ids: the same data gives the same SVG
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_counter = itertools.count(1)


SeriesKey = tuple[str, float, str | None]  # kind, threshold, source


def series_label(kind: str, threshold: float, source: str | None = None) -> str:
    """How a series is named on plots: ``dollar 5e+06``, ``tick 200``, ``time 5m [hdf5]``."""
    return f"{kind} {threshold_text(kind, threshold)}" + (f" [{source}]" if source else "")


def threshold_text(kind: str, threshold: float) -> str:
    """A threshold as people say it: ``5m`` for a time bar of 300 s, ``5e+06`` dollars."""
    return _interval(threshold) if kind == "time" else f"{threshold:g}"


def _interval(seconds: float) -> str:
    for unit, length in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= length and seconds % length == 0:
            return f"{seconds / length:g}{unit}"
    return f"{seconds:g}s"


def labels(keys: list[SeriesKey]) -> dict[SeriesKey, str]:
    """Labels of a symbol's series; the source is named only when the symbol has several."""
    several = len({key[2] for key in keys}) > 1
    return {key: series_label(key[0], key[1], key[2] if several else None) for key in keys}


def _style(kind: str, index: int) -> dict[str, Any]:
    return {
        "color": KIND_COLOURS.get(kind, "#8c564b"),
        "linestyle": LINE_STYLES[index % len(LINE_STYLES)],
    }


def _styles(keys: list[SeriesKey]) -> dict[SeriesKey, dict[str, Any]]:
    """One colour per kind; the thresholds (and sources) of a kind differ by line style."""
    seen: dict[str, int] = {}
    styles = {}
    for key in sorted(keys, key=_sort_key):
        seen[key[0]] = seen.get(key[0], -1) + 1
        styles[key] = _style(key[0], seen[key[0]])
    return styles


def _sort_key(key: SeriesKey) -> tuple[str, float, str]:
    return key[0], key[1], key[2] or ""


def _series(frame: pl.DataFrame) -> list[tuple[str, pl.DataFrame, dict[str, Any]]]:
    """Each series of a one-symbol frame: its label, its rows and its line style."""
    if "source" not in frame.columns:
        frame = frame.with_columns(source=pl.lit(None, pl.String))
    parts = {
        (str(kind), float(threshold), None if source is None else str(source)): part
        for (kind, threshold, source), part in frame.partition_by(
            ["kind", "threshold", "source"], as_dict=True, maintain_order=True
        ).items()
    }
    keys = sorted(parts, key=_sort_key)
    names, styles = labels(keys), _styles(keys)
    return [(names[key], parts[key], styles[key]) for key in keys]


def new_figure(height_in: float = 3.2, width_in: float = WIDTH_IN) -> Figure:
    """A figure of the report's width (Agg, constrained layout; no pyplot state)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), layout="constrained")


def _panels(count: int) -> tuple[Figure, list[Axes]]:
    columns = min(count, 2)
    rows = math.ceil(count / columns)
    fig = new_figure(PANEL_IN[1] * rows, PANEL_IN[0] * columns)
    axes = fig.subplots(rows, columns, squeeze=False).ravel().tolist()
    for extra in axes[count:]:
        extra.set_visible(False)
    return fig, axes[:count]


def to_svg(fig: Figure) -> str:
    """The figure as one inline ``<svg>`` element with page-unique ids."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.DOTALL)
    # Inline SVG in HTML needs no namespace declarations; dropping them leaves no URL behind.
    text = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", text)
    text = text.replace("xlink:href=", "href=")
    prefix = f"f{next(_counter)}-"
    text = re.sub(r'id="([^"]+)"', rf'id="{prefix}\1"', text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}\1"', text)
    return re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}\1)", text)


def rc_context() -> Any:
    """The report's matplotlib settings (text as text, stable ids, small fonts)."""
    import matplotlib

    return matplotlib.rc_context(RC)


def date_axis(ax: Axes) -> None:
    """Date ticks that do not crowd: ConciseDateFormatter writes each year or month once."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(maxticks=10)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def _pad_single_date(ax: Axes, dates: pl.Series) -> None:
    """One date only: a month either side (matplotlib would widen the axis to four years)."""
    from datetime import timedelta

    if dates.n_unique() == 1 and dates[0] is not None:
        ax.set_xlim(dates[0] - timedelta(days=31), dates[0] + timedelta(days=31))


def log_y(ax: Axes) -> None:
    """A log y axis without minor ticks (they cost most of a figure's drawing time)."""
    from matplotlib.ticker import NullLocator

    ax.set_yscale("log")
    ax.yaxis.set_minor_locator(NullLocator())


def weekly_counts(weekly: pl.DataFrame, symbol: str) -> str:
    """Bars per ISO week of each series of a symbol, divided by the series' mean count."""
    with rc_context():
        fig = new_figure()
        ax = fig.add_subplot()
        for label, part, style in _series(weekly):
            counts = part["bar_count"].cast(pl.Float64)
            mean = counts.mean()
            relative = counts / mean if isinstance(mean, float) and mean > 0 else counts
            ax.plot(
                part["week_start"].to_list(),
                relative.to_list(),
                **style,
                linewidth=1.4,
                marker=".",
                label=label,
            )
        ax.axhline(1.0, color="#999999", linewidth=0.8)
        date_axis(ax)
        ax.set_ylabel("bars per week / series mean")
        ax.set_title(f"{symbol}: weekly bar counts (1 = the series' average week)")
        ax.legend(loc="best", fontsize=8, ncols=2)
        return to_svg(fig)


def acf_panels(acf: pl.DataFrame, symbol: str) -> str:
    """Autocorrelation of returns at lags 1..k, one panel per series, with its 95% band."""
    series = _series(acf)
    with rc_context():
        fig, axes = _panels(len(series))
        for ax, (label, part, style) in zip(axes, series, strict=True):
            lags = part["lag"].to_numpy()
            bound = float(part["bound"][0])
            ax.axhspan(-bound, bound, color="#dddddd", linewidth=0)
            ax.axhline(0.0, color="#999999", linewidth=0.8)
            ax.vlines(lags, 0.0, part["acf"].to_numpy(), color=style["color"], linewidth=2)
            ax.plot(lags, part["acf"].to_numpy(), "o", color=style["color"], markersize=3)
            ax.set_title(f"{symbol} {label} (n={part['n'][0]:,})")
            ax.set_xlabel("lag (bars)")
            ax.set_xticks(lags)
        axes[0].set_ylabel("autocorrelation")
        return to_svg(fig)


def monthly_variance(monthly: pl.DataFrame, symbol: str) -> str:
    """Monthly variance of returns of each series, divided by the series' mean."""
    with rc_context():
        fig = new_figure()
        ax = fig.add_subplot()
        for label, part, style in _series(monthly.drop_nulls("variance_return")):
            variance = part["variance_return"]
            mean = variance.mean()
            if not isinstance(mean, float) or mean <= 0:
                continue
            ax.plot(
                part["month_start"].to_list(),
                (variance / mean).to_list(),
                **style,
                linewidth=1.4,
                marker="o",
                markersize=3,
                label=label,
            )
        ax.axhline(1.0, color="#999999", linewidth=0.8)
        ax.set_ylim(bottom=0)
        _pad_single_date(ax, monthly.drop_nulls("variance_return")["month_start"])
        date_axis(ax)
        ax.set_ylabel("variance / series mean")
        ax.set_title(f"{symbol}: monthly variance of bar returns (1 = the series' average)")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=8, ncols=2)
        return to_svg(fig)


def return_histograms(returns: dict[SeriesKey, np.ndarray], symbol: str, *, bins: int) -> str:
    """Standardised returns of each series against the standard normal density (log scale)."""
    from scipy import stats

    keys = sorted(returns, key=_sort_key)
    names, styles = labels(keys), _styles(keys)
    grid = np.linspace(-6, 6, 241)
    with rc_context():
        fig, axes = _panels(len(keys))
        for ax, key in zip(axes, keys, strict=True):
            values = returns[key]
            z = (values - values.mean()) / values.std(ddof=1)
            style = styles[key]
            ax.hist(
                z,
                bins=bins,
                range=(-6, 6),
                density=True,
                histtype="stepfilled",
                color=style["color"],
                alpha=0.55,
            )
            ax.plot(grid, stats.norm.pdf(grid), color="#000000", linewidth=1, label="normal")
            log_y(ax)
            ax.set_ylim(1e-4, 1.0)
            ax.set_title(f"{symbol} {names[key]} (n={len(values):,})")
            ax.set_xlabel("standardised return (std devs)")
        axes[0].set_ylabel("density")
        axes[0].legend(loc="upper right", fontsize=8)
        return to_svg(fig)


def rebased_closes(monthly: pl.DataFrame) -> str:
    """Monthly closes of each symbol from gold, rebased to 100 at its first month."""
    with rc_context():
        fig = new_figure()
        ax = fig.add_subplot()
        for (symbol,), part in (
            monthly.sort("symbol", "period_start")
            .partition_by(["symbol"], as_dict=True, maintain_order=True)
            .items()
        ):
            close = part["close"]
            if close.len() == 0 or not close[0]:
                continue
            ax.plot(
                part["period_start"].to_list(),
                (close / close[0] * 100).to_list(),
                linewidth=1.2,
                label=str(symbol),
            )
        date_axis(ax)
        ax.set_ylabel("monthly close, first month = 100")
        ax.set_title("Daily bars: monthly closes, rebased")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=8, ncols=4)
        return to_svg(fig)


def continuous_contract(daily: pl.DataFrame, rolls: pl.DataFrame | None, root: str) -> str:
    """The close of a continuous contract (adjusted or spliced) with its roll points marked."""
    daily = daily.sort("session_date")
    with rc_context():
        fig = new_figure(3.6)
        ax = fig.add_subplot()
        dates = daily["session_date"].to_list()
        if "raw_close" in daily.columns:
            ax.plot(
                dates,
                daily["raw_close"].to_list(),
                color="#bbbbbb",
                linewidth=0.9,
                label="raw close (contract traded)",
            )
        ax.plot(
            dates,
            daily["close"].to_list(),
            color="#1f77b4",
            linewidth=1.3,
            label="continuous close",
        )
        if rolls is not None and rolls.height:
            closes = dict(zip(dates, daily["close"].to_list(), strict=True))
            for row in rolls.sort("roll_date").iter_rows(named=True):
                ax.axvline(row["roll_date"], color="#d62728", linewidth=0.8, linestyle="--")
                y = closes.get(row["roll_date"])
                if y is not None:
                    ax.plot([row["roll_date"]], [y], "o", color="#d62728", markersize=4)
                ax.annotate(
                    str(row.get("to_contract") or ""),
                    (row["roll_date"], 1.0),
                    xycoords=("data", "axes fraction"),
                    fontsize=7,
                    color="#d62728",
                    rotation=90,
                    va="top",
                    ha="right",
                )
        date_axis(ax)
        ax.set_ylabel("price")
        ax.set_title(f"{root}: continuous contract with its roll points")
        ax.legend(loc="best", fontsize=8)
        return to_svg(fig)
