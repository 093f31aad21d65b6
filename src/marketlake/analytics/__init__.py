"""Analytics: bar statistics (counts per week, serial correlation, variance, normality) and the
self-contained HTML report (``marketlake report``).

``bar_stats`` holds pure functions on frames; ``report`` gathers the lake's datasets, computes
and writes the report. Reading: ``report_data`` (silver), ``report_gold`` (gold marts),
``report_sources`` (manifest, ingest records, ledger). Rendering: ``report_sections*`` and
``report_continuous`` (one function per section), ``report_figures*`` and ``report_html``.
"""

from marketlake.analytics.bar_stats import BarStatistics, bar_statistics

__all__ = ["BarStatistics", "bar_statistics"]
