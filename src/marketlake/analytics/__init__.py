"""Analytics: bar statistics (counts per week, serial correlation, variance, normality) and the
self-contained HTML report (``marketlake report``).

``bar_stats`` holds pure functions on frames; ``report`` gathers the lake's datasets, computes
and writes the report; ``report_figures`` and ``report_html`` render it.
"""

from marketlake.analytics.bar_stats import BarStatistics, bar_statistics

__all__ = ["BarStatistics", "bar_statistics"]
