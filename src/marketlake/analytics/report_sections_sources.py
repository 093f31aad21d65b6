"""The report's sources section: what each source delivered, what reached silver, last runs.

Pure: the gathered :class:`~marketlake.analytics.report_sources.SourcesInputs` in, HTML out.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from marketlake.analytics import report_html as html
from marketlake.analytics.report_data import ReportInputs
from marketlake.analytics.report_sections import SECTION_TITLES, for_symbols
from marketlake.analytics.report_sources import RunSummary, SourceLine

MAX_FAILED_SHOWN = 10  # failed steps of the last run listed with their error


def sources_section(inputs: ReportInputs) -> html.Section:
    """Per source: deliveries, rows in / silver / quarantined, dates covered, last run."""
    found = inputs.sources
    explanation = (
        "Each source marketlake read: the deliveries landed in bronze (raw files kept as they "
        "came, from the bronze manifest), the rows they held and how many reached silver or "
        "were quarantined (from the records of the published ingests), the dates those rows "
        "cover, and the newest run that ingested one of its deliveries (from the run ledger)."
    )
    if not found.lines:
        body = html.absent(
            f"Nothing landed in bronze yet{for_symbols(inputs)}: ingest a file, e.g. "
            "`marketlake ingest csv PATH`, or run `marketlake demo`, then write the report again."
        )
    else:
        body = html.table(
            [
                "source",
                "kind",
                "deliveries",
                "datasets",
                "rows in",
                "in silver",
                "quarantined",
                "data from",
                "data to",
            ],
            [_rows_of(line) for line in found.lines],
        )
        body += html.table(
            ["source", "first landed", "last landed", "last run", "status", "started", "error"],
            [_runs_of(line) for line in found.lines],
        )
        if inputs.symbols:
            body += html.paragraph(
                f"Limited to the deliveries holding rows{for_symbols(inputs)}; their row counts "
                "are whole (a delivery of many symbols counts the rows of all of them)."
            )
        if found.idle:
            body += html.paragraph(f"Sources with no delivery yet: {', '.join(found.idle)}.")
        if not found.from_gold:
            body += html.paragraph(
                "Kinds come from gold's dim_source: run `marketlake build` to fill them in."
            )
    body += run_paragraph(found.last_run)
    return html.Section("sources", SECTION_TITLES["sources"], explanation, body)


def _rows_of(line: SourceLine) -> list[object]:
    return [
        line.source,
        line.kind,
        line.deliveries,
        ", ".join(line.datasets) or None,
        line.totals.rows_in,
        line.totals.rows_out,
        line.totals.rows_quarantined,
        line.first_data,
        line.last_data,
    ]


def _runs_of(line: SourceLine) -> list[object]:
    run = line.last_run
    status = None
    if run is not None:
        status = (
            html.Raw(f"<strong>{escape(run.status)}</strong>")
            if run.status == "failed"
            else run.status
        )
    return [
        line.source,
        _when(line.first_landed),
        _when(line.last_landed),
        run.run_id if run else None,
        status,
        _when(run.started_at) if run else None,
        run.error if run else None,
    ]


def run_paragraph(run: RunSummary | None) -> str:
    """The newest run of the ledger: when, how many steps by status, and what failed."""
    if run is None:
        return html.paragraph("The run ledger is empty: no step has run in this lake yet.")
    text = html.paragraph(
        f"Last run in the ledger: {run.run_id}, started {_when(run.started_at)}: {run.steps} "
        f"steps, {run.ok} ok, {run.skipped} skipped, {len(run.failed)} failed "
        "(`marketlake status` lists them)."
    )
    if run.failed:
        text += html.table(
            ["step", "target", "error"],
            [[r.step, r.target, r.error] for r in run.failed[:MAX_FAILED_SHOWN]],
        )
    return text


def _when(iso: str | None) -> html.When | None:
    """An ISO-8601 time as ``2024-01-02 14:30 UTC``."""
    if not iso:
        return None
    try:
        return html.When(html.fmt(datetime.fromisoformat(iso)))
    except ValueError:
        return html.When(iso)
