"""``marketlake report``: one self-contained HTML file a person who was not there can read.

Sections: coverage of the lake, its sources (deliveries, rows, last run), data quality, the
daily-bar aggregates of gold, gold's daily indicators (close with SMA 20/50/200, RSI, MACD) and
anomalies, the bar statistics (weekly bar counts, ACF, monthly variance, return histograms
against the normal, per bar kind), and the continuous futures contract with its roll points.
Any dataset may be missing: its section says so and what to run, and the rest of the report is
still written.

Bar statistics are computed from silver at report time (:mod:`marketlake.analytics.bar_stats`)
so the report never depends on a stale warehouse; the warehouse marts hold the same figures.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from marketlake.analytics import report_html as html
from marketlake.analytics.bar_stats import BarStatistics, bar_statistics
from marketlake.analytics.report_continuous import continuous_section
from marketlake.analytics.report_data import ReportInputs, gather_inputs
from marketlake.analytics.report_sections import (
    bar_statistics_section,
    coverage_section,
    daily_section,
    quality_section,
)
from marketlake.analytics.report_sections_gold import anomalies_section, indicators_section
from marketlake.analytics.report_sections_sources import sources_section
from marketlake.analytics.report_sources import REPORT_STEP
from marketlake.config import Settings
from marketlake.errors import TerminalError
from marketlake.ops.ledger import Run

log = logging.getLogger(__name__)

REPORT_NAME = "report.html"
TITLE = "marketlake report"


@dataclass(frozen=True)
class ReportResult:
    """What one report run wrote."""

    path: Path
    bytes: int
    figures: int
    series: int  # bar series (symbol x kind x threshold) with statistics
    absent: list[str] = field(default_factory=list)  # what the report found missing
    seconds: float = 0.0


def default_output(settings: Settings) -> Path:
    """Where the report goes unless told: ``<data_dir>/report.html``."""
    return settings.data_dir.absolute() / REPORT_NAME


def write_report(
    settings: Settings,
    *,
    symbols: list[str] | None = None,
    output: Path | None = None,
    run: Run | None = None,
) -> ReportResult:
    """Gather the lake's datasets, compute the statistics and write the HTML report.

    Args:
        settings: Where the lake and gold are; ``analytics.*`` settings tune the statistics.
        symbols: Only these symbols; None for all.
        output: The HTML file to write (replaced atomically); default ``<data_dir>/report.html``.
        run: When given, a ledger row is written for the "report" step.

    Returns:
        The path written and what it holds.

    Raises:
        TerminalError: the output file cannot be written.
    """
    start = time.perf_counter()
    path = (output or default_output(settings)).absolute()
    if run is None:
        return _write(settings, symbols, path, start)
    with run.step(REPORT_STEP, str(path)) as row:
        result = _write(settings, symbols, path, start)
        row.rows_out = result.figures
        row.bytes = result.bytes
        row.details.update({"series": result.series, "absent": result.absent})
    return result


def build_sections(
    inputs: ReportInputs, stats: BarStatistics | None, settings: Settings
) -> tuple[list[html.Section], list[str]]:
    """Every section of the report, and the names of what was found missing."""
    absent = [c.name for c in inputs.coverage if c.files == 0]
    sections = [
        coverage_section(inputs),
        sources_section(inputs),
        quality_section(inputs),
        daily_section(inputs),
        indicators_section(inputs, settings),
        anomalies_section(inputs, settings),
        bar_statistics_section(inputs, stats, settings),
        continuous_section(inputs),
    ]
    if not inputs.gold and inputs.indicators is None and inputs.anomalies is None:
        absent.append("gold")
    return sections, absent


def _write(settings: Settings, symbols: list[str] | None, path: Path, start: float) -> ReportResult:
    inputs = gather_inputs(settings, symbols=symbols)
    analytics = settings.analytics
    stats = (
        bar_statistics(
            inputs.bars_info, nlags=analytics.acf_lags, min_returns=analytics.min_returns
        )
        if inputs.bars_info.height
        else None
    )
    sections, absent = build_sections(inputs, stats, settings)
    page = html.render_page(
        title=TITLE,
        meta=[
            f"generated {html.fmt(inputs.generated_at)} from {inputs.data_dir}",
            "symbols: " + (", ".join(inputs.symbols) if inputs.symbols else "all"),
        ],
        intro=(
            "What this lake holds and where it came from, how clean it is, what the daily "
            "series show (indicators, anomalies), and how information-driven bars (tick, "
            "volume, dollar) compare with time bars as samples of the market. Each section "
            "starts with a sentence on what it shows and how to read it."
        ),
        sections=sections,
    )
    data = page.encode()
    _replace(path, data)
    seconds = round(time.perf_counter() - start, 3)
    log.info("report written to %s in %.1fs", path, seconds)
    return ReportResult(
        path=path,
        bytes=len(data),
        figures=page.count("<svg"),
        series=stats.stability.height if stats else 0,
        absent=absent,
        seconds=seconds,
    )


def _replace(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a reader sees the old report or the new one."""
    tmp = path.parent / f".tmp-{uuid.uuid4().hex}-{path.name}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise TerminalError(
            f"cannot write the report: {exc.strerror or exc}",
            path=str(path),
            hint="choose another --output or check the folder's permissions and free space",
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
